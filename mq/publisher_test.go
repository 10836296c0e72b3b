package mq

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkBalance asserts the publisher's books balance after Close.
func checkBalance(t *testing.T, s Stats) {
	t.Helper()
	assert.Equal(t, s.Offered+s.Recovered, s.Confirmed+s.Dropped+s.Kept, "offered + recovered = confirmed + dropped + kept: %+v", s)
	var byReason int64
	for _, n := range s.DroppedBy {
		byReason += n
	}
	assert.Equal(t, s.Dropped, byReason, "dropped by reason adds up: %+v", s)
	assert.Zero(t, s.OutboxDepth)
	assert.Zero(t, s.InFlight)
}

// faultRun publishes n numbered messages at one per every; after half of
// them it calls fault, then runs recover on its own goroutine while the rest
// are published, and then checks that every message is in the queue or
// counted as dropped.
func faultRun(t *testing.T, name string, cfg Config, n int, every time.Duration, fault, recover func(p *Publisher) error) Stats {
	exchange, queue := "fault-"+name, "fault-"+name+"-q"
	bindQueue(t, exchange, queue, "faces.#")
	cfg.Exchange = exchange
	cfg.Declare = true
	if len(cfg.URLs) == 0 {
		cfg.URLs = URLs{broker.URL()}
	}
	cfg.ReconnectMin = 50 * time.Millisecond
	cfg.ReconnectMax = 500 * time.Millisecond
	cfg.ShutdownTimeout = 20 * time.Second
	logs := &logLines{}
	cfg.Logf = logs.logf
	p, err := NewPublisher(testCtx(t, 30*time.Second), cfg)
	require.NoError(t, err)
	defer p.Close()
	faultErr := make(chan error, 1)
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i))}))
		if i == n/2 {
			require.NoError(t, fault(p))
			go func() { faultErr <- recover(p) }()
		}
		time.Sleep(every)
	}
	select {
	case err := <-faultErr:
		require.NoError(t, err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the fault did not finish within 2 minutes")
	}
	err = p.Close()
	s := p.Stats()
	require.NoError(t, err, "stats %+v", s)
	checkBalance(t, s)
	assert.EqualValues(t, n, s.Offered)

	got := drain(t, queue)
	seen := map[string]int{}
	for _, d := range got {
		seen[string(d.Body)]++
	}
	dups := len(got) - len(seen)
	missing := 0
	for i := range n {
		if seen[strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	t.Logf("%s: %d messages in queue, %d distinct, %d duplicates, %d missing; stats %+v", name, len(got), len(seen), dups, missing, s)
	assert.LessOrEqual(t, int64(missing), s.Dropped, "every message not in the queue was counted as dropped")
	assert.GreaterOrEqual(t, int64(len(seen)), s.Confirmed, "every confirmed message is in the queue")
	assert.LessOrEqual(t, int64(dups), s.Republished, "duplicates come only from republishing")
	assert.LessOrEqual(t, int64(len(got)), s.Published)
	assert.GreaterOrEqual(t, s.Reconnects, int64(1), "the publisher reconnected")
	// The outage was logged, once when it began and once when it ended,
	// with the redacted URL.
	t.Logf("log:\n%s", logs)
	assert.EqualValues(t, s.Reconnects, logs.count("mq: lost the connection to amqp://guest:xxxxx@"), "one line per outage")
	assert.EqualValues(t, s.Reconnects, logs.count("mq: connected to amqp://guest:xxxxx@"), "one line per outage")
	assert.NotContains(t, logs.String(), "guest:guest")
	return s
}

func TestFaultBrokerRestart(t *testing.T) {
	if !broker.Managed() {
		t.Skip("stopping the broker needs a broker started by the test (CONVEYOR_TEST_AMQP_URL is set)")
	}
	var down, restart, up, confirmed time.Time
	s := faultRun(t, "restart", Config{OutboxSize: 500}, 1500, 4*time.Millisecond, func(p *Publisher) error {
		down = time.Now()
		if err := broker.Stop(); err != nil {
			return err
		}
		return poll(10*time.Second, "publisher to see the broker gone", func() bool { return !p.Stats().Connected })
	}, func(p *Publisher) error {
		// Count confirms from before the restart: the broker has exited, so
		// none can arrive now. Read after Restart returns, the count could
		// already include the whole outbox (the publisher may reconnect and
		// flush it while Restart still polls), and no later confirm would come.
		before := p.Stats().Confirmed
		restart = time.Now()
		if err := broker.Restart(); err != nil {
			return err
		}
		up = time.Now()
		if err := poll(30*time.Second, "a confirm after the restart", func() bool { return p.Stats().Confirmed > before }); err != nil {
			return err
		}
		confirmed = time.Now()
		return nil
	})
	t.Logf("broker down for %s; it took %s to accept connections again; first confirm %s after the restart began",
		restart.Sub(down).Round(time.Millisecond), up.Sub(restart).Round(time.Millisecond), confirmed.Sub(restart).Round(time.Millisecond))
	assert.Positive(t, s.DroppedBy[DropOutboxFull], "the outage overflowed the outbox")
}

func TestFaultConnectionClosed(t *testing.T) {
	if !broker.Managed() {
		t.Skip("rabbitmqctl close_all_connections needs a broker started by the test")
	}
	s := faultRun(t, "closeall", Config{OutboxSize: 5000}, 2000, time.Millisecond, func(p *Publisher) error {
		return broker.CloseAllConnections()
	}, func(p *Publisher) error {
		return poll(20*time.Second, "a reconnect", func() bool { return p.Stats().Reconnects >= 1 })
	})
	assert.Zero(t, s.Dropped, "the outbox was big enough for a short outage")
}

func TestFaultSocketCut(t *testing.T) {
	px := newProxy(t, brokerHostPort(t))
	url := "amqp://guest:guest@" + px.addr() + "/"
	s := faultRun(t, "cut", Config{Endpoint: Endpoint{URLs: URLs{url}, Heartbeat: time.Second}, OutboxSize: 5000}, 2000, time.Millisecond, func(p *Publisher) error {
		px.cut()
		return nil
	}, func(p *Publisher) error {
		if err := poll(20*time.Second, "a reconnect", func() bool { return p.Stats().Reconnects >= 1 }); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		px.cut()
		return poll(20*time.Second, "a second reconnect", func() bool { return p.Stats().Reconnects >= 2 })
	})
	assert.Zero(t, s.Dropped, "the outbox was big enough for a short outage")
}

// brokerHostPort is host:port of the test broker.
func brokerHostPort(t *testing.T) string {
	t.Helper()
	return hostPort(broker.URL())
}

// hostPort is the host:port of an AMQP URL.
func hostPort(u string) string {
	rest := u[strings.LastIndex(u, "@")+1:]
	if j := strings.Index(rest, "/"); j >= 0 {
		rest = rest[:j]
	}
	if !strings.Contains(rest, ":") {
		rest += ":5672"
	}
	return rest
}

func TestStartErrors(t *testing.T) {
	free := newProxy(t, "127.0.0.1:1") // a port nobody serves: the proxy is closed at once
	deadAddr := free.addr()
	require.NoError(t, free.ln.Close())
	base := brokerHostPort(t)
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    error
	}{
		{"unreachable", "amqp://guest:s3cretPw@" + deadAddr + "/", time.Second, ErrUnreachable},
		{"wrong password", "amqp://guest:s3cretPw@" + base + "/", time.Minute, ErrAccessRefused},
		{"unknown user", "amqp://nobody:s3cretPw@" + base + "/", time.Minute, ErrAccessRefused},
		{"missing vhost", broker.URL() + "no-such-vhost", time.Minute, ErrVhost},
		{"bad url", "amqp://guest:s3cretPw@" + base + ":x/", time.Minute, ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			p, err := NewPublisher(testCtx(t, 2*time.Minute), Config{Endpoint: Endpoint{URLs: URLs{tt.url}}, StartTimeout: tt.timeout})
			if p != nil {
				_ = p.Close()
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "s3cretPw")
			assert.Less(t, time.Since(start), tt.timeout+10*time.Second, "no retrying past the start timeout")
			if tt.want != ErrUnreachable {
				assert.True(t, IsFatal(err), "%v is fatal", err)
			}
			t.Log(err)
		})
	}
}

