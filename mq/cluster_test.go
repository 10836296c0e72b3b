package mq

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/mq/mqtest"
)

var (
	clusterOnce sync.Once
	testCluster *mqtest.Cluster
	clusterErr  error
)

// cluster is a 3-node RabbitMQ cluster on 127.0.0.1, started by the first
// test that asks (about 30 s) and stopped by TestMain.
func cluster(t testing.TB) *mqtest.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		start := time.Now()
		testCluster, clusterErr = mqtest.StartCluster(3, mqtest.Options{})
		t.Logf("3-node cluster started in %s", time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, clusterErr)
	for i, n := range testCluster.Nodes {
		if !n.Running() {
			require.NoError(t, n.Restart(), "node %d", i)
		}
	}
	return testCluster
}

func closeCluster() error {
	if testCluster == nil {
		return nil
	}
	return testCluster.Close()
}

// received records what a consumer got: how many times each body came.
type received struct {
	mu    sync.Mutex
	count map[string]int
	redel int
}

func newReceived() *received { return &received{count: map[string]int{}} }

func (r *received) handler(_ context.Context, d Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count[string(d.Body)]++
	if d.Redelivered {
		r.redel++
	}
	return nil
}

func (r *received) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.count)
}

func (r *received) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.count))
	for k, v := range r.count {
		out[k] = v
	}
	return out
}

// startConsume runs Consume on its own goroutine until the test ends, and
// waits until it consumes.
func startConsume(t *testing.T, cfg ConsumeConfig, h Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cfg.Ready = func(q string) { ready <- q }
	go func() { done <- Consume(ctx, cfg, h) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("consume ended before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("consumer not ready within 60 s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("consume did not return within 30 s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// deleteQueue removes a queue at the end of the test, through any running
// node.
func deleteQueue(t *testing.T, c *mqtest.Cluster, queue string) {
	t.Cleanup(func() {
		if b := c.Running(); b != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = b.Ctl(ctx, "delete_queue", queue)
		}
	})
}

// TestClusterFailover is issue 17's scenario on the library: a publisher
// and a consumer of a quorum queue, both connected to the first node of a
// 3-node cluster; that node is killed (SIGKILL) half-way. Both move to
// another node; every message the publisher had (confirmed) is received at
// least once; duplicates come only from republishing and redelivery.
func TestClusterFailover(t *testing.T) {
	c := cluster(t)
	ep := Endpoint{URLs: URLs{c.URL()}, NodeOrder: ListedNode, Heartbeat: 2 * time.Second}
	deleteQueue(t, c, "failover-q")
	got := newReceived()
	clog := &logLines{}
	stopConsume := startConsume(t, ConsumeConfig{
		Endpoint: ep, Exchange: "failover", Declare: true, Bindings: []string{"faces.#"},
		Queue: "failover-q", Logf: clog.logf, ReconnectMax: time.Second,
	}, got.handler)

	plog := &logLines{}
	p, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint: ep, Exchange: "failover", Declare: true, OutboxSize: 10000,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second, ShutdownTimeout: 60 * time.Second, Logf: plog.logf,
	})
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns, err := c.Connections(ctx)
	require.NoError(t, err)
	byName := map[string]int{}
	for _, conn := range conns {
		byName[conn.Name] = conn.Node
	}
	require.Equal(t, map[string]int{"conveyor": 0, "conveyor consume": 0}, byName, "both on the first node listed")

	const n = 1500
	var killed time.Time
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i))}))
		if i == n/3 {
			killed = time.Now()
			require.NoError(t, c.Nodes[0].Kill())
		}
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	assert.EqualValues(t, n, s.Confirmed, "stats %+v", s)
	assert.GreaterOrEqual(t, s.Reconnects, int64(1))
	assert.NotContains(t, s.Node, hostPort(c.Nodes[0].URL()), "moved off the killed node")

	deadline := time.Now().Add(60 * time.Second)
	for got.distinct() < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, stopConsume())
	counts := got.snapshot()
	missing, dups := 0, 0
	for i := range n {
		switch k := counts[strconv.Itoa(i)]; {
		case k == 0:
			missing++
		case k > 1:
			dups += k - 1
		}
	}
	t.Logf("killed node 1 after %d messages; received %d distinct, %d duplicates (%d redelivered); publisher %d republished, %d reconnects; %s since the kill",
		n/3+1, len(counts), dups, got.redel, s.Republished, s.Reconnects, time.Since(killed).Round(time.Millisecond))
	t.Logf("publisher log:\n%s\nconsumer log:\n%s", plog, clog)
	assert.Zero(t, missing, "every confirmed message arrived")
	assert.LessOrEqual(t, int64(dups), s.Republished+int64(got.redel), "duplicates only from republishing and redelivery")
	assert.Equal(t, 1, clog.count("lost the connection to amqp://guest:xxxxx@127.0.0.1"), "the consumer logged the outage once")
	assert.Equal(t, 1, clog.count("consuming again from queue failover-q"), "and its end once")
	assert.Equal(t, 1, plog.count("lost the connection to amqp://guest:xxxxx@127.0.0.1"))
}

