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

// ConsumeConfig configures Consume. Its tagged fields are the options of
// `conveyor consume`.
type ConsumeConfig struct {
	Endpoint `yaml:",inline"`
	// Exchange to bind to; ExchangeType and Declare as in Config.
	Exchange     string `yaml:"exchange" usage:"exchange to bind the queue to (declared, durable topic, if missing)"`
	ExchangeType string `yaml:"-"`
	Declare      bool   `yaml:"-"`
	// Bindings are the binding keys; none means "#" (everything).
	Bindings []string `yaml:"binding" usage:"binding key (repeatable; default #)"`
	// Queue names a durable queue that outlives the consumer and that every
	// consumer naming it shares (competing consumers); "" means an
	// exclusive, server-named classic queue that goes away with the
	// connection (and so misses what is published while reconnecting).
	Queue string `yaml:"queue" usage:"durable queue, shared by every consumer that names it (default: an exclusive queue that goes away with the consumer)"`
	// QueueType is the type the queue is declared with; the zero value
	// means quorum for a named queue and classic for the exclusive one.
	QueueType QueueType `yaml:"queue-type" usage:"classic, quorum (replicated; the default with --queue) or stream (replayable, see --from)"`
	// SingleActive declares the queue with single active consumer: one
	// consumer receives, in order, the others stand by and take over when
	// it goes (classic and quorum queues).
	SingleActive bool `yaml:"single-active" usage:"one consumer of the queue receives at a time, in order; the others stand by"`
	// From is where a stream consumer starts; later reconnects resume after
	// the last message handled.
	From Offset `yaml:"from" usage:"stream queues: start at first, last, next (the default) or a time (RFC 3339: 2024-05-01T12:00:00Z)"`
	// Prefetch is how many unacknowledged messages the broker sends ahead; 0
	// means 64.
	Prefetch int `yaml:"prefetch" usage:"messages the broker sends ahead of the acknowledgements (0 = 64)"`
	// StartTimeout is how long unreachable nodes are retried before the
	// first consume; 0 means 10 s. Once consuming, a lost connection is
	// retried until ctx ends.
	StartTimeout time.Duration `yaml:"amqp-start-timeout" usage:"how long to retry unreachable nodes at start (0 = 10s); once consuming, reconnecting goes on until stopped"`
	// ReconnectMin and ReconnectMax bound the back-off between rounds of
	// reconnect attempts; 0 means 100 ms and 5 s.
	ReconnectMin, ReconnectMax time.Duration `yaml:"-"`
	// Ready, if set, is called once, when the queue is first bound and
	// consumed from, with the queue's name.
	Ready func(queue string) `yaml:"-"`
	// Logf, if set, is told when the connection is lost and when consuming
	// resumes (once each per outage), with the node's redacted URL.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Validate checks the options, naming each by its option key.
func (c ConsumeConfig) Validate() error {
	var errs []error
	if c.Queue == "" && (c.QueueType == Quorum || c.QueueType == Stream) {
		errs = append(errs, fmt.Errorf("queue-type: a %s queue needs a name (--queue): only a classic queue can be exclusive", c.QueueType))
	}
	if c.From.kind != offsetDefault && c.effectiveType() != Stream {
		errs = append(errs, errors.New("from: only a stream queue can start elsewhere than at its next message (--queue-type stream)"))
	}
	if c.SingleActive && c.Queue == "" {
		errs = append(errs, errors.New("single-active: needs a named queue (--queue) that several consumers share"))
	}
	if c.SingleActive && c.QueueType == Stream {
		errs = append(errs, errors.New("single-active: not available for streams over AMQP 0-9-1 on RabbitMQ 3.10; partition by camera with routing keys instead (docs/SCALING.md)"))
	}
	if c.Prefetch < 0 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("prefetch: %d: want 0 to 65535", c.Prefetch))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("amqp-start-timeout: %s: want 0 or more", c.StartTimeout))
	}
	return errors.Join(errs...)
}

// effectiveType is the type the queue is declared with.
func (c ConsumeConfig) effectiveType() QueueType {
	switch {
	case c.QueueType != QueueAuto:
		return c.QueueType
	case c.Queue != "":
		return Quorum
	}
	return Classic
}

// Delivery is one received message.
type Delivery struct {
	RoutingKey  string
	MessageID   string
	AppID       string
	ContentType string
	Timestamp   time.Time
	Headers     map[string]any
	// Redelivered: the broker delivered this message before, to this or
	// another consumer, without an ack (a consumer or a node died): it may
	// have been handled already.
	Redelivered bool
	Body        []byte
}

// Handler handles one delivery. The message is acknowledged when it returns
// nil; an error stops Consume, and the message goes back to the queue.
type Handler func(ctx context.Context, d Delivery) error

// handlerError marks an error of the Handler: it ends Consume.
type handlerError struct{ err error }

func (e handlerError) Error() string { return "mq: consume: handler: " + e.err.Error() }
func (e handlerError) Unwrap() error { return e.err }

