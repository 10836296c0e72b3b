package mq

import (
	"context"
	"sync"
)

// Deduper remembers the ids of the last messages handled, so that a message
// delivered again (at-least-once: a republication after a lost confirm, a
// redelivery after a lost ack) is recognised by its message id and handled
// once. It sees only what its own consumer receives: two consumers of one
// queue may each handle a copy (docs/SCALING.md: idempotent consumers).
// Safe for concurrent use.
type Deduper struct {
	mu    sync.Mutex
	seen  map[string]struct{}
	ring  []string
	next  int
	dups  int64
	redel int64
}

// NewDeduper remembers the last n message ids (n > 0).
func NewDeduper(n int) *Deduper {
	return &Deduper{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Wrap returns a Handler that calls h for a message not seen before and
// only acknowledges one seen (counted in Duplicates). An id is remembered
// once h has succeeded: a message h failed on is handled when it comes back.
// Messages without an id always go to h.
func (d *Deduper) Wrap(h Handler) Handler {
	return func(ctx context.Context, m Delivery) error {
		d.mu.Lock()
		if m.Redelivered {
			d.redel++
		}
		_, dup := d.seen[m.MessageID]
		if dup && m.MessageID != "" {
			d.dups++
			d.mu.Unlock()
			return nil
		}
		d.mu.Unlock()
		if err := h(ctx, m); err != nil {
			return err
		}
		if m.MessageID == "" {
			return nil
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, ok := d.seen[m.MessageID]; ok {
			return nil
		}
		if old := d.ring[d.next]; old != "" {
			delete(d.seen, old)
		}
		d.ring[d.next] = m.MessageID
		d.seen[m.MessageID] = struct{}{}
		d.next = (d.next + 1) % len(d.ring)
		return nil
	}
}

// Duplicates is the number of messages skipped because their id had been
// handled; Redelivered the number marked redelivered by the broker.
func (d *Deduper) Duplicates() (duplicates, redelivered int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dups, d.redel
}
