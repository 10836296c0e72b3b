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
			Endpoint: Endpoint{URLs: URLs{broker.URL()}},
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
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "cons"})
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
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "cons2"})
	require.NoError(t, err)
	require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte("not json")}))
	require.NoError(t, p.Close())
	var out bytes.Buffer
	err = Consume(testCtx(t, 30*time.Second), ConsumeConfig{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "cons2", Queue: "cons2-q", QueueType: Classic}, JSONLines(&out))
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
			err := Consume(testCtx(t, time.Minute), ConsumeConfig{Endpoint: Endpoint{URLs: URLs{tt.url}}}, func(context.Context, Delivery) error { return errors.New("unreachable") })
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
		done <- Consume(ctx, ConsumeConfig{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "amq.topic", Ready: func(q string) { ready <- q }},
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

// TestConsumeSurvivesBrokerRestart stops and restarts the broker under a
// consumer: it reconnects by itself, logs the outage once, and receives
// what was published before and after (the queue is durable).
func TestConsumeSurvivesBrokerRestart(t *testing.T) {
	if !broker.Managed() {
		t.Skip("stopping the broker needs a broker started by the test (CONVEYOR_TEST_AMQP_URL is set)")
	}
	got := newReceived()
	logs := &logLines{}
	stop := startConsume(t, ConsumeConfig{
		Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "restart-c", Declare: true, Queue: "restart-c-q",
		ReconnectMax: 500 * time.Millisecond, Logf: logs.logf,
	}, got.handler)
	t.Cleanup(func() { _, _ = adminChannel(t).QueueDelete("restart-c-q", false, false, false) })
	publish := func(from, to int) {
		p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "restart-c", Declare: true})
		require.NoError(t, err)
		for i := from; i < to; i++ {
			require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprint(i))}))
		}
		require.NoError(t, p.Close())
	}
	publish(0, 50)
	waitFor(t, 30*time.Second, "the first 50", func() bool { return got.distinct() == 50 })
	require.NoError(t, broker.Stop())
	require.NoError(t, broker.Restart())
	publish(50, 100)
	waitFor(t, 60*time.Second, "the next 50 after the restart", func() bool { return got.distinct() == 100 })
	require.NoError(t, stop(), "Consume went on through the restart and ends cleanly")
	t.Logf("log:\n%s", logs)
	assert.Equal(t, 1, logs.count("mq: consume: lost the connection to amqp://guest:xxxxx@"))
	assert.Equal(t, 1, logs.count("mq: consume: consuming again from queue restart-c-q"))
}

// TestConsumeFailsOverAtStart lists a dead node first: the consumer moves
// on to the next one at once.
func TestConsumeFailsOverAtStart(t *testing.T) {
	got := newReceived()
	start := time.Now()
	stop := startConsume(t, ConsumeConfig{
		Endpoint: Endpoint{URLs: URLs{deadURL(t) + "," + broker.URL()}, NodeOrder: ListedNode},
		Exchange: "amq.topic", StartTimeout: time.Minute,
	}, got.handler)
	assert.Less(t, time.Since(start), 5*time.Second, "no back-off before the second node of the first round")
	require.NoError(t, stop())
}

