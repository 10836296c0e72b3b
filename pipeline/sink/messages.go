package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Filter says which frames become messages. Whatever it says, every source
// ends with its end message.
type Filter int

const (
	// AllFrames makes a message of every frame, with or without objects.
	AllFrames Filter = iota
	// WithObjects makes a message of frames that have objects or tracker
	// events: a frame with no object left but a TrackLeft event is kept,
	// or that event would be lost.
	WithObjects
	// TrackChanges makes a message only of frames with tracker events
	// (appeared, left): a message when someone comes or goes.
	TrackChanges
)

var filterNames = [...]string{AllFrames: "all", WithObjects: "objects", TrackChanges: "track-changes"}

// String returns the filter's name: all, objects or track-changes.
func (f Filter) String() string {
	if f < 0 || int(f) >= len(filterNames) {
		return fmt.Sprintf("Filter(%d)", int(f))
	}
	return filterNames[f]
}

// MarshalText writes the filter's name.
func (f Filter) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads all, objects or track-changes.
func (f *Filter) UnmarshalText(b []byte) error {
	for i, n := range filterNames {
		if string(b) == n {
			*f = Filter(i)
			return nil
		}
	}
	return fmt.Errorf("%q: want all, objects or track-changes", b)
}

// keeps says whether a frame with these objects and events becomes a
// message.
func (f Filter) keeps(objects, events int) bool {
	switch f {
	case WithObjects:
		return objects > 0 || events > 0
	case TrackChanges:
		return events > 0
	}
	return true
}

// MessageWriter is where a Messages sink sends what it makes: a JSON-lines
// file (JSONL), RabbitMQ (mq.Publisher).
//
// WriteMessage gets the message and its JSON encoding (no newline); body is
// new for every call and the writer may keep it. It is called from one
// goroutine. Close finalizes the output, once, after the last WriteMessage.
type MessageWriter interface {
	WriteMessage(ctx context.Context, m *meta.Message, body []byte) error
	Close() error
}

// Messages is the sink that turns frames into messages (meta.Message, the
// schema in docs/MESSAGES.md): one per frame that its Filter keeps, and one
// when a source ends (pipeline.NewEndMessage: how it ended and the tracks
// that left with it), whatever the Filter. It encodes each message once and
// hands it to its MessageWriter, which it owns: Close closes it.
type Messages struct {
	w      MessageWriter
	filter Filter
	now    func() time.Time

	frames, ends, skipped atomic.Int64
	err                   atomic.Pointer[error] // the first write or close error
}

// NewMessages makes a sink that writes the frames filter keeps to w.
func NewMessages(w MessageWriter, filter Filter) *Messages {
	return &Messages{w: w, filter: filter, now: time.Now}
}

var _ pipeline.SourceEnder = (*Messages)(nil)

// Write makes f's message, if the filter keeps f, and writes it.
func (s *Messages) Write(ctx context.Context, f *pipeline.Frame) error {
	if !s.filter.keeps(len(f.Objects), len(f.Events)) {
		s.skipped.Add(1)
		return nil
	}
	m := pipeline.NewMessage(f, s.now())
	if err := s.write(ctx, &m); err != nil {
		return err
	}
	s.frames.Add(1)
	return nil
}

// EndSource writes the source's end message, whatever the filter: the last
// message of every source says how it ended.
func (s *Messages) EndSource(ctx context.Context, end *pipeline.SourceEnd) error {
	m := pipeline.NewEndMessage(end, s.now())
	if err := s.write(ctx, &m); err != nil {
		return err
	}
	s.ends.Add(1)
	return nil
}

func (s *Messages) write(ctx context.Context, m *meta.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message of frame %d: %w: %w", m.Frame, err, pipeline.ErrSkipFrame)
	}
	err = s.w.WriteMessage(ctx, m, body)
	s.fail(err)
	return err
}

// fail keeps the first error.
func (s *Messages) fail(err error) {
	if err != nil {
		s.err.CompareAndSwap(nil, &err)
	}
}

// Err returns the first error writing or closing the output met, nil if
// none: a summary says "wrote" only for an output without one. Safe from
// any goroutine.
func (s *Messages) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// MessageCounts counts what a Messages sink made.
type MessageCounts struct {
	// Frames counts frame messages written, Ends end-of-source messages,
	// Skipped frames the filter left out.
	Frames, Ends, Skipped int64
}

// Counts returns the counts so far; safe from any goroutine.
func (s *Messages) Counts() MessageCounts {
	return MessageCounts{Frames: s.frames.Load(), Ends: s.ends.Load(), Skipped: s.skipped.Load()}
}

// Close closes the writer, which finalizes its output.
func (s *Messages) Close() error {
	err := s.w.Close()
	s.fail(err)
	return err
}
