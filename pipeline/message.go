package pipeline

import (
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// NewMessage describes f as a message. Objects is never nil, so the JSON
// always has an array. The message shares f's Objects slice: marshal it
// before the frame is released.
func NewMessage(f *Frame, now time.Time) meta.Message {
	objs := f.Objects
	if objs == nil {
		objs = []meta.Object{}
	}
	m := meta.Message{
		Schema:    meta.Schema,
		Source:    meta.RedactURI(f.SourceName), // the line has redacted it; a frame made elsewhere may not be
		SourceID:  f.SourceID,
		Frame:     f.Number,
		PTSMillis: float64(f.PTS) / float64(time.Millisecond),
		Captured:  f.Captured.UTC(),
		Emitted:   now.UTC(),
		Objects:   objs,
		Events:    f.Events,
	}
	if f.Image.Ptr() != nil {
		m.Width, m.Height = f.Image.Cols(), f.Image.Rows()
	}
	return m
}

// NewEndMessage describes a source that ended, as its last message: Frame is
// the number its next frame would have had, Captured when it stopped, no
// picture and no objects; Events are the meta.TrackLeft events of the tracks it
// still had (when a tracker runs). The message shares end's Events slice.
func NewEndMessage(end *SourceEnd, now time.Time) meta.Message {
	return meta.Message{
		Schema:   meta.Schema,
		Source:   meta.RedactURI(end.SourceName),
		SourceID: end.SourceID,
		Frame:    end.NextFrame,
		Captured: end.Ended.UTC(),
		Emitted:  now.UTC(),
		Objects:  []meta.Object{},
		Events:   end.Events,
		End:      &meta.End{State: end.State, Err: end.Err},
	}
}