// TestConsumeStream reads a stream from its start, from a time, and from
// the next message, and resumes after the last message handled when the
// connection is lost.
func TestConsumeStream(t *testing.T) {
	if !broker.Managed() {
		t.Skip("needs the test broker, to close its connections")
	}
	t.Cleanup(func() { _, _ = adminChannel(t).QueueDelete("stream-q", false, false, false) })
	cfg := ConsumeConfig{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "stream", Declare: true, Queue: "stream-q", QueueType: Stream}
	publish := func(from, to int) {
		p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "stream"})
		require.NoError(t, err)
		for i := from; i < to; i++ {
			require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprint(i))}))
		}
		require.NoError(t, p.Close())
	}
	live := newReceived()
	stop := startConsume(t, cfg, live.handler) // declares the stream; from next
	publish(0, 10)
	waitFor(t, 30*time.Second, "10 live messages", func() bool { return live.distinct() == 10 })
	// The connection goes: the consumer resumes after message 9, not at the
	// stream's next (which would lose what comes meanwhile) nor its start.
	require.NoError(t, broker.CloseAllConnections())
	publish(10, 15)
	waitFor(t, 60*time.Second, "15 messages", func() bool { return live.distinct() == 15 })
	require.NoError(t, stop())
	for k, n := range live.snapshot() {
		assert.Equal(t, 1, n, "message %s once", k)
	}

	time.Sleep(1100 * time.Millisecond) // stream timestamps have a second's resolution
	mark := time.Now()
	time.Sleep(1100 * time.Millisecond)
	publish(15, 20)

	replay := newReceived()
	cfg.From = OffsetFirst
	stop = startConsume(t, cfg, replay.handler)
	waitFor(t, 30*time.Second, "the whole stream again", func() bool { return replay.distinct() == 20 })
	require.NoError(t, stop())

	since := newReceived()
	cfg.From = OffsetAt(mark)
	stop = startConsume(t, cfg, since.handler)
	waitFor(t, 30*time.Second, "the messages after the mark", func() bool { return since.distinct() >= 5 })
	require.NoError(t, stop())
	got := since.snapshot()
	for i := 15; i < 20; i++ {
		assert.Equal(t, 1, got[fmt.Sprint(i)], "message %d", i)
	}
	assert.Zero(t, got["0"], "nothing from before the mark's chunk")
}

func TestConsumeConfigValidate(t *testing.T) {
	parse := func(s string) Offset {
		var o Offset
		require.NoError(t, o.UnmarshalText([]byte(s)))
		return o
	}
	for _, tt := range []struct {
		name string
		cfg  ConsumeConfig
		want string
	}{
		{"quorum needs a name", ConsumeConfig{QueueType: Quorum}, "queue-type: a quorum queue needs a name"},
		{"stream needs a name", ConsumeConfig{QueueType: Stream}, "queue-type: a stream queue needs a name"},
		{"from needs a stream", ConsumeConfig{Queue: "q", From: OffsetFirst}, "from: only a stream queue"},
		{"single-active needs a name", ConsumeConfig{SingleActive: true}, "single-active: needs a named queue"},
		{"single-active on a stream", ConsumeConfig{Queue: "q", QueueType: Stream, SingleActive: true}, "single-active: not available for streams"},
		{"prefetch", ConsumeConfig{Prefetch: -1}, "prefetch: -1"},
		{"ok", ConsumeConfig{Queue: "q", QueueType: Stream, From: parse("2024-05-01T12:00:00Z")}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
	var qt QueueType
	assert.ErrorContains(t, qt.UnmarshalText([]byte("lazy")), `"lazy": want classic, quorum or stream`)
	var o Offset
	assert.ErrorContains(t, o.UnmarshalText([]byte("yesterday")), "want first, last, next or a time")
	assert.Equal(t, "2024-05-01T12:00:00Z", parse("2024-05-01T12:00:00Z").String())
	assert.Equal(t, Quorum, ConsumeConfig{Queue: "q"}.effectiveType())
	assert.Equal(t, Classic, ConsumeConfig{}.effectiveType())
}

func TestDeduper(t *testing.T) {
	d := NewDeduper(3)
	var handled []string
	fail := true
	h := d.Wrap(func(_ context.Context, m Delivery) error {
		if m.MessageID == "bad" && fail {
			fail = false
			return errors.New("boom")
		}
		handled = append(handled, m.MessageID)
		return nil
	})
	for _, id := range []string{"a", "b", "a", "bad", "bad", "c", "", "", "d", "a", "d"} {
		_ = h(context.Background(), Delivery{MessageID: id, Redelivered: id == "a"})
	}
	// "a" is forgotten after three newer ids; "bad" is handled when it comes
	// back after its handler failed; messages without an id always pass.
	assert.Equal(t, []string{"a", "b", "bad", "c", "", "", "d", "a"}, handled)
	dups, redel := d.Duplicates()
	assert.EqualValues(t, 2, dups)
	assert.EqualValues(t, 3, redel)
}
