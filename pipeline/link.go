package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// DefaultQueue is how many frames a link holds when LinkOptions.Queue is 0.
// Keep it small: a deep queue only adds latency, it never adds throughput.
const DefaultQueue = 2

// LinkOptions configure the link in front of a stage (or after a source).
type LinkOptions struct {
	// Policy for a full queue; Auto means DropOldest after a live source and
	// Block everywhere else.
	Policy Policy `yaml:"policy" usage:"when a stage is busy: auto (drop-oldest after live sources, block for files), block or drop-oldest"`
	// Queue is the link's capacity in frames; 0 means DefaultQueue.
	Queue int `yaml:"queue" usage:"frames each link holds (0 = 2)"`
}

// Validate checks the options, naming each by its option key.
func (o LinkOptions) Validate() error {
	var errs []error
	if o.Policy < Auto || o.Policy > DropOldest {
		errs = append(errs, fmt.Errorf("policy: %v: want auto, block or drop-oldest", o.Policy))
	}
	if o.Queue < 0 || o.Queue > 1024 {
		errs = append(errs, fmt.Errorf("queue: %d is out of range: want 0 to 1024", o.Queue))
	}
	return errors.Join(errs...)
}

// Policy says what a link does when the stage after it is busy and its queue
// is full.
type Policy int

const (
	// Auto is the zero value: DropOldest after a live source, Block
	// everywhere else.
	Auto Policy = iota
	// Block makes the sender wait: every frame comes out. Right for files.
	Block
	// DropOldest throws away the oldest queued frame to make room, and counts
	// it: latency stays low and the newest picture wins. Right for live
	// cameras.
	DropOldest
)

func (p Policy) String() string {
	switch p {
	case Auto:
		return "auto"
	case Block:
		return "block"
	case DropOldest:
		return "drop-oldest"
	}
	return "unknown"
}

// MarshalText writes the policy's name.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy as ParsePolicy does.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePolicy reads "auto", "block" or "drop-oldest".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "auto", "":
		return Auto, nil
	case "block":
		return Block, nil
	case "drop-oldest", "drop":
		return DropOldest, nil
	}
	return Auto, errors.New(`policy must be "auto", "block" or "drop-oldest", not "` + s + `"`)
}

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
