package mq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ConsumeConfig configures Consume.
type ConsumeConfig struct {
	Endpoint
	// Exchange to bind to; ExchangeType and Declare as in Config.
	Exchange     string
	ExchangeType string
	Declare      bool
	// Bindings are the binding keys; none means "#" (everything).
	Bindings []string
	// Queue names a durable queue that outlives the consumer; "" means an
	// exclusive, server-named queue that goes away with the connection.
	Queue string
	// Prefetch is how many unacknowledged messages the broker sends ahead; 0
	// means 64.
	Prefetch int
	// StartTimeout is how long an unreachable broker is retried at start; 0
	// means 10 s.
	StartTimeout time.Duration
	// Ready, if set, is called once the queue is bound and consuming, with
	// the queue's name.
	Ready func(queue string)
}

// Delivery is one received message.
type Delivery struct {
	RoutingKey  string
	MessageID   string
	AppID       string
	ContentType string
	Timestamp   time.Time
	Headers     map[string]any
	Redelivered bool
	Body        []byte
}

// Handler handles one delivery. The message is acknowledged when it returns
// nil; an error stops Consume, and the message goes back to the queue.
type Handler func(ctx context.Context, d Delivery) error

// Consume declares and binds a queue, then hands every message to h and
// acknowledges it after h succeeds, until ctx ends (nil) or a handler or the
// connection fails (the error). Connection errors are classified as for
// NewPublisher; a connection lost while consuming is an error: the caller
// decides whether to start again (a durable Queue keeps what arrives
// meanwhile).
func Consume(ctx context.Context, cfg ConsumeConfig, h Handler) error {
	ep, err := cfg.Endpoint.resolve()
	if err != nil {
		return err
	}
	if cfg.ExchangeType == "" {
		cfg.ExchangeType = "topic"
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 64
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if len(cfg.Bindings) == 0 {
		cfg.Bindings = []string{"#"}
	}
	conn, err := dialRetry(ctx, ep, cfg.StartTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("mq: consume: open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("mq: consume: qos: %w", err)
	}
	if cfg.Declare && cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(cfg.Exchange, cfg.ExchangeType, true, false, false, false, nil); err != nil {
			return fmt.Errorf("mq: consume: declare exchange %q: %w", cfg.Exchange, err)
		}
	}
	durable := cfg.Queue != ""
	q, err := ch.QueueDeclare(cfg.Queue, durable, false, !durable, false, nil)
	if err != nil {
		return fmt.Errorf("mq: consume: declare queue %q: %w", cfg.Queue, err)
	}
	if cfg.Exchange != "" {
		for _, key := range cfg.Bindings {
			if err := ch.QueueBind(q.Name, key, cfg.Exchange, false, nil); err != nil {
				return fmt.Errorf("mq: consume: bind queue %q to %q with %q: %w", q.Name, cfg.Exchange, key, err)
			}
		}
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("mq: consume: %w", err)
	}
	if cfg.Ready != nil {
		cfg.Ready(q.Name)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			// The library cancels the consumer on ctx; read the deliveries
			// until it closes them, or its dispatcher blocks and Close with
			// it. What arrives unacked goes back to the queue.
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case _, ok := <-deliveries:
					if ok {
						continue
					}
				case <-closed:
				case <-t.C:
				}
				return nil
			}
		case err := <-closed:
			return fmt.Errorf("mq: consume: connection to %s lost: %v", ep.redacted, err)
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("mq: consume: delivery channel closed (%s)", ep.redacted)
			}
			err := h(ctx, Delivery{
				RoutingKey:  d.RoutingKey,
				MessageID:   d.MessageId,
				AppID:       d.AppId,
				ContentType: d.ContentType,
				Timestamp:   d.Timestamp,
				Headers:     d.Headers,
				Redelivered: d.Redelivered,
				Body:        d.Body,
			})
			if err != nil {
				_ = d.Nack(false, true)
				return fmt.Errorf("mq: consume: handler: %w", err)
			}
			if err := d.Ack(false); err != nil {
				return fmt.Errorf("mq: consume: ack: %w", err)
			}
		}
	}
}

// dialRetry dials until it connects, the error is fatal, timeout passes or
// ctx ends.
func dialRetry(ctx context.Context, ep *endpoint, timeout time.Duration) (*amqp.Connection, error) {
	deadline := time.Now().Add(timeout)
	backoff := 100 * time.Millisecond
	for {
		conn, fatal, err := ep.dial()
		if err == nil {
			return conn, nil
		}
		if fatal {
			return nil, err
		}
		if time.Now().Add(backoff).After(deadline) {
			return nil, fmt.Errorf("%w (gave up after %s)", err, timeout)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// JSONLines returns a Handler that writes each body to w as one line of
// JSON. Bodies that are not JSON fail the handler. Safe for concurrent use.
func JSONLines(w io.Writer) Handler {
	var mu sync.Mutex
	var buf bytes.Buffer
	return func(_ context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		buf.Reset()
		if err := json.Compact(&buf, d.Body); err != nil {
			return fmt.Errorf("message %s is not JSON: %w", d.MessageID, err)
		}
		buf.WriteByte('\n')
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write message %s: %w", d.MessageID, err)
		}
		return nil
	}
}

// IsFatal reports whether err (from NewPublisher or Consume) needs a change
// of configuration rather than a retry: bad URL, wrong credentials, missing
// vhost, TLS failure.
func IsFatal(err error) bool {
	return errors.Is(err, ErrAccessRefused) || errors.Is(err, ErrVhost) || errors.Is(err, ErrBadURL) || errors.Is(err, ErrTLS)
}
