package mq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsume(t *testing.T) {
	ch := adminChannel(t)
	require.NoError(t, ch.ExchangeDeclare("cons", "topic", true, false, false, false, nil))
	t.Cleanup(func() {
		_, _ = ch.QueueDelete("cons-q", false, false, false)
		_ = ch.ExchangeDelete("cons", false, false)
	})
	const n = 50
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ready := make(chan string, 1)
	var mu sync.Mutex
	count := 0
	lines := JSONLines(&out)
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, ConsumeConfig{
			Endpoint: Endpoint{URL: broker.URL()},
			Exchange: "cons", Bindings: []string{"faces.#"}, Queue: "cons-q",
			Ready: func(q string) { ready <- q },
		}, func(ctx context.Context, d Delivery) error {
			if err := lines(ctx, d); err != nil {
				return err
			}
			mu.Lock()
			count++
			if count == n {
				cancel()
			}
			mu.Unlock()
			return nil
		})
	}()
	select {
	case q := <-ready:
		assert.Equal(t, "cons-q", q)
	case err := <-done:
		t.Fatalf("consume ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("consumer not ready within 30 s")
	}
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URL: broker.URL()}, Exchange: "cons"})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(fmt.Sprintf(`{"i": %d}`, i))}))
	}
	require.NoError(t, p.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		mu.Lock()
		t.Fatalf("consumer did not receive everything within 30 s: %d received", count)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, got, n)
	for i, l := range got {
		var v struct{ I int }
		require.NoError(t, json.Unmarshal([]byte(l), &v))
		assert.Equal(t, i, v.I)
	}
	assert.Equal(t, 0, queueDepth(t, "cons-q"), "everything was acked")
}

func TestConsumeHandlerErrorRequeues(t *testing.T) {
	bindQueue(t, "cons2", "cons2-q", "#")
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URL: broker.URL()}, Exchange: "cons2"})
	require.NoError(t, err)
	require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte("not json")}))
	require.NoError(t, p.Close())
	var out bytes.Buffer
	err = Consume(testCtx(t, 30*time.Second), ConsumeConfig{Endpoint: Endpoint{URL: broker.URL()}, Exchange: "cons2", Queue: "cons2-q"}, JSONLines(&out))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not JSON")
	assert.Empty(t, out.String())
	waitFor(t, 10*time.Second, "the message back in the queue", func() bool { return queueDepth(t, "cons2-q") == 1 })
}

func TestConsumeErrors(t *testing.T) {
	base := brokerHostPort(t)
	for _, tt := range []struct {
		name string
		url  string
		want error
	}{
		{"wrong password", "amqp://guest:s3cretPw@" + base + "/", ErrAccessRefused},
		{"missing vhost", broker.URL() + "nope", ErrVhost},
		{"bad url", "amqp://guest:s3cretPw@" + base + ":x/", ErrBadURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Consume(testCtx(t, time.Minute), ConsumeConfig{Endpoint: Endpoint{URL: tt.url}}, func(context.Context, Delivery) error { return errors.New("unreachable") })
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "s3cretPw")
		})
	}
	// An exclusive server-named queue bound with the default "#": cancelling
	// ends Consume with nil.
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, ConsumeConfig{Endpoint: Endpoint{URL: broker.URL()}, Exchange: "amq.topic", Ready: func(q string) { ready <- q }},
			func(context.Context, Delivery) error { return nil })
	}()
	select {
	case q := <-ready:
		assert.True(t, strings.HasPrefix(q, "amq.gen-"), q)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready within 30 s")
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Consume did not return within 30 s of cancel")
	}
}
