package mq

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

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
	// DropShutdown: the publisher closed before the broker confirmed the
	// message (the broker away or slow for all of ShutdownTimeout). It may
	// or may not have reached a queue. Not used with an on-disk outbox:
	// there such messages are kept for the next start (Stats.Kept).
	DropShutdown = "unconfirmed_at_exit"
	// DropDisk: the on-disk outbox could not store or read the message (disk
	// full, I/O error); Stats.LastError says why.
	DropDisk = "outbox_disk_error"
)

// dropWords are the drop reasons as the summary prints them.
var dropWords = map[string]string{
	DropOutboxFull: "outbox full",
	DropTooLarge:   "too large",
	DropAttempts:   "refused by the broker",
	DropShutdown:   "unconfirmed when the run ended",
	DropDisk:       "disk outbox error",
}

// Stats is a snapshot of a Publisher's counters.
//
// Every message given to Publish, or recovered from the disk outbox, ends
// up in exactly one of Confirmed, Dropped or Kept, or is still on its way
// (OutboxDepth, InFlight):
//
//	Offered + Recovered = Confirmed + Dropped + Kept + OutboxDepth + InFlight
//
// at any time; after Close, OutboxDepth and InFlight are 0.
type Stats struct {
	// Offered counts messages accepted by Publish.
	Offered int64 `json:"offered"`
	// Recovered counts messages found in the on-disk outbox at start: left
	// unconfirmed by an earlier run, and sent by this one.
	Recovered int64 `json:"recovered,omitempty"`
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
	// Kept is set by Close with an on-disk outbox: messages not confirmed by
	// then, left on disk for the next start.
	Kept int64 `json:"kept,omitempty"`
	// Reconnects counts successful connects after the first one.
	Reconnects int64 `json:"reconnects"`
	// OutboxDepth is the number of messages waiting to be published, InFlight
	// the number published and waiting for their confirm.
	OutboxDepth int `json:"outbox_depth"`
	InFlight    int `json:"in_flight"`
	// Connected says whether a channel is open now; Blocked whether the
	// broker has blocked publishing (resource alarm). Node is the redacted
	// URL of the node connected to (or last tried).
	Connected bool   `json:"connected"`
	Blocked   bool   `json:"blocked"`
	Node      string `json:"node,omitempty"`
	// LastError is the last connection problem, password redacted.
	LastError string `json:"last_error,omitempty"`
}

// Lost is the number of messages that did not reach the broker for sure:
// dropped, or confirmed but routed to no queue.
func (s Stats) Lost() int64 { return s.Dropped + s.Returned }

// Drops writes DroppedBy for people, largest first: "53 outbox full, 4
// unconfirmed when the run ended"; "" when nothing was dropped.
func (s Stats) Drops() string {
	reasons := make([]string, 0, len(s.DroppedBy))
	for r, n := range s.DroppedBy {
		if n > 0 {
			reasons = append(reasons, r)
		}
	}
	slices.SortFunc(reasons, func(a, b string) int {
		if d := s.DroppedBy[b] - s.DroppedBy[a]; d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		w := dropWords[r]
		if w == "" {
			w = r
		}
		parts[i] = fmt.Sprintf("%d %s", s.DroppedBy[r], w)
	}
	return strings.Join(parts, ", ")
}

// counters are a Publisher's atomic counters; the drop counts by reason
// live under the Publisher's lock.
type counters struct {
	offered, recovered, published, republished, confirmed, nacked, returned, dropped, reconnects, kept atomic.Int64
	inFlight                                                                                           atomic.Int64
	connected, blocked                                                                                 atomic.Bool
	maxSize                                                                                            atomic.Int64
}

// Stats returns a snapshot of the counters. Safe to call at any time, also
// after Close.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	s := Stats{
		OutboxDepth: p.box.len(),
		LastError:   p.lastErr,
		Node:        p.node,
		DroppedBy:   make(map[string]int64, len(p.droppedBy)),
		Dropped:     p.c.dropped.Load(),
	}
	for k, v := range p.droppedBy {
		s.DroppedBy[k] = v
	}
	p.mu.Unlock()
	s.Offered = p.c.offered.Load()
	s.Recovered = p.c.recovered.Load()
	s.Published = p.c.published.Load()
	s.Republished = p.c.republished.Load()
	s.Confirmed = p.c.confirmed.Load()
	s.Nacked = p.c.nacked.Load()
	s.Returned = p.c.returned.Load()
	s.Reconnects = p.c.reconnects.Load()
	s.Kept = p.c.kept.Load()
	s.InFlight = int(p.c.inFlight.Load())
	s.Connected = p.c.connected.Load()
	s.Blocked = p.c.blocked.Load()
	return s
}
