package mq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Config configures a Publisher. The zero value of each field but Endpoint
// has a sensible default.
type Config struct {
	Endpoint `yaml:",inline"`
	// Exchange is where messages go; "" is AMQP's default exchange (routing
	// key = queue name).
	Exchange string `yaml:"exchange" usage:"topic exchange to publish to (declared if missing)"`
	// ExchangeType is used when Declare is set; "" means "topic".
	ExchangeType string `yaml:"-"`
	// Declare makes the publisher declare Exchange (durable) on every
	// connect. Without it the exchange must exist.
	Declare bool `yaml:"-"`
	// RoutingKey is the template WriteMessage routes by: {source} becomes
	// the sanitised source name (SanitizeKey), {source_id} the source's
	// index. "" means DefaultRoutingKey.
	RoutingKey string `yaml:"routing-key" usage:"routing key template: {source}, {source_id}"`

	// OutboxSize is how many messages wait while the broker is slow or away;
	// 0 means 1000. OutboxPolicy says which one goes when it is full.
	OutboxSize   int          `yaml:"outbox" usage:"messages kept while the broker is slow or away"`
	OutboxPolicy OutboxPolicy `yaml:"outbox-policy" usage:"when the outbox is full: drop-oldest or drop-newest"`
	// MaxInFlight caps the messages published but not yet confirmed; 0
	// means 256.
	MaxInFlight int `yaml:"-"`
	// MaxAttempts is how many times one message is published before a
	// nack or a lost channel makes it count as dropped; 0 means 5.
	MaxAttempts int `yaml:"-"`
	// MaxMessageSize is the largest body sent, in bytes; bigger ones are
	// dropped (reason "too_large"). 0 means no limit of our own; the limit
	// the broker reports when it refuses a message is learned and applied too.
	MaxMessageSize int `yaml:"-"`

	// StartTimeout is how long NewPublisher retries an unreachable broker;
	// 0 means 10 s. Wrong credentials and a missing vhost fail at once.
	StartTimeout time.Duration `yaml:"amqp-start-timeout" usage:"how long to retry an unreachable broker at start (0 = 10s)"`
	// StartOffline makes NewPublisher succeed anyway when the broker stays
	// unreachable for StartTimeout: the publisher keeps trying in the
	// background, buffers what fits in the outbox and counts the rest as
	// dropped.
	StartOffline bool `yaml:"amqp-offline" usage:"start even if the broker stays unreachable; count what cannot be kept"`
	// ReconnectMin and ReconnectMax bound the exponential back-off between
	// reconnect attempts; 0 means 100 ms and 5 s.
	ReconnectMin, ReconnectMax time.Duration `yaml:"-"`
	// ShutdownTimeout bounds how long Close waits for the outbox to drain
	// and for outstanding confirms; 0 means 5 s.
	ShutdownTimeout time.Duration `yaml:"-"`
	// AppID is the AMQP app-id property; "" means "conveyor".
	AppID string `yaml:"-"`
}

// DefaultConfig is what `conveyor run --amqp URL` starts from.
func DefaultConfig() Config {
	return Config{Exchange: "conveyor", RoutingKey: DefaultRoutingKey, OutboxSize: 1000, OutboxPolicy: DropOldest}
}