// Consume declares and binds a queue on a node of the cluster, then hands
// every message to h and acknowledges it after h succeeds (at-least-once),
// until ctx ends (nil) or h fails or the broker refuses the queue (the
// error). A lost connection (a node or the broker restarting) is not an
// error: Consume reconnects, to the next node, with back-off, declares
// again and goes on; what was delivered but not acknowledged comes again,
// marked Redelivered (a Deduper recognises it by its message id). Before
// the first consume, unreachable nodes are retried for StartTimeout, and
// connection errors are classified as for NewPublisher.
func Consume(ctx context.Context, cfg ConsumeConfig, h Handler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	nodes, err := cfg.Endpoint.nodes("conveyor consume")
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
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 100 * time.Millisecond
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = max(cfg.ReconnectMin, 5*time.Second)
	}
	if len(cfg.Bindings) == 0 {
		cfg.Bindings = []string{"#"}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &consumer{cfg: cfg, h: h, offset: cfg.From.arg()}
	r := newRing(nodes, cfg.NodeOrder, cfg.ReconnectMin, cfg.ReconnectMax)
	deadline := time.Now().Add(cfg.StartTimeout)
	var down time.Time
	for {
		n := r.pick()
		conn, fatal, err := n.dial()
		if err == nil {
			began := time.Now()
			var lost bool
			err, lost = c.session(ctx, conn, n, &down)
			_ = conn.Close()
			if ctx.Err() != nil {
				return nil
			}
			if !lost {
				return err
			}
			if c.consuming { // once per outage: here and when consuming again
				cfg.Logf("mq: consume: lost the connection to %s (%v); reconnecting", n.redacted, err)
				down = time.Now()
			}
			if c.consuming && time.Since(began) >= shortSession {
				r.lost()
				continue
			}
			// Lost before consuming, or at once: a failed attempt, with the
			// back-off (and, before the first consume, the start timeout);
			// a short session is not a success that resets the back-off.
		}
		if fatal {
			return err
		}
		if !c.started && time.Now().After(deadline) {
			return fmt.Errorf("%w (gave up after %s)", err, cfg.StartTimeout)
		}
		wait := time.NewTimer(r.failed())
		select {
		case <-ctx.Done():
			wait.Stop()
			if c.started {
				return nil
			}
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-wait.C:
		}
	}
}

// consumer is the state Consume keeps across sessions.
type consumer struct {
	cfg       ConsumeConfig
	h         Handler
	started   bool // Ready has been called
	consuming bool // the last session got as far as consuming
	offset    any  // x-stream-offset for the next session (streams)
}

// session consumes over one connection. lost says whether the connection
// (or channel) went away, and Consume should reconnect; otherwise err ends
// Consume (nil when ctx ended).
func (c *consumer) session(ctx context.Context, conn *amqp.Connection, n *node, down *time.Time) (err error, lost bool) {
	cfg := c.cfg
	c.consuming = false
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	step := func(what string, err error) (error, bool) {
		return fmt.Errorf("mq: consume: %s on %s: %s", what, n.redacted, n.scrub(err.Error())), !refused(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return step("open channel", err)
	}
	defer ch.Close()
	if err := ch.Qos(cfg.Prefetch, 0, false); err != nil {
		return step("qos", err)
	}
	if cfg.Declare && cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(cfg.Exchange, cfg.ExchangeType, true, false, false, false, nil); err != nil {
			return step(fmt.Sprintf("declare exchange %q", cfg.Exchange), err)
		}
	}
	qt := cfg.effectiveType()
	args := amqp.Table{}
	if qt != Classic {
		args["x-queue-type"] = qt.String()
	}
	if cfg.SingleActive {
		args["x-single-active-consumer"] = true
	}
	durable := cfg.Queue != ""
	q, err := ch.QueueDeclare(cfg.Queue, durable, !durable, !durable, false, args)
	if err != nil {
		err, lost = step(fmt.Sprintf("declare %s queue %q", qt, cfg.Queue), err)
		if !lost {
			err = fmt.Errorf("%w (a queue keeps the type and arguments it was declared with: use the same --queue-type and --single-active, or another --queue)", err)
		}
		return err, lost
	}
	if cfg.Exchange != "" {
		for _, key := range cfg.Bindings {
			if err := ch.QueueBind(q.Name, key, cfg.Exchange, false, nil); err != nil {
				return step(fmt.Sprintf("bind queue %q to %q with %q", q.Name, cfg.Exchange, key), err)
			}
		}
	}
	var cargs amqp.Table
	if qt == Stream {
		cargs = amqp.Table{"x-stream-offset": c.offset}
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", false, false, false, false, cargs)
	if err != nil {
		return step("consume", err)
	}
	c.consuming = true
	if !c.started {
		c.started = true
		if cfg.Ready != nil {
			cfg.Ready(q.Name)
		}
	} else if !down.IsZero() {
		note := ""
		if !durable {
			note = " (a new exclusive queue: what was published meanwhile is not in it; --queue keeps it)"
		}
		cfg.Logf("mq: consume: consuming again from queue %s on %s after %s%s", q.Name, n.redacted, time.Since(*down).Round(time.Millisecond), note)
		*down = time.Time{}
	}
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
				return nil, false
			}
		case err := <-closed:
			if err == nil {
				return errors.New("connection closed"), true
			}
			return errors.New(n.scrub(err.Error())), true
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil, false
				}
				return errors.New("delivery channel closed"), true
			}
			err := c.h(ctx, Delivery{
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
				return handlerError{err}, false
			}
			if off, ok := d.Headers["x-stream-offset"].(int64); ok {
				c.offset = off + 1
			}
			if err := d.Ack(false); err != nil {
				// The channel is gone: the broker delivers it again.
				return fmt.Errorf("ack: %w", err), true
			}
		}
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
