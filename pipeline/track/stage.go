//go:build cgo

package track

import (
	"context"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// This file is the tracker's face towards the line. It touches Frames, which
// carry OpenCV Mats, so it needs cgo; the tracker itself (track.go) does
// not, and builds and tests with CGO_ENABLED=0.

var (
	_ pipeline.Processor   = (*Tracker)(nil)
	_ pipeline.SourceEnder = (*Tracker)(nil)
)

// Process tracks the objects of f (Update): it sets f.Objects[i].TrackID,
// adds the objects held through a missed detection (Options.BlurHold) to
// f.Objects, and appends the frame's TrackAppeared and TrackLeft events to
// f.Events.
//
// A frame that is a still picture of an image folder (the camera package
// puts its file in f.User["path"]) is a scene of its own: the tracks of the
// picture before it end (their TrackLeft events go on this frame) and
// nothing is held over from another picture.
func (t *Tracker) Process(_ context.Context, f *pipeline.Frame) error {
	if p, ok := f.User["path"].(string); ok && p != "" {
		f.Events = append(f.Events, t.Forget(f.SourceID)...)
	}
	var err error
	f.Objects, f.Events, err = t.Update(f.SourceID, f.Number, f.Objects, f.Events)
	return err
}

// EndSource frees the state of a source that ended: the line calls it after
// the source's last frame has passed the tracker (the tracker must be a
// stage of one worker). Its confirmed tracks end with it: their TrackLeft
// events go on end.Events, which the reporting sinks write as the source's
// last message. Memory stays flat however many sources come and go.
func (t *Tracker) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	end.Events = append(end.Events, t.Forget(end.SourceID)...)
	return nil
}
