package pipeline

import (
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"gocv.io/x/gocv"
)

// Frame is one picture travelling down the line with everything the stages
// learn about it: DeepStream's frame metadata and its object metadata in one
// Go value.
//
// A Frame owns its Mats. Sending it on to the next stage hands it over;
// whoever finishes with it or drops it calls Release, exactly once. The line
// does this for you: stages and sinks never Release the frames they are given.
type Frame struct {
	// SourceID is the source's id in the line, as Line.Attach returned it
	// (0 for the first --source; ids are never reused), SourceName its name
	// as the user gave it.
	SourceID   int
	SourceName string
	// Number counts frames from 0 within one source, in the order they were
	// read. A live source that drops frames still numbers them consecutively
	// as read; drops happen after numbering and are counted by the link.
	// After a live source reconnects it skips the numbers of the frames it
	// missed during the outage (camera package), so that stages that measure
	// time in frames (the tracker) see the outage.
	Number int64
	// PTS is the presentation timestamp from the stream (zero when the source
	// has none, e.g. an image folder).
	PTS time.Duration
	// Captured is the wall-clock time at which the frame was read from the
	// device or file; latency is measured from here.
	Captured time.Time

	// Image is the picture in BGR8. Stages may draw on it in place.
	Image gocv.Mat
	// Depth is an optional depth map aligned to Image (CV_16UC1, Z16). It is
	// empty (Depth.Empty()) when the source has no depth.
	Depth gocv.Mat
	// DepthScale converts a Depth value to metres (0.001 for RealSense D4xx).
	DepthScale float32

	// Input is the preprocessed network input, set by the preprocess stage.
	Input meta.Tensor
	// Outputs are the raw network outputs, set by the inference stage and
	// read by the decoder.
	Outputs []meta.Tensor
	// Geometry maps network-input coordinates back to Image coordinates.
	Geometry meta.Geometry

	// Objects are the detections in Image coordinates, set by the decoder and
	// refined by later stages (tracker, depth).
	Objects []meta.Object
	// Events are what happened to tracked objects on this frame (appeared,
	// left); empty without a tracker.
	Events []meta.TrackEvent

	// User is free for user code (probes, custom stages). The line never
	// touches it.
	User map[string]any

	// closers are extra resources that live as long as the frame (a stage's
	// per-frame Mat), released with it.
	closers []func()
	// seq orders frames inside one stage with several workers.
	seq uint64
	// released guards against a double Release.
	released bool
	// endOfSource marks the line's end-of-source marker: no picture, only
	// SourceID and SourceName, sent after that source's last frame, with
	// end describing how the source ended. Stages pass it on; it never
	// reaches Process, Write, probes or metrics.
	endOfSource bool
	end         *SourceEnd
}

// OnRelease registers fn to run when the frame is released: use it for a
// per-frame resource a stage creates (a Mat, a pooled buffer).
func (f *Frame) OnRelease(fn func()) { f.closers = append(f.closers, fn) }

// Release frees the frame's Mats and everything registered with OnRelease.
// It is safe to call on a nil frame; a second call does nothing.
func (f *Frame) Release() {
	if f == nil || f.released {
		return
	}
	f.released = true
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
	f.closers = nil
	if f.Image.Ptr() != nil {
		f.Image.Close()
	}
	if f.Depth.Ptr() != nil {
		f.Depth.Close()
	}
}

// Latency is the time since the frame was captured.
func (f *Frame) Latency(now time.Time) time.Duration {
	if f.Captured.IsZero() {
		return 0
	}
	return now.Sub(f.Captured)
}
