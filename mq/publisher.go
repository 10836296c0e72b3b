package mq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publishing is one AMQP message to publish (amqp091-go's word for it).
type Publishing struct {
	// RoutingKey routes the message on the exchange.
	RoutingKey string
	// Body is sent as is. Publish keeps it: do not change it afterwards.
	Body []byte
	// MessageID is the message-id property; "" gets a unique one
	// (<publisher id>-<sequence>). It stays the same when the message is
	// published again, also by a later run from the on-disk outbox.
	MessageID string
	// Timestamp is the timestamp property (seconds); zero means now.
	Timestamp time.Time
	// Headers are extra AMQP headers.
	Headers map[string]any
}

// Publisher publishes persistent messages with publisher confirms, keeps a
// bounded outbox (in memory, or on disk with Config.OutboxDir) while the
// broker is away and reconnects, to any node of the cluster, with back-off.
//
// Publish never waits for the network. One goroutine owns the connection
// (session.go, confirms.go); it is started by NewPublisher and ended by
// Close, which the owner calls exactly once (more calls return the first
// result).
type Publisher struct {
	cfg   Config
	nodes []*node
	id    string
	seq   atomic.Uint64
	store *store // the on-disk outbox; nil for a memory one

	mu        sync.Mutex
	box       *outbox
	closed    bool
	droppedBy map[string]int64
	lastErr   string
	node      string           // redacted URL of the current (or last tried) node
	conn      *amqp.Connection // current connection, for a forced close

	c counters

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// NewPublisher connects to a node of the cluster, declares the exchange when
// asked, and starts the publishing goroutine. With cfg.OutboxDir it first
// opens the on-disk outbox and queues what an earlier run left in it
// (Stats.Recovered).
//
// Unreachable nodes are retried for cfg.StartTimeout (or until ctx ends);
// then NewPublisher fails with ErrUnreachable, or, with cfg.StartOffline,
// returns a publisher that keeps trying. Wrong credentials
// (ErrAccessRefused), a missing vhost (ErrVhost), a bad URL (ErrBadURL), a
// refused exchange declaration and an outbox directory in use
// (ErrOutboxInUse) fail at once.
func NewPublisher(ctx context.Context, cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	if err := checkTemplate(cfg.RoutingKey); err != nil {
		return nil, err
	}
	nodes, err := cfg.Endpoint.nodes("conveyor")
	if err != nil {
		return nil, err
	}
	var idb [6]byte
	_, _ = rand.Read(idb[:])
	p := &Publisher{
		cfg:       cfg,
		nodes:     nodes,
		id:        hex.EncodeToString(idb[:]),
		box:       newOutbox(cfg.OutboxSize, int64(cfg.OutboxBytes), cfg.OutboxPolicy),
		droppedBy: map[string]int64{},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if cfg.MaxMessageSize > 0 {
		p.c.maxSize.Store(int64(cfg.MaxMessageSize))
	}
	if cfg.OutboxDir != "" {
		st, msgs, info, err := openStore(cfg.OutboxDir, cfg.segmentSize, cfg.OutboxFsync)
		if err != nil {
			return nil, err
		}
		p.store = st
		if info.Truncated > 0 {
			cfg.Logf("mq: outbox %s: cut %d bytes of a torn or corrupt record at the end of %d segment(s) (a crash or power cut while writing)", cfg.OutboxDir, info.Truncated, info.Corrupt)
		}
		p.mu.Lock()
		for _, m := range msgs {
			p.c.recovered.Add(1)
			for _, d := range p.box.push(m) {
				p.dropLocked(DropOutboxFull, d)
			}
		}
		p.mu.Unlock()
		if len(msgs) > 0 {
			cfg.Logf("mq: outbox %s: %d messages from an earlier run to send", cfg.OutboxDir, len(msgs))
		}
	}

	r := newRing(nodes, cfg.NodeOrder, cfg.ReconnectMin, cfg.ReconnectMax)
	deadline := time.NewTimer(cfg.StartTimeout)
	defer deadline.Stop()
	var s *session
	for {
		n := r.pick()
		p.setNode(n)
		var fatal bool
		s, fatal, err = p.connect(n)
		if err == nil {
			break
		}
		p.setErr(err)
		if fatal {
			p.closeStore()
			return nil, err
		}
		wait := time.NewTimer(r.failed())
		select {
		case <-wait.C:
			continue
		case <-ctx.Done():
			wait.Stop()
			p.closeStore()
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-deadline.C:
			wait.Stop()
		}
		if !cfg.StartOffline {
			p.closeStore()
			return nil, fmt.Errorf("%w (gave up after %s)", err, cfg.StartTimeout)
		}
		cfg.Logf("mq: no broker answered within %s (%s); starting offline: messages wait in the outbox", cfg.StartTimeout, err)
		break
	}
	go p.run(s, r)
	return p, nil
}

// ID is the publisher's random id, the prefix of the message ids it makes.
func (p *Publisher) ID() string { return p.id }

// Publish queues m for publishing and returns at once: it never waits for
// the network. With an on-disk outbox it returns once the message is
// written (and, with OutboxFsync 0, on the storage device). It fails only
// after Close (ErrClosed). A message the outbox has no room for, one larger
// than the broker allows, or one the disk refused, is dropped and counted
// in Stats, not returned as an error.
func (p *Publisher) Publish(m Publishing) error {
	msg := &message{key: m.RoutingKey, body: m.Body, id: m.MessageID, ts: m.Timestamp}
	if msg.id == "" {
		msg.id = p.id + "-" + strconv.FormatUint(p.seq.Add(1), 10)
	}
	if msg.ts.IsZero() {
		msg.ts = time.Now()
	}
	if len(m.Headers) > 0 {
		msg.headers = amqp.Table(m.Headers)
	}
	msg.size = messageSize(msg, len(msg.body))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.c.offered.Add(1)
	var syncPos int64
	switch {
	case p.c.maxSize.Load() > 0 && int64(len(msg.body)) > p.c.maxSize.Load():
		p.dropLocked(DropTooLarge, nil)
	case p.box.tooBig(msg), p.cfg.OutboxPolicy == DropNewest && !p.box.fits(msg):
		p.dropLocked(DropOutboxFull, nil) // never stored
	default:
		if p.store != nil {
			// Make room first (drop-oldest), so that the disk never holds
			// more than the bound; then store.
			for !p.box.fits(msg) {
				p.dropLocked(DropOutboxFull, p.box.popFront())
			}
			pos, err := p.store.append(msg)
			if err != nil {
				p.lastErr = err.Error()
				p.dropLocked(DropDisk, nil)
				break
			}
			syncPos = pos
			msg.body = nil // read back from disk when published
		}
		for _, d := range p.box.push(msg) {
			p.dropLocked(DropOutboxFull, d)
		}
	}
	p.mu.Unlock()
	if syncPos > 0 && p.cfg.OutboxFsync == 0 {
		if err := p.store.syncUpTo(syncPos); err != nil {
			p.setErr(err)
		}
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops accepting messages, publishes what waits in the outbox and
// waits for outstanding confirms, for at most cfg.ShutdownTimeout, then
// closes the connection. What is left unconfirmed is counted as dropped
// (DropShutdown), and Close returns an error wrapping ErrUnconfirmed; with
// an on-disk outbox it stays on disk for the next start instead (Stats.Kept)
// and is no error. Dropped messages are not an error: they are counted.
// Close is idempotent.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		// run honours ShutdownTimeout itself; a write blocked by a broker that
		// stopped reading is the one thing it cannot interrupt, so close the
		// connection under it when the deadline has passed.
		grace := time.NewTimer(p.cfg.ShutdownTimeout + time.Second)
		defer grace.Stop()
		select {
		case <-p.done:
		case <-grace.C:
			p.mu.Lock()
			if p.conn != nil {
				_ = p.conn.Close()
			}
			p.mu.Unlock()
			<-p.done
		}
		if p.store != nil {
			p.c.kept.Store(int64(p.store.count()))
			if err := p.closeStore(); err != nil {
				p.closeErr = err
			}
			return
		}
		p.mu.Lock()
		n := p.droppedBy[DropShutdown]
		p.mu.Unlock()
		if n > 0 {
			p.closeErr = fmt.Errorf("mq: close: %d %w after %s", n, ErrUnconfirmed, p.cfg.ShutdownTimeout)
		}
	})
	return p.closeErr
}

func (p *Publisher) closeStore() error {
	if p.store == nil {
		return nil
	}
	return p.store.close()
}

// dropLocked counts m (nil: a message never stored) as dropped for reason,
// and removes it from the disk outbox. Call with p.mu held.
func (p *Publisher) dropLocked(reason string, m *message) {
	p.c.dropped.Add(1)
	p.droppedBy[reason]++
	if m != nil && m.seq != 0 && p.store != nil {
		if err := p.store.ack(m.seq); err != nil {
			p.lastErr = err.Error()
		}
	}
}

func (p *Publisher) drop(reason string, m *message) {
	p.mu.Lock()
	p.dropLocked(reason, m)
	p.mu.Unlock()
}

func (p *Publisher) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err.Error()
	p.mu.Unlock()
}

func (p *Publisher) setNode(n *node) {
	p.mu.Lock()
	p.node = n.redacted
	p.mu.Unlock()
}

// pop takes the next message to publish, or nil.
func (p *Publisher) pop() *message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.box.popFront()
}

// requeue puts messages back at the front of the outbox, in order, or drops
// them when they have had their attempts, are too large, or do not fit.
func (p *Publisher) requeue(ms []*message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	max := p.c.maxSize.Load()
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if p.store != nil {
			m.body = nil // read back from disk when published again
		}
		switch {
		case max > 0 && m.bodyLen() > max:
			p.dropLocked(DropTooLarge, m)
		case m.attempts >= p.cfg.MaxAttempts:
			p.dropLocked(DropAttempts, m)
		default:
			for _, d := range p.box.pushFront(m) {
				p.dropLocked(DropOutboxFull, d)
			}
		}
	}
}

// abandon empties the outbox at the shutdown deadline: a memory outbox
// counts what was in it as dropped (DropShutdown); a disk outbox keeps it.
func (p *Publisher) abandon(inflight []pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pd := range inflight {
		if p.store == nil {
			p.dropLocked(DropShutdown, pd.m)
		}
	}
	for m := p.box.popFront(); m != nil; m = p.box.popFront() {
		if p.store == nil {
			p.dropLocked(DropShutdown, m)
		}
	}
}

func (p *Publisher) outboxEmpty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.box.len() == 0
}
