package mq

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// The throughput benchmarks of docs/BENCHMARKS.md ("RabbitMQ"). Each op is
// one conveyor message (one face, ~500 bytes of JSON), persistent; the
// metrics are messages per second and the client's CPU time per message
// (getrusage of the test process: the broker's is not in it), with the load
// average at the end (the machines are shared).

// benchTarget is where a benchmark publishes: a node's URLs and the queue
// type, declared bound to exchange "bench" with "#".
type benchTarget struct {
	name  string
	urls  func(b *testing.B) URLs
	qtype QueueType
}

var benchTargets = []benchTarget{
	{"classic-one-node", func(*testing.B) URLs { return URLs{broker.URL()} }, Classic},
	{"quorum-one-node", func(*testing.B) URLs { return URLs{broker.URL()} }, Quorum},
	{"quorum-3-node-cluster", func(b *testing.B) URLs { return URLs{cluster(b).URL()} }, Quorum},
}

// benchQueue declares exchange bench and queue name of type qt bound to it
// with "#" on the first node of urls, and deletes it at the end.
func benchQueue(b *testing.B, urls URLs, name string, qt QueueType) {
	b.Helper()
	conn, err := amqp.Dial(urls.Split()[0])
	require.NoError(b, err)
	ch, err := conn.Channel()
	require.NoError(b, err)
	require.NoError(b, ch.ExchangeDeclare("bench", "topic", true, false, false, false, nil))
	args := amqp.Table{}
	if qt != Classic {
		args["x-queue-type"] = qt.String()
	}
	_, _ = ch.QueueDelete(name, false, false, false)
	_, err = ch.QueueDeclare(name, true, false, false, false, args)
	require.NoError(b, err)
	require.NoError(b, ch.QueueBind(name, "#", "bench", false, nil))
	b.Cleanup(func() {
		if c, err := conn.Channel(); err == nil {
			_, _ = c.QueueDelete(name, false, false, false)
		}
		_ = conn.Close()
	})
}

// cpu is the process's user+system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is the first field of /proc/loadavg (1-minute load average).
func loadavg() float64 {
	data, _ := os.ReadFile("/proc/loadavg")
	var l float64
	_, _ = fmt.Sscan(strings.TrimSpace(string(data)), &l)
	return l
}

func benchBody(b *testing.B) []byte {
	body, err := json.Marshal(messages(1)[0])
	require.NoError(b, err)
	return body
}

// publishN publishes n messages through a publisher made from cfg, paced so
// that the outbox never overflows, and waits for every confirm.
func publishN(b *testing.B, cfg Config, n int, body []byte) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg.Exchange, cfg.MaxInFlight, cfg.OutboxSize, cfg.ShutdownTimeout = "bench", 512, 4096, time.Minute
	p, err := NewPublisher(ctx, cfg)
	require.NoError(b, err)
	for range n {
		for p.Stats().OutboxDepth > 3000 {
			time.Sleep(100 * time.Microsecond)
		}
		require.NoError(b, p.Publish(Publishing{RoutingKey: "faces.bench", Body: body}))
	}
	require.NoError(b, p.Close())
	s := p.Stats()
	require.EqualValues(b, n, s.Confirmed, "%+v", s)
}

// BenchmarkPublishConfirmed measures sustained publishing with confirms:
// into a classic queue on one node, a quorum queue on one node, and a
// quorum queue replicated on a 3-node cluster (a confirm once two nodes
// have it on disk).
func BenchmarkPublishConfirmed(b *testing.B) {
	body := benchBody(b)
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			urls := tg.urls(b)
			benchQueue(b, urls, "bench-"+tg.name, tg.qtype)
			b.SetBytes(int64(len(body)))
			c0, t0 := cpu(), time.Now()
			b.ResetTimer()
			publishN(b, Config{Endpoint: Endpoint{URLs: urls, NodeOrder: ListedNode}}, b.N, body)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpu()-c0).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(loadavg(), "load")
		})
	}
}

// BenchmarkConsume measures `conveyor consume`'s side: the queue is filled
// first (not timed), then Consume hands every message to a handler that
// decodes its JSON, and acks it (prefetch 64).
func BenchmarkConsume(b *testing.B) {
	body := benchBody(b)
	for _, tg := range benchTargets {
		b.Run(tg.name, func(b *testing.B) {
			urls := tg.urls(b)
			q := "benchc-" + tg.name
			benchQueue(b, urls, q, tg.qtype)
			publishN(b, Config{Endpoint: Endpoint{URLs: urls, NodeOrder: ListedNode}}, b.N, body)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			got := 0
			c0, t0 := cpu(), time.Now()
			b.ResetTimer()
			err := Consume(ctx, ConsumeConfig{Endpoint: Endpoint{URLs: urls, NodeOrder: ListedNode}, Queue: q, QueueType: tg.qtype},
				func(_ context.Context, d Delivery) error {
					var m map[string]any
					if err := json.Unmarshal(d.Body, &m); err != nil {
						return err
					}
					if got++; got == b.N {
						cancel()
					}
					return nil
				})
			b.StopTimer()
			require.NoError(b, err)
			require.Equal(b, b.N, got)
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpu()-c0).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(loadavg(), "load")
		})
	}
}

// BenchmarkDiskOutbox measures what the on-disk outbox costs a message:
// writing its record (and an fsync, with OutboxFsync 0) when Publish
// accepts it, reading it back to publish it, and its ack record once
// confirmed. No broker: the store alone.
func BenchmarkDiskOutbox(b *testing.B) {
	body := benchBody(b)
	for _, fsync := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run("fsync-"+fsync.String(), func(b *testing.B) {
			s, _, _, err := openStore(b.TempDir(), 16<<20, fsync)
			require.NoError(b, err)
			defer s.close()
			c0, t0 := cpu(), time.Now()
			b.ResetTimer()
			for i := range b.N {
				m := &message{key: "faces.bench", id: fmt.Sprintf("bench-%d", i), body: body, ts: time.Now()}
				pos, err := s.append(m)
				if err != nil {
					b.Fatal(err)
				}
				if fsync == 0 {
					if err := s.syncUpTo(pos); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := s.read(m.seq); err != nil {
					b.Fatal(err)
				}
				if err := s.ack(m.seq); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(time.Since(t0).Microseconds())/float64(b.N), "µs/msg")
			b.ReportMetric(float64((cpu()-c0).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(loadavg(), "load")
		})
	}
}

// BenchmarkPublishDiskOutbox is BenchmarkPublishConfirmed's classic queue on
// one node with the outbox on disk: the end-to-end price of store and
// forward.
func BenchmarkPublishDiskOutbox(b *testing.B) {
	body := benchBody(b)
	for _, fsync := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run("fsync-"+fsync.String(), func(b *testing.B) {
			urls := URLs{broker.URL()}
			benchQueue(b, urls, "benchd", Classic)
			c0, t0 := cpu(), time.Now()
			b.ResetTimer()
			publishN(b, Config{Endpoint: Endpoint{URLs: urls}, OutboxDir: b.TempDir(), OutboxFsync: fsync}, b.N, body)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpu()-c0).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(loadavg(), "load")
		})
	}
}
