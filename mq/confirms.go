package mq

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// pending is a published message waiting for its confirm.
type pending struct {
	m  *message
	dc *amqp.DeferredConfirmation
}

var maxSizeRe = regexp.MustCompile(`max size (\d+)`)

// serve publishes and settles confirms on one session. It returns true when
// the publisher is done (drained, or out of time while stopping), false when
// the session was lost and run should reconnect.
func (p *Publisher) serve(s *session, st *shutdown) (finished bool) {
	var inflight []pending
	// After a nack, publishing pauses for a back-off, then goes on on a new
	// channel: a quorum queue whose leader died nacks until the others have
	// elected a new one, and republishing at once would use up every attempt
	// meanwhile; and RabbitMQ 3.10 goes on nacking on a channel opened before
	// the election even after it (TestClusterFailover), while a new channel
	// works.
	nackWait := newBackoff(p.cfg.ReconnectMin, p.cfg.ReconnectMax)
	var paused *time.Timer
	defer func() {
		if paused != nil {
			paused.Stop()
		}
	}()
	// lost requeues everything not confirmed, then extra: the broker may or
	// may not have them, so they are published again (counted as
	// republished).
	lost := func(extra ...*message) {
		var again, acked []*message
		for _, pd := range inflight {
			if pd.dc.Acked() {
				acked = append(acked, pd.m)
			} else {
				again = append(again, pd.m)
			}
		}
		p.settle(acked)
		inflight = nil
		p.c.inFlight.Store(0)
		p.requeue(append(again, extra...))
	}
	for {
		for paused == nil && !p.c.blocked.Load() && len(inflight) < p.cfg.MaxInFlight {
			m := p.pop()
			if m == nil {
				break
			}
			if max := p.c.maxSize.Load(); max > 0 && m.bodyLen() > max {
				p.drop(DropTooLarge, m)
				continue
			}
			body := m.body
			if m.seq != 0 && body == nil {
				var err error
				if body, err = p.store.read(m.seq); err != nil {
					p.setErr(err)
					p.drop(DropDisk, m)
					continue
				}
			}
			m.attempts++
			dc, err := s.ch.PublishWithDeferredConfirm(p.cfg.Exchange, m.key, true, false, amqp.Publishing{
				Headers:      m.headers,
				ContentType:  "application/json",
				DeliveryMode: amqp.Persistent,
				MessageId:    m.id,
				Timestamp:    m.ts,
				AppId:        p.cfg.AppID,
				Body:         body,
			})
			if err != nil {
				m.attempts--
				p.setErr(fmt.Errorf("mq: publish on %s: %s", s.node.redacted, s.node.scrub(err.Error())))
				lost(m)
				return false
			}
			p.c.published.Add(1)
			if m.attempts > 1 {
				p.c.republished.Add(1)
			}
			inflight = append(inflight, pending{m: m, dc: dc})
			p.c.inFlight.Store(int64(len(inflight)))
		}
		if st.stopping && len(inflight) == 0 && p.outboxEmpty() {
			return true
		}
		var head <-chan struct{}
		if len(inflight) > 0 {
			head = inflight[0].dc.Done()
		}
		var resume <-chan time.Time
		if paused != nil {
			resume = paused.C
		}
		select {
		case <-p.wake:
		case <-resume:
			paused = nil
			lost()
			s.closeChannel()
			if err := p.openChannel(s); err != nil {
				p.setErr(err)
				return false
			}
		case <-head:
			var acked []*message
			for len(inflight) > 0 && isDone(inflight[0].dc) {
				pd := inflight[0]
				if !pd.dc.Acked() && s.ch.IsClosed() {
					// Nacked by the library because the channel closed under
					// it: wait (briefly) for the broker's reason, then start
					// over on a new connection.
					p.settle(acked)
					p.awaitClose(s)
					lost()
					return false
				}
				if pd.dc.Acked() {
					acked = append(acked, pd.m)
					nackWait.reset()
				} else {
					p.c.nacked.Add(1)
					p.requeue([]*message{pd.m})
					if paused == nil {
						paused = time.NewTimer(nackWait.next())
					}
				}
				inflight = inflight[1:]
				p.c.inFlight.Store(int64(len(inflight)))
			}
			p.settle(acked)
		case err := <-s.chClose:
			p.noteClose(s, "channel", err)
			lost()
			return false
		case err := <-s.connClose:
			p.noteClose(s, "connection", err)
			lost()
			return false
		case <-st.stopC(p.stop):
			st.begin(p.cfg.ShutdownTimeout)
		case <-st.deadline:
			var acked []*message
			var left []pending
			for _, pd := range inflight {
				if isDone(pd.dc) && pd.dc.Acked() {
					acked = append(acked, pd.m)
				} else {
					left = append(left, pd)
				}
			}
			p.settle(acked)
			p.c.inFlight.Store(0)
			p.abandon(left)
			return true
		}
	}
}

// settle counts confirmed messages and takes them out of the disk outbox,
// with one ack record for the lot.
func (p *Publisher) settle(ms []*message) {
	if len(ms) == 0 {
		return
	}
	p.c.confirmed.Add(int64(len(ms)))
	if p.store == nil {
		return
	}
	seqs := make([]uint64, 0, len(ms))
	for _, m := range ms {
		seqs = append(seqs, m.seq)
	}
	if err := p.store.ack(seqs...); err != nil {
		p.setErr(err)
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

// noteClose records why a session ended and learns the broker's maximum
// message size from a PRECONDITION_FAILED about it.
func (p *Publisher) noteClose(s *session, what string, err *amqp.Error) {
	if err == nil {
		p.setErr(fmt.Errorf("mq: %s to %s closed", what, s.node.redacted))
		return
	}
	if err.Code == amqp.PreconditionFailed {
		if m := maxSizeRe.FindStringSubmatch(err.Reason); m != nil {
			if n, perr := strconv.ParseInt(m[1], 10, 64); perr == nil && n > 0 {
				if cur := p.c.maxSize.Load(); cur == 0 || n < cur {
					p.c.maxSize.Store(n)
				}
			}
		}
	}
	p.setErr(fmt.Errorf("mq: %s to %s closed by the broker: %s", what, s.node.redacted, s.node.scrub(err.Error())))
}