// TestCompetingConsumers runs two consumers, on two nodes, on one quorum
// queue: they share the messages, none lost, none handled twice.
func TestCompetingConsumers(t *testing.T) {
	c := cluster(t)
	u := c.URLs()
	deleteQueue(t, c, "compete-q")
	var ends [2]*received
	var stops [2]func() error
	for i := range 2 {
		ends[i] = newReceived()
		r := ends[i]
		stops[i] = startConsume(t, ConsumeConfig{
			Endpoint: Endpoint{URLs: URLs{u[i], u[(i+1)%3], u[(i+2)%3]}, NodeOrder: ListedNode},
			Exchange: "compete", Declare: true, Queue: "compete-q", Prefetch: 5,
		}, func(ctx context.Context, d Delivery) error {
			time.Sleep(time.Millisecond) // a handler with work to do
			return r.handler(ctx, d)
		})
	}
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{u[2]}}, Exchange: "compete", ShutdownTimeout: 30 * time.Second})
	require.NoError(t, err)
	const n = 600
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(strconv.Itoa(i))}))
	}
	require.NoError(t, p.Close())
	require.EqualValues(t, n, p.Stats().Confirmed)
	deadline := time.Now().Add(60 * time.Second)
	for ends[0].distinct()+ends[1].distinct() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, stop := range stops {
		require.NoError(t, stop())
	}
	a, b := ends[0].snapshot(), ends[1].snapshot()
	t.Logf("consumer 1 handled %d, consumer 2 %d", len(a), len(b))
	assert.Greater(t, len(a), n/10, "both share the work")
	assert.Greater(t, len(b), n/10, "both share the work")
	for i := range n {
		k := strconv.Itoa(i)
		assert.Equal(t, 1, a[k]+b[k], "message %d handled once", i)
	}
}

// TestSingleActiveConsumer: with --single-active one consumer gets every
// message; when it goes, the other takes over.
func TestSingleActiveConsumer(t *testing.T) {
	c := cluster(t)
	deleteQueue(t, c, "sac-q")
	cfg := ConsumeConfig{Endpoint: Endpoint{URLs: URLs{c.URL()}}, Exchange: "sac", Declare: true, Queue: "sac-q", SingleActive: true}
	first, second := newReceived(), newReceived()
	stopFirst := startConsume(t, cfg, first.handler)
	stopSecond := startConsume(t, cfg, second.handler)
	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{c.URL()}}, Exchange: "sac", ShutdownTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer p.Close()
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			require.NoError(t, p.Publish(Publishing{RoutingKey: "x", Body: []byte(strconv.Itoa(i))}))
		}
	}
	publish(0, 100)
	waitFor(t, 30*time.Second, "100 messages to the active consumer", func() bool { return first.distinct() == 100 })
	assert.Zero(t, second.distinct(), "the other one stands by")
	require.NoError(t, stopFirst())
	publish(100, 200)
	waitFor(t, 30*time.Second, "100 messages to the one that took over", func() bool { return second.distinct() == 100 })
	require.NoError(t, stopSecond())
	assert.Equal(t, 100, first.distinct())

	// A queue keeps its arguments: asking for it without single-active is
	// a clear error, not a retry loop.
	err = Consume(testCtx(t, 30*time.Second), ConsumeConfig{Endpoint: Endpoint{URLs: URLs{c.URL()}}, Exchange: "sac", Queue: "sac-q"},
		func(context.Context, Delivery) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x-single-active-consumer")
	assert.Contains(t, err.Error(), "--single-active")
}

// TestShovelToCluster is the store-and-forward topology of docs/SCALING.md
// with RabbitMQ's own parts: conveyor publishes to a broker on the device;
// a dynamic shovel (ack-mode on-confirm) moves the messages to a quorum
// queue on the cluster. While the cluster cannot be reached the messages
// wait on the device; once it can, every one arrives.
func TestShovelToCluster(t *testing.T) {
	c := cluster(t)
	device, err := mqtest.Start(mqtest.Options{Plugins: []string{"rabbitmq_shovel"}})
	require.NoError(t, err)
	defer device.Close()
	if !device.Managed() {
		t.Skip("the shovel needs a device broker started by the test")
	}
	deleteQueue(t, c, "central-q")
	got := newReceived()
	stop := startConsume(t, ConsumeConfig{Endpoint: Endpoint{URLs: URLs{c.URL()}}, Exchange: "central", Declare: true, Queue: "central-q"}, got.handler)

	// The device: exchange conveyor → durable queue to-central, shovelled
	// to the cluster through a proxy that is closed for now (the uplink is
	// down).
	conn, err := amqp.Dial(device.URL())
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare("conveyor", "topic", true, false, false, false, nil))
	_, err = ch.QueueDeclare("to-central", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind("to-central", "#", "conveyor", false, nil))
	uplink := newProxy(t, hostPort(c.Nodes[0].URL()))
	addr := uplink.addr()
	require.NoError(t, uplink.ln.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	def := fmt.Sprintf(`{"src-uri": "amqp://", "src-queue": "to-central", "dest-uri": ["amqp://guest:guest@%s"], "dest-exchange": "central", "ack-mode": "on-confirm", "reconnect-delay": 1}`, addr)
	_, err = device.Ctl(ctx, "set_parameter", "shovel", "uplink", def)
	require.NoError(t, err)

	p, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{device.URL()}}, Exchange: "conveyor"})
	require.NoError(t, err)
	const n = 300
	for i := range n {
		require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i))}))
	}
	require.NoError(t, p.Close())
	require.EqualValues(t, n, p.Stats().Confirmed, "the device broker has them")
	time.Sleep(1500 * time.Millisecond)
	assert.Zero(t, got.distinct(), "the uplink is down: nothing reached the cluster")

	listenProxy(t, addr, hostPort(c.Nodes[0].URL())) // the uplink is back
	waitFor(t, 60*time.Second, "every message on the cluster", func() bool { return got.distinct() == n })
	require.NoError(t, stop())
	for k, v := range got.snapshot() {
		assert.Equal(t, 1, v, "message %s once", k)
	}
	_, err = device.Ctl(ctx, "clear_parameter", "shovel", "uplink")
	require.NoError(t, err)
}
