package pipeline

import "time"

// EventSchema names the version of FrameEvent's JSON. Change it when a field
// changes meaning or goes away; adding an optional field keeps it.
const EventSchema = "conveyor.frame/v1"

// FrameEvent is what conveyor says about one frame, as JSON: one line of
// --events, one RabbitMQ message body. docs/MESSAGES.md documents it and
// docs/message.schema.json checks it.
type FrameEvent struct {
	Schema string `json:"schema"`
	// Source is the source's name (its URI as given), SourceID its index.
	Source   string `json:"source"`
	SourceID int    `json:"source_id"`
	Frame    int64  `json:"frame"`
	// PTSMillis is the stream's presentation timestamp in milliseconds.
	PTSMillis float64 `json:"pts_ms"`
	// Captured is when the frame was read (RFC 3339, nanoseconds, UTC).
	Captured time.Time `json:"captured"`
	// Emitted is when the event was made, at the end of the line.
	Emitted time.Time    `json:"emitted"`
	Width   int          `json:"width"`
	Height  int          `json:"height"`
	Objects []Object     `json:"objects"`
	Events  []TrackEvent `json:"events,omitempty"`
	// End is set only on a source's last message, made when the source
	// ended (NewEndEvent).
	End *EventEnd `json:"end,omitempty"`
}

// EventEnd says how a source ended: State is "ended" (end of stream),
// "stopped" (removed, or the run stopped) or "failed", with Err.
type EventEnd struct {
	State SourceState `json:"state"`
	Err   string      `json:"error,omitempty"`
}

// NewFrameEvent describes f. Objects is never nil, so the JSON always has an
// array. The event shares f's Objects slice: marshal it before the frame is
// released.
func NewFrameEvent(f *Frame, now time.Time) FrameEvent {
	objs := f.Objects
	if objs == nil {
		objs = []Object{}
	}
	ev := FrameEvent{
		Schema:    EventSchema,
		Source:    f.SourceName,
		SourceID:  f.SourceID,
		Frame:     f.Number,
		PTSMillis: float64(f.PTS) / float64(time.Millisecond),
		Captured:  f.Captured.UTC(),
		Emitted:   now.UTC(),
		Objects:   objs,
		Events:    f.Events,
	}
	if f.Image.Ptr() != nil {
		ev.Width, ev.Height = f.Image.Cols(), f.Image.Rows()
	}
	return ev
}

// NewEndEvent describes a source that ended, as its last message: Frame is
// the number its next frame would have had, Captured when it stopped, no
// picture and no objects; Events are the TrackLeft events of the tracks it
// still had (when a tracker runs). The event shares end's Events slice.
func NewEndEvent(end *SourceEnd, now time.Time) FrameEvent {
	return FrameEvent{
		Schema:   EventSchema,
		Source:   end.SourceName,
		SourceID: end.SourceID,
		Frame:    end.NextFrame,
		Captured: end.Ended.UTC(),
		Emitted:  now.UTC(),
		Objects:  []Object{},
		Events:   end.Events,
		End:      &EventEnd{State: end.State, Err: end.Err},
	}
}
