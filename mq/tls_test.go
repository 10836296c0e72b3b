package mq

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/mq/mqtest"
)

// brokerTLSURL is the test broker's amqps URL; a broker given by
// CONVEYOR_TEST_AMQP_URL without an amqps URL and CA file skips the test.
func brokerTLSURL(t *testing.T) string {
	t.Helper()
	if broker.TLSURL() == "" || broker.CAFile() == "" {
		t.Skipf("the broker named by %s has no amqps listener: set %s and %s", mqtest.EnvURL, mqtest.EnvTLSURL, mqtest.EnvCAFile)
	}
	return broker.TLSURL()
}

// TestTLSRoundTrip publishes over amqps, trusting the broker's CA from a
// file, to a consumer that also reads over amqps.
func TestTLSRoundTrip(t *testing.T) {
	ep := Endpoint{URLs: URLs{brokerTLSURL(t)}, CAFile: broker.CAFile()}
	const exchange, n = "tls", 200
	t.Cleanup(func() { _ = adminChannel(t).ExchangeDelete(exchange, false, false) })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ready := make(chan string, 1)
	got := make(chan string, n)
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, ConsumeConfig{
			Endpoint: ep, Exchange: exchange, Declare: true, Bindings: []string{"faces.#"},
			Ready: func(q string) { ready <- q },
		}, func(ctx context.Context, d Delivery) error {
			select {
			case got <- string(d.Body):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("consume over amqps ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("consumer not ready within 30 s")
	}

	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: ep, Exchange: exchange})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i))}))
	}
	require.NoError(t, p.Close())
	s := p.Stats()
	assert.EqualValues(t, n, s.Confirmed, "stats %+v", s)
	assert.Zero(t, s.Dropped+s.Returned, "stats %+v", s)

	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case b := <-got:
			seen[b] = true
		case err := <-done:
			t.Fatalf("consume ended after %d messages: %v", len(seen), err)
		case <-timeout:
			t.Fatalf("received %d of %d messages within 30 s", len(seen), n)
		}
	}
	for i := range n {
		assert.True(t, seen[strconv.Itoa(i)], "message %d received", i)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("consume did not return within 30 s of cancel")
	}
}

// TestTLSErrors connects over amqps with a password that must never show,
// and a CA that is missing, wrong or unreadable.
func TestTLSErrors(t *testing.T) {
	u, err := url.Parse(brokerTLSURL(t))
	require.NoError(t, err)
	good := u.String()
	u.User = url.UserPassword(u.User.Username(), "s3cretPw")
	badPw := u.String()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	tests := []struct {
		name    string
		ep      Endpoint
		wantIs  error
		wantMsg string
	}{
		{"system pool", Endpoint{URLs: URLs{badPw}}, ErrTLS, "certificate signed by unknown authority"},
		{"missing CA file", Endpoint{URLs: URLs{badPw}, CAFile: filepath.Join(dir, "nope.pem")}, fs.ErrNotExist, "read CA file"},
		{"CA file not PEM", Endpoint{URLs: URLs{badPw}, CAFile: notPEM}, nil, "CA file " + notPEM + " holds no PEM certificate"},
	}
	connect := map[string]func(Endpoint) error{
		"publisher": func(ep Endpoint) error {
			p, err := NewPublisher(testCtx(t, 30*time.Second), Config{Endpoint: ep, StartTimeout: 10 * time.Second})
			if err == nil {
				_ = p.Close()
			}
			return err
		},
		"consume": func(ep Endpoint) error {
			return Consume(testCtx(t, 30*time.Second), ConsumeConfig{Endpoint: ep, StartTimeout: 10 * time.Second},
				func(context.Context, Delivery) error { return errors.New("no message expected") })
		},
	}
	for _, tt := range tests {
		for who, fn := range connect {
			t.Run(tt.name+"/"+who, func(t *testing.T) {
				err := fn(tt.ep)
				require.Error(t, err)
				t.Log(err)
				if tt.wantIs != nil {
					assert.ErrorIs(t, err, tt.wantIs)
				}
				assert.Contains(t, err.Error(), tt.wantMsg)
				assert.NotContains(t, err.Error(), "s3cretPw")
			})
		}
	}
	// With the right CA the handshake succeeds: the broker refuses the
	// password (once: the broker delays each refusal by seconds), and takes
	// the right one.
	_, err = NewPublisher(testCtx(t, 30*time.Second), Config{Endpoint: Endpoint{URLs: URLs{badPw}, CAFile: broker.CAFile()}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAccessRefused)
	assert.NotContains(t, err.Error(), "s3cretPw")
	p, err := NewPublisher(testCtx(t, 30*time.Second), Config{Endpoint: Endpoint{URLs: URLs{good}, CAFile: broker.CAFile()}})
	require.NoError(t, err)
	require.NoError(t, p.Close())
}
