package mq

import (
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// session is one connection to one node and its confirm-mode channel.
type session struct {
	node      *node
	conn      *amqp.Connection
	connClose chan *amqp.Error
	ch        *amqp.Channel
	chClose   chan *amqp.Error
	wg        sync.WaitGroup // the connection's notification drain
	chWG      sync.WaitGroup // the channel's
}

// connect dials n, opens a confirm channel, declares the exchange and
// starts the goroutines that drain the Notify channels that need it.
func (p *Publisher) connect(n *node) (s *session, fatal bool, err error) {
	conn, fatal, err := n.dial()
	if err != nil {
		return nil, fatal, err
	}
	s = &session{node: n, conn: conn, connClose: conn.NotifyClose(make(chan *amqp.Error, 1))}
	if err := p.openChannel(s); err != nil {
		_ = conn.Close()
		// The broker refusing a declaration (wrong type, no permission) will
		// refuse it again: fatal. A connection that died meanwhile is not.
		return nil, refused(err), err
	}
	// The library blocks its reader while a Notify channel is full: drain
	// this one (and the channel's returns) on their own goroutines, so that
	// a busy sender never stalls them. The library closes them when the
	// connection (channel) shuts down.
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for b := range blocked {
			p.c.blocked.Store(b.Active)
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}()
	return s, false, nil
}

// openChannel opens the session's confirm-mode channel and declares the
// exchange on it.
func (p *Publisher) openChannel(s *session) error {
	n := s.node
	fail := func(what string, err error) error {
		return &stepError{fmt.Errorf("mq: %s on %s: %s", what, n.redacted, n.scrub(err.Error())), err}
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if p.cfg.Declare && p.cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(p.cfg.Exchange, p.cfg.ExchangeType, true, false, false, false, nil); err != nil {
			return fail(fmt.Sprintf("declare exchange %q", p.cfg.Exchange), err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return fail("enable publisher confirms", err)
	}
	s.ch = ch
	s.chClose = ch.NotifyClose(make(chan *amqp.Error, 1))
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	s.chWG.Add(1)
	go func() {
		defer s.chWG.Done()
		for range returns {
			p.c.returned.Add(1)
		}
	}()
	return nil
}

// closeChannel closes the session's channel and waits for its drain.
func (s *session) closeChannel() {
	if s.ch != nil {
		_ = s.ch.Close()
		s.chWG.Wait()
		s.ch = nil
	}
}

// close ends the session and waits for its drain goroutines.
func (s *session) close() {
	s.closeChannel()
	_ = s.conn.Close()
	s.wg.Wait()
}

// stepError is a failed step of opening a session: its message redacted,
// the library's error kept for refused.
type stepError struct {
	msg   error
	cause error
}

func (e *stepError) Error() string { return e.msg.Error() }
func (e *stepError) Unwrap() error { return e.cause }

// run owns the connection: it serves sessions and reconnects between them,
// going round the cluster's nodes (ring), until Close; then it drains
// within ShutdownTimeout. s is the session NewPublisher opened, or nil when
// it started offline.
func (p *Publisher) run(s *session, r *ring) {
	defer close(p.done)
	st := &shutdown{}
	defer st.release()
	everConnected := s != nil
	var down time.Time // when the connection was lost; zero while none is
	if s == nil {
		down = time.Now()
	}
	for {
		if s == nil {
			if st.stopping && p.outboxEmpty() {
				return
			}
			n := r.pick()
			p.setNode(n)
			var err error
			s, _, err = p.connect(n)
			if err != nil {
				p.setErr(err)
				if !p.pause(r.failed(), st) {
					return
				}
				continue
			}
			if everConnected {
				p.c.reconnects.Add(1)
			}
			p.cfg.Logf("mq: connected to %s after %s without a connection; %d messages waiting in the outbox",
				s.node.redacted, time.Since(down).Round(time.Millisecond), p.Stats().OutboxDepth)
			everConnected = true
		}
		p.mu.Lock()
		p.conn = s.conn
		p.node = s.node.redacted
		p.mu.Unlock()
		p.c.connected.Store(true)
		began := time.Now()
		finished := p.serve(s, st)
		p.c.connected.Store(false)
		p.c.blocked.Store(false)
		p.mu.Lock()
		p.conn = nil
		reason := p.lastErr
		p.mu.Unlock()
		s.close()
		if finished {
			return
		}
		// Once per outage: here, and when a connection is made again.
		down = time.Now()
		p.cfg.Logf("mq: lost the connection to %s (%s); reconnecting, messages wait in the outbox", s.node.redacted, reason)
		s = nil
		if time.Since(began) < shortSession {
			// A session that ends as soon as it starts (a channel the broker
			// closes at the first publish, say) counts as a failed attempt:
			// the back-off applies, instead of reconnecting in a loop.
			if !p.pause(r.failed(), st) {
				return
			}
			continue
		}
		r.lost()
	}
}

// shortSession: a session that ends sooner counts as a failed connect.
const shortSession = time.Second

// pause waits d before the next connection attempt, or less when Close
// begins; it returns false when the shutdown deadline passed meanwhile (the
// outbox has then been given up, and run must return).
func (p *Publisher) pause(d time.Duration, st *shutdown) bool {
	wait := time.NewTimer(d)
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-st.stopC(p.stop):
		st.begin(p.cfg.ShutdownTimeout)
	case <-st.deadline:
		p.abandon(nil)
		return false
	}
	return true
}

// shutdown is the state of a Close in progress: once stopping, the
// deadline fires after ShutdownTimeout.
type shutdown struct {
	stopping bool
	deadline <-chan time.Time
	timer    *time.Timer
}

func (st *shutdown) begin(timeout time.Duration) {
	st.stopping = true
	st.timer = time.NewTimer(timeout)
	st.deadline = st.timer.C
}

// stopC is stop until the shutdown began, then nil (never ready).
func (st *shutdown) stopC(stop chan struct{}) <-chan struct{} {
	if st.stopping {
		return nil
	}
	return stop
}

func (st *shutdown) release() {
	if st.timer != nil {
		st.timer.Stop()
	}
}

// awaitClose waits up to a second for the close notification of a channel
// found closed, to record why.
func (p *Publisher) awaitClose(s *session) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case err := <-s.chClose:
		p.noteClose(s, "channel", err)
	case err := <-s.connClose:
		p.noteClose(s, "connection", err)
	case <-t.C:
		p.setErr(errors.New("mq: channel closed"))
	}
}