func TestStartOffline(t *testing.T) {
	free := newProxy(t, "127.0.0.1:1")
	deadAddr := free.addr()
	require.NoError(t, free.ln.Close())
	p, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint:        Endpoint{URLs: URLs{"amqp://guest:s3cretPw@" + deadAddr + "/"}},
		StartTimeout:    300 * time.Millisecond,
		StartOffline:    true,
		OutboxSize:      4,
		ShutdownTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "k", Body: []byte(fmt.Sprint(i))}))
	}
	s := p.Stats()
	assert.EqualValues(t, 6, s.DroppedBy[DropOutboxFull])
	assert.Equal(t, 4, s.OutboxDepth)
	assert.False(t, s.Connected)
	assert.Contains(t, s.LastError, "unreachable")
	assert.NotContains(t, s.LastError, "s3cretPw")

	err = p.Close()
	assert.ErrorIs(t, err, ErrUnconfirmed)
	assert.ErrorIs(t, p.Publish(Publishing{}), ErrClosed)
	s = p.Stats()
	// Every message is confirmed or counted as dropped: the 4 the outbox
	// kept until the end are dropped too, for their own reason.
	assert.EqualValues(t, 10, s.Dropped)
	assert.EqualValues(t, 4, s.DroppedBy[DropShutdown])
	assert.Equal(t, "6 outbox full, 4 unconfirmed when the run ended", s.Drops())
	checkBalance(t, s)
	assert.Equal(t, err, p.Close(), "Close is idempotent")
}