// Validate checks the options a user sets, naming each by its option key.
func (c Config) Validate() error {
	var errs []error
	if c.OutboxSize < 0 || c.OutboxSize > 10_000_000 {
		errs = append(errs, fmt.Errorf("outbox: %d is out of range: want 1 to 10000000", c.OutboxSize))
	}
	if c.OutboxPolicy != DropOldest && c.OutboxPolicy != DropNewest {
		errs = append(errs, fmt.Errorf("outbox-policy: %v: want drop-oldest or drop-newest", c.OutboxPolicy))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("amqp-start-timeout: %s: want 0 or more", c.StartTimeout))
	}
	if err := checkTemplate(c.RoutingKey); err != nil {
		errs = append(errs, fmt.Errorf("routing-key: %w", err))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.ExchangeType == "" {
		c.ExchangeType = "topic"
	}
	def(&c.OutboxSize, 1000)
	def(&c.MaxInFlight, 256)
	def(&c.MaxAttempts, 5)
	defd(&c.StartTimeout, 10*time.Second)
	defd(&c.ReconnectMin, 100*time.Millisecond)
	defd(&c.ReconnectMax, 5*time.Second)
	defd(&c.ShutdownTimeout, 5*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.AppID == "" {
		c.AppID = "conveyor"
	}
	if c.RoutingKey == "" {
		c.RoutingKey = DefaultRoutingKey
	}
}

// Drop reasons, the keys of Stats.DroppedBy.
const (
	// DropOutboxFull: the outbox was full (broker slow or away).
	DropOutboxFull = "outbox_full"
	// DropTooLarge: the body is larger than the broker (or MaxMessageSize)
	// allows.
	DropTooLarge = "too_large"
	// DropAttempts: the broker nacked the message, or the channel died under
	// it, MaxAttempts times.
	DropAttempts = "attempts"
)

// Stats is a snapshot of a Publisher's counters.
//
// Every message given to Publish ends up in exactly one of Confirmed,
// Dropped, or (until Close) OutboxDepth+InFlight, (after Close)
// Unconfirmed: Offered = Confirmed + Dropped + OutboxDepth + InFlight +
// Unconfirmed at any time.
type Stats struct {
	// Offered counts messages accepted by Publish.
	Offered int64 `json:"offered"`
	// Published counts basic.publish calls, republications included.
	Published int64 `json:"published"`
	// Republished counts publications of a message that had been published
	// before (after a nack or a lost connection): the broker may hold two
	// copies (at-least-once), with the same message-id.
	Republished int64 `json:"republished"`
	// Confirmed counts messages the broker acknowledged.
	Confirmed int64 `json:"confirmed"`
	// Nacked counts negative acknowledgements from the broker.
	Nacked int64 `json:"nacked"`
	// Returned counts confirmed messages that no queue was bound to receive
	// (basic.return): routed nowhere, and so lost by design.
	Returned int64 `json:"returned"`
	// Dropped counts messages given up, by reason in DroppedBy.
	Dropped   int64            `json:"dropped"`
	DroppedBy map[string]int64 `json:"dropped_by,omitempty"`
	// Reconnects counts successful connects after the first one.
	Reconnects int64 `json:"reconnects"`
	// OutboxDepth is the number of messages waiting to be published, InFlight
	// the number published and waiting for their confirm.
	OutboxDepth int `json:"outbox_depth"`
	InFlight    int `json:"in_flight"`
	// Unconfirmed is set by Close: messages still waiting or unconfirmed when
	// ShutdownTimeout ran out.
	Unconfirmed int64 `json:"unconfirmed"`
	// Connected says whether a channel is open now; Blocked whether the
	// broker has blocked publishing (resource alarm).
	Connected bool `json:"connected"`
	Blocked   bool `json:"blocked"`
	// LastError is the last connection problem, password redacted.
	LastError string `json:"last_error,omitempty"`
}

// Publishing is one AMQP message to publish (amqp091-go's word for it).
type Publishing struct {
	// RoutingKey routes the message on the exchange.
	RoutingKey string
	// Body is sent as is. Publish keeps it: do not change it afterwards.
	Body []byte
	// MessageID is the message-id property; "" gets a unique one
	// (<publisher id>-<sequence>).
	MessageID string
	// Timestamp is the timestamp property (seconds); zero means now.
	Timestamp time.Time
	// Headers are extra AMQP headers.
	Headers map[string]any
}

// Publisher publishes persistent messages with publisher confirms, keeps a
// bounded outbox while the broker is away and reconnects with back-off.
//
// Publish never waits for the network. One goroutine owns the connection;
// it is started by NewPublisher and ended by Close, which the owner calls
// exactly once (more calls return the first result).
type Publisher struct {
	cfg Config
	ep  *endpoint
	id  string
	seq atomic.Uint64

	mu        sync.Mutex
	box       *outbox
	closed    bool
	droppedBy map[string]int64
	lastErr   string
	conn      *amqp.Connection // current connection, for a forced close

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	offered, published, republished, confirmed, nacked, returned, dropped, reconnects atomic.Int64
	inFlight, unconfirmed                                                             atomic.Int64
	connected, blocked                                                                atomic.Bool
	maxSize                                                                           atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// NewPublisher connects to the broker, declares the exchange when asked, and
// starts the publishing goroutine. An unreachable broker is retried for
// cfg.StartTimeout (or until ctx ends); then NewPublisher fails with
// ErrUnreachable, or, with cfg.StartOffline, returns a publisher that keeps
// trying. Wrong credentials (ErrAccessRefused), a missing vhost (ErrVhost), a
// bad URL (ErrBadURL) and a refused exchange declaration fail at once.
func NewPublisher(ctx context.Context, cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	if err := checkTemplate(cfg.RoutingKey); err != nil {
		return nil, err
	}
	ep, err := cfg.Endpoint.resolve()
	if err != nil {
		return nil, err
	}
	var idb [6]byte
	_, _ = rand.Read(idb[:])
	p := &Publisher{
		cfg:       cfg,
		ep:        ep,
		id:        hex.EncodeToString(idb[:]),
		box:       newOutbox(cfg.OutboxSize, cfg.OutboxPolicy),
		droppedBy: map[string]int64{},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if cfg.MaxMessageSize > 0 {
		p.maxSize.Store(int64(cfg.MaxMessageSize))
	}

	deadline := time.NewTimer(cfg.StartTimeout)
	defer deadline.Stop()
	backoff := cfg.ReconnectMin
	var s *session
	for {
		var fatal bool
		s, fatal, err = p.connect()
		if err == nil {
			break
		}
		p.setErr(err)
		if fatal {
			return nil, err
		}
		wait := time.NewTimer(backoff)
		select {
		case <-wait.C:
			backoff = min(2*backoff, cfg.ReconnectMax)
			continue
		case <-ctx.Done():
			wait.Stop()
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-deadline.C:
			wait.Stop()
		}
		if !cfg.StartOffline {
			return nil, fmt.Errorf("%w (gave up after %s)", err, cfg.StartTimeout)
		}
		break
	}
	go p.run(s)
	return p, nil
}

// ID is the publisher's random id, the prefix of the message ids it makes.
func (p *Publisher) ID() string { return p.id }

// Publish queues m for publishing and returns at once. It fails only after
// Close (ErrClosed). A message the outbox has no room for, or one larger than
// the broker allows, is dropped and counted in Stats, not returned as an error.
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
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.offered.Add(1)
	if max := p.maxSize.Load(); max > 0 && int64(len(msg.body)) > max {
		p.dropLocked(DropTooLarge)
	} else if p.box.push(msg) != nil {
		p.dropLocked(DropOutboxFull)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats returns a snapshot of the counters. Safe to call at any time, also
// after Close.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	s := Stats{
		OutboxDepth: p.box.len(),
		LastError:   p.lastErr,
		DroppedBy:   make(map[string]int64, len(p.droppedBy)),
		Dropped:     p.dropped.Load(),
	}
	for k, v := range p.droppedBy {
		s.DroppedBy[k] = v
	}
	p.mu.Unlock()
	s.Offered = p.offered.Load()
	s.Published = p.published.Load()
	s.Republished = p.republished.Load()
	s.Confirmed = p.confirmed.Load()
	s.Nacked = p.nacked.Load()
	s.Returned = p.returned.Load()
	s.Reconnects = p.reconnects.Load()
	s.InFlight = int(p.inFlight.Load())
	s.Unconfirmed = p.unconfirmed.Load()
	s.Connected = p.connected.Load()
	s.Blocked = p.blocked.Load()
	return s
}

// Close stops accepting messages, publishes what waits in the outbox and
// waits for outstanding confirms, for at most cfg.ShutdownTimeout, then
// closes the connection. It returns an error wrapping ErrUnconfirmed when
// messages were left unconfirmed (Stats().Unconfirmed says how many).
// Dropped messages are not an error: they are counted. Close is idempotent.
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
		if n := p.unconfirmed.Load(); n > 0 {
			p.closeErr = fmt.Errorf("mq: close: %d %w after %s", n, ErrUnconfirmed, p.cfg.ShutdownTimeout)
		}
	})
	return p.closeErr
}

