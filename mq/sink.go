package mq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// DefaultRoutingKey is the routing-key template when SinkOptions.RoutingKey
// is empty.
const DefaultRoutingKey = "faces.{source}"

// SchemaHeader is the AMQP header that carries pipeline.EventSchema.
const SchemaHeader = "schema"

// SinkOptions say which frames become messages and where they go.
type SinkOptions struct {
	// RoutingKey is a template: {source} becomes the sanitised source name
	// (SanitizeKey), {source_id} the source's index. "" means
	// DefaultRoutingKey.
	RoutingKey string
	// PerEvent publishes only frames that carry tracker events (appeared,
	// left) instead of every frame with objects.
	PerEvent bool
	// IncludeEmpty publishes frames with no objects too (per-frame mode only).
	IncludeEmpty bool
	// Now stamps FrameEvent.Emitted; nil means time.Now.
	Now func() time.Time
}

// Sink is a pipeline.Sink that publishes one FrameEvent message
// (docs/MESSAGES.md) per frame, or per frame with tracker events, and one
// when a source ends (pipeline.NewEndEvent), in every mode: how the source
// ended, and the TrackLeft events of the tracks it still had.
//
// Write never waits for the network: a slow or absent broker costs messages,
// counted in Stats().Dropped, not frames. The sink owns its Publisher: Close
// closes it.
type Sink struct {
	pub     *Publisher
	opts    SinkOptions
	skipped atomic.Int64
}

// NewSink makes a sink that publishes through pub, which it takes over.
func NewSink(pub *Publisher, opts SinkOptions) (*Sink, error) {
	if pub == nil {
		return nil, errors.New("mq: new sink: nil publisher")
	}
	if opts.RoutingKey == "" {
		opts.RoutingKey = DefaultRoutingKey
	}
	if err := checkTemplate(opts.RoutingKey); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sink{pub: pub, opts: opts}, nil
}

func checkTemplate(t string) error {
	rest := strings.NewReplacer("{source}", "", "{source_id}", "").Replace(t)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("mq: routing key %q: only {source} and {source_id} may be used", t)
	}
	if len(t) > 255 {
		return fmt.Errorf("mq: routing key %q is longer than 255 bytes", t)
	}
	return nil
}

var _ pipeline.SourceEnder = (*Sink)(nil)

// Write publishes f's event, unless the options skip it. It returns an error
// only when the sink was closed, or wrapping pipeline.ErrSkipFrame when the
// event cannot be encoded.
func (s *Sink) Write(_ context.Context, f *pipeline.Frame) error {
	if s.opts.PerEvent {
		if len(f.Events) == 0 {
			s.skipped.Add(1)
			return nil
		}
	} else if len(f.Objects) == 0 && len(f.Events) == 0 && !s.opts.IncludeEmpty {
		// A frame with no object but an event (the last face left) is
		// published: its event would be lost otherwise.
		s.skipped.Add(1)
		return nil
	}
	if err := s.publish(pipeline.NewFrameEvent(f, s.opts.Now())); err != nil {
		return fmt.Errorf("mq: write frame %d of %q: %w", f.Number, f.SourceName, err)
	}
	return nil
}

// EndSource publishes the source's end event, whatever the options.
func (s *Sink) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	if err := s.publish(pipeline.NewEndEvent(end, s.opts.Now())); err != nil {
		return fmt.Errorf("mq: end of %q: %w", end.SourceName, err)
	}
	return nil
}

func (s *Sink) publish(ev pipeline.FrameEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode: %w: %w", err, pipeline.ErrSkipFrame)
	}
	return s.pub.Publish(Message{
		RoutingKey: RoutingKey(s.opts.RoutingKey, ev.Source, ev.SourceID),
		Body:       body,
		Timestamp:  ev.Emitted,
		Headers:    map[string]any{SchemaHeader: pipeline.EventSchema},
	})
}

// Skipped counts frames the options left out (no objects, or no events).
func (s *Sink) Skipped() int64 { return s.skipped.Load() }

// Stats returns the publisher's counters.
func (s *Sink) Stats() Stats { return s.pub.Stats() }

// Close closes the publisher: it waits (bounded) for outstanding confirms;
// see Publisher.Close.
func (s *Sink) Close() error { return s.pub.Close() }

// RoutingKey fills a routing-key template for one source.
func RoutingKey(template, source string, sourceID int) string {
	return strings.NewReplacer("{source}", SanitizeKey(source), "{source_id}", strconv.Itoa(sourceID)).Replace(template)
}

// SanitizeKey turns a source name into one routing-key word: every run of
// characters other than ASCII letters, digits, '-' and '_' becomes one '_'
// (so '.', '*' and '#' never reach a topic key), at most 100 bytes, and
// "unnamed" for an empty result. "rtsp://10.0.0.5/live" → "rtsp_10_0_0_5_live".
func SanitizeKey(name string) string {
	var b strings.Builder
	under := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if ok {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > 100 {
		out = out[len(out)-100:]
	}
	if out == "" {
		out = "unnamed"
	}
	return out
}
