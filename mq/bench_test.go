package mq

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkPublishConfirmed measures sustained publishing with confirms to
// the test broker: persistent FrameEvent messages (one face, ~500 bytes) into
// a durable queue, each op one message confirmed by the broker.
func BenchmarkPublishConfirmed(b *testing.B) {
	ch := adminChannel(b)
	require.NoError(b, ch.ExchangeDeclare("bench", "topic", true, false, false, false, nil))
	_, err := ch.QueueDeclare("bench-q", true, false, false, false, nil)
	require.NoError(b, err)
	require.NoError(b, ch.QueueBind("bench-q", "#", "bench", false, nil))
	defer func() {
		_, _ = ch.QueueDelete("bench-q", false, false, false)
		_ = ch.ExchangeDelete("bench", false, false)
	}()
	body, err := json.Marshal(messages(1)[0])
	require.NoError(b, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := NewPublisher(ctx, Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "bench", Declare: true, OutboxSize: 4096, MaxInFlight: 512})
	require.NoError(b, err)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for p.Stats().OutboxDepth > 3000 { // pace: never overflow the outbox
			time.Sleep(100 * time.Microsecond)
		}
		require.NoError(b, p.Publish(Publishing{RoutingKey: "faces.bench", Body: body}))
	}
	require.NoError(b, p.Close())
	b.StopTimer()
	s := p.Stats()
	require.EqualValues(b, b.N, s.Confirmed, "%+v", s)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