func (p *Publisher) dropLocked(reason string) {
	p.dropped.Add(1)
	p.droppedBy[reason]++
}

func (p *Publisher) drop(reason string) {
	p.mu.Lock()
	p.dropLocked(reason)
	p.mu.Unlock()
}

func (p *Publisher) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err.Error()
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
	max := p.maxSize.Load()
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		switch {
		case max > 0 && int64(len(m.body)) > max:
			p.dropLocked(DropTooLarge)
		case m.attempts >= p.cfg.MaxAttempts:
			p.dropLocked(DropAttempts)
		case p.box.pushFront(m) != nil:
			p.dropLocked(DropOutboxFull)
		}
	}
}

// abandon empties the outbox at the shutdown deadline, counting what was in
// it as unconfirmed.
func (p *Publisher) abandon() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.box.popFront() != nil {
		p.unconfirmed.Add(1)
	}
}

func (p *Publisher) outboxEmpty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.box.len() == 0
}

// session is one connection and its confirm-mode channel.
type session struct {
	conn      *amqp.Connection
	ch        *amqp.Channel
	connClose chan *amqp.Error
	chClose   chan *amqp.Error
	wg        sync.WaitGroup
}

// connect dials, opens a confirm channel, declares the exchange and starts
// the goroutines that drain the Notify channels that need it.
func (p *Publisher) connect() (s *session, fatal bool, err error) {
	conn, fatal, err := p.ep.dial()
	if err != nil {
		return nil, fatal, err
	}
	fail := func(what string, err error) (*session, bool, error) {
		_ = conn.Close()
		var ae *amqp.Error
		// The broker refusing a declaration (wrong type, no permission) will
		// refuse it again: fatal. A connection that died meanwhile is not.
		fatal := errors.As(err, &ae) && ae.Server && ae.Code != amqp.ConnectionForced
		return nil, fatal, fmt.Errorf("mq: %s on %s: %s", what, p.ep.redacted, p.ep.scrub(err.Error()))
	}
	ch, err := conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if p.cfg.Declare && p.cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(p.cfg.Exchange, p.cfg.ExchangeType, true, false, false, false, nil); err != nil {
			return fail(fmt.Sprintf("declare exchange %q", p.cfg.Exchange), err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		return fail("enable publisher confirms", err)
	}
	s = &session{
		conn:      conn,
		ch:        ch,
		connClose: conn.NotifyClose(make(chan *amqp.Error, 1)),
		chClose:   ch.NotifyClose(make(chan *amqp.Error, 1)),
	}
	// The library blocks its reader while a Notify channel is full: drain
	// these two on their own goroutines, so that a busy sender never stalls
	// them. Both channels are closed by the library when the connection or
	// channel shuts down.
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for range returns {
			p.returned.Add(1)
		}
	}()
	go func() {
		defer s.wg.Done()
		for b := range blocked {
			p.blocked.Store(b.Active)
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}()
	return s, false, nil
}

// close ends the session and waits for its drain goroutines.
func (s *session) close() {
	_ = s.ch.Close()
	_ = s.conn.Close()
	s.wg.Wait()
}

// pending is a published message waiting for its confirm.
type pending struct {
	m  *message
	dc *amqp.DeferredConfirmation
}

// run owns the connection: it serves sessions and reconnects between them
// until Close, then drains within ShutdownTimeout.
func (p *Publisher) run(s *session) {
	defer close(p.done)
	everConnected := false
	backoff := p.cfg.ReconnectMin
	stopping := false
	var deadline <-chan time.Time
	var deadlineTimer *time.Timer
	defer func() {
		if deadlineTimer != nil {
			deadlineTimer.Stop()
		}
	}()
	beginStop := func() {
		stopping = true
		deadlineTimer = time.NewTimer(p.cfg.ShutdownTimeout)
		deadline = deadlineTimer.C
	}
	for {
		if s == nil {
			if stopping && p.outboxEmpty() {
				return
			}
			var err error
			s, _, err = p.connect()
			if err != nil {
				p.setErr(err)
				wait := time.NewTimer(backoff)
				backoff = min(2*backoff, p.cfg.ReconnectMax)
				stopC := p.stop
				if stopping {
					stopC = nil
				}
				select {
				case <-wait.C:
				case <-stopC:
					wait.Stop()
					beginStop()
				case <-deadline:
					wait.Stop()
					p.abandon()
					return
				}
				continue
			}
		}
		if everConnected {
			p.reconnects.Add(1)
		}
		everConnected = true
		backoff = p.cfg.ReconnectMin
		p.mu.Lock()
		p.conn = s.conn
		p.mu.Unlock()
		p.connected.Store(true)
		finished := p.serve(s, &stopping, &deadline, beginStop)
		p.connected.Store(false)
		p.blocked.Store(false)
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		s.close()
		s = nil
		if finished {
			return
		}
	}
}

var maxSizeRe = regexp.MustCompile(`max size (\d+)`)

// serve publishes and settles confirms on one session. It returns true when
// the publisher is done (drained, or out of time while stopping), false when
// the session was lost and run should reconnect.
func (p *Publisher) serve(s *session, stopping *bool, deadline *<-chan time.Time, beginStop func()) (finished bool) {
	var inflight []pending
	// lost requeues everything not confirmed, then extra: the broker may or
	// may not have them, so they are published again (counted as
	// republished).
	lost := func(extra ...*message) {
		var again []*message
		for _, pd := range inflight {
			if pd.dc.Acked() {
				p.confirmed.Add(1)
			} else {
				again = append(again, pd.m)
			}
		}
		inflight = nil
		p.inFlight.Store(0)
		p.requeue(append(again, extra...))
	}
	for {
		for !p.blocked.Load() && len(inflight) < p.cfg.MaxInFlight {
			m := p.pop()
			if m == nil {
				break
			}
			if max := p.maxSize.Load(); max > 0 && int64(len(m.body)) > max {
				p.drop(DropTooLarge)
				continue
			}
			m.attempts++
			dc, err := s.ch.PublishWithDeferredConfirm(p.cfg.Exchange, m.key, true, false, amqp.Publishing{
				Headers:      m.headers,
				ContentType:  "application/json",
				DeliveryMode: amqp.Persistent,
				MessageId:    m.id,
				Timestamp:    m.ts,
				AppId:        p.cfg.AppID,
				Body:         m.body,
			})
			if err != nil {
				m.attempts--
				p.setErr(fmt.Errorf("mq: publish: %s", p.ep.scrub(err.Error())))
				lost(m)
				return false
			}
			p.published.Add(1)
			if m.attempts > 1 {
				p.republished.Add(1)
			}
			inflight = append(inflight, pending{m: m, dc: dc})
			p.inFlight.Store(int64(len(inflight)))
		}
		if *stopping && len(inflight) == 0 && p.outboxEmpty() {
			return true
		}
		var head <-chan struct{}
		if len(inflight) > 0 {
			head = inflight[0].dc.Done()
		}
		stopC := p.stop
		if *stopping {
			stopC = nil
		}
		select {
		case <-p.wake:
		case <-head:
			for len(inflight) > 0 && isDone(inflight[0].dc) {
				pd := inflight[0]
				if !pd.dc.Acked() && s.ch.IsClosed() {
					// Nacked by the library because the channel closed under
					// it: wait (briefly) for the broker's reason, then start
					// over on a new connection.
					p.awaitClose(s)
					lost()
					return false
				}
				if pd.dc.Acked() {
					p.confirmed.Add(1)
				} else {
					p.nacked.Add(1)
					p.requeue([]*message{pd.m})
				}
				inflight = inflight[1:]
				p.inFlight.Store(int64(len(inflight)))
			}
		case err := <-s.chClose:
			p.noteClose("channel", err)
			lost()
			return false
		case err := <-s.connClose:
			p.noteClose("connection", err)
			lost()
			return false
		case <-stopC:
			beginStop()
		case <-*deadline:
			lost()
			p.abandon()
			return true
		}
	}
}

func isDone(dc *amqp.DeferredConfirmation) bool {
	select {
	case <-dc.Done():
		return true
	default:
		return false
	}
}

// awaitClose waits up to a second for the close notification of a channel
// found closed, to record why.
func (p *Publisher) awaitClose(s *session) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case err := <-s.chClose:
		p.noteClose("channel", err)
	case err := <-s.connClose:
		p.noteClose("connection", err)
	case <-t.C:
		p.setErr(errors.New("mq: channel closed"))
	}
}

// noteClose records why a session ended and learns the broker's maximum
// message size from a PRECONDITION_FAILED about it.
func (p *Publisher) noteClose(what string, err *amqp.Error) {
	if err == nil {
		p.setErr(fmt.Errorf("mq: %s closed", what))
		return
	}
	if err.Code == amqp.PreconditionFailed {
		if m := maxSizeRe.FindStringSubmatch(err.Reason); m != nil {
			if n, perr := strconv.ParseInt(m[1], 10, 64); perr == nil && n > 0 {
				if cur := p.maxSize.Load(); cur == 0 || n < cur {
					p.maxSize.Store(n)
				}
			}
		}
	}
	p.setErr(fmt.Errorf("mq: %s closed by broker: %s", what, p.ep.scrub(err.Error())))
}