func TestStartOfflineThenBrokerAppears(t *testing.T) {
	// A broker that is down at start and comes up later: the proxy's port
	// refuses until it starts listening.
	port := newProxy(t, brokerHostPort(t))
	addr := port.addr()
	require.NoError(t, port.ln.Close())
	bindQueue(t, "late", "late-q", "#")
	p, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint:     Endpoint{URLs: URLs{"amqp://guest:guest@" + addr + "/"}},
		Exchange:     "late",
		StartTimeout: 200 * time.Millisecond,
		StartOffline: true,
		ReconnectMax: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	defer p.Close()
	for i := range 5 {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprint(i))}))
	}
	listenProxy(t, addr, brokerHostPort(t))
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	assert.EqualValues(t, 5, s.Confirmed)
	assert.Len(t, drain(t, "late-q"), 5)
}

func TestMessageTooLarge(t *testing.T) {
	if !broker.Managed() {
		t.Skip("needs the test broker's small max_message_size")
	}
	bindQueue(t, "size", "size-q", "#")
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "size", ShutdownTimeout: 10 * time.Second})
	require.NoError(t, err)
	big := make([]byte, testMaxMessageSize+1)
	for i := range 3 {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprint(i))}))
	}
	require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: big}))
	for i := range 3 {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprint(i + 3))}))
	}
	waitFor(t, 20*time.Second, "the big message dropped", func() bool { return p.Stats().DroppedBy[DropTooLarge] == 1 })
	// The limit is learned: the next big one is dropped without a round trip.
	require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: big}))
	assert.EqualValues(t, 2, p.Stats().DroppedBy[DropTooLarge])
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	assert.EqualValues(t, 6, s.Confirmed)
	assert.EqualValues(t, 2, s.Dropped)
	assert.Contains(t, s.LastError, "max size")
	seen := map[string]bool{}
	for _, d := range drain(t, "size-q") {
		seen[string(d.Body)] = true
	}
	assert.Len(t, seen, 6)
}

func TestReturnedAndClosedExchange(t *testing.T) {
	// Declare on, nothing bound: the broker confirms and returns (unroutable).
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "nobody-listens", Declare: true})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte("{}")}))
	}
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	assert.EqualValues(t, 3, s.Confirmed)
	assert.EqualValues(t, 3, s.Returned)

	// A declaration the broker refuses (exchange exists with another type)
	// fails at start.
	_, err = NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "nobody-listens", ExchangeType: "fanout", Declare: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declare exchange")
	ch := adminChannel(t)
	require.NoError(t, ch.ExchangeDelete("nobody-listens", false, false))
}

func TestPublishConcurrent(t *testing.T) {
	bindQueue(t, "conc", "conc-q", "#")
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "conc", OutboxSize: 10000})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				_ = p.Publish(Publishing{RoutingKey: "x", Body: []byte(fmt.Sprintf("%d-%d", g, i))})
				_ = p.Stats()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	assert.EqualValues(t, 1000, s.Confirmed)
	assert.Equal(t, 1000, queueDepth(t, "conc-q"))
}
