package pipeline

import "context"

// link is a bounded queue of frames between two stages, with a policy for a
// full queue. The sender closes it; the receiver ranges over it.
type link struct {
	ch     chan *Frame
	policy Policy
	// dropped is counted on the receiving stage's metrics.
	dropped func()
}

func newLink(capacity int, policy Policy, dropped func()) *link {
	if capacity < 1 {
		capacity = 1
	}
	return &link{ch: make(chan *Frame, capacity), policy: policy, dropped: dropped}
}

// send hands f to the next stage. Under Block it waits for room; under
// DropOldest it makes room by releasing the oldest queued frame, and waits
// only when that oldest item is an end-of-source marker, which is never
// dropped. It returns ctx.Err() (and releases f) if ctx ends first.
func (l *link) send(ctx context.Context, f *Frame) error {
	if l.policy == DropOldest {
	dropping:
		for {
			select {
			case l.ch <- f:
				return nil
			default:
			}
			select {
			case old := <-l.ch:
				if !old.endOfSource {
					old.Release()
					l.dropped()
					continue
				}
				// A marker must arrive (a SourceEnder relies on it), so put
				// it back, at the tail, and wait for room for f like Block.
				// Per-source order still holds: a source sends nothing after
				// its marker, so everything it now goes behind (and f) comes
				// from other sources.
				select {
				case l.ch <- old:
				case <-ctx.Done():
					old.Release()
					f.Release()
					return ctx.Err()
				}
				break dropping
			default:
			}
		}
	}
	select {
	case l.ch <- f:
		return nil
	case <-ctx.Done():
		f.Release()
		return ctx.Err()
	}
}

// recv waits for the next frame. ok is false when the sender has closed the
// link and it is empty, or when ctx ends.
func (l *link) recv(ctx context.Context) (f *Frame, ok bool) {
	select {
	case f, ok = <-l.ch:
		return f, ok
	case <-ctx.Done():
		return nil, false
	}
}

// drain releases whatever is left in a closed link.
func (l *link) drain() {
	for f := range l.ch {
		f.Release()
	}
}
