package pipeline

import (
	"time"

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
	Input Tensor
	// Outputs are the raw network outputs, set by the inference stage and
	// read by the decoder.
	Outputs []Tensor
	// Geometry maps network-input coordinates back to Image coordinates.
	Geometry Geometry

	// Objects are the detections in Image coordinates, set by the decoder and
	// refined by later stages (tracker, depth).
	Objects []Object
	// Events are what happened to tracked objects on this frame (appeared,
	// left); empty without a tracker.
	Events []TrackEvent

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

// Object is one detected thing in a frame: DeepStream's NvDsObjectMeta.
type Object struct {
	Box       Rect    `json:"box"`
	Score     float32 `json:"score"`
	Label     string  `json:"label"`
	ClassID   int     `json:"class_id"`
	Landmarks []Point `json:"landmarks,omitempty"`
	// TrackID is a stable id given by the tracker; 0 means untracked.
	TrackID int64 `json:"track_id,omitempty"`
	// Distance is the distance from the camera in metres, from depth; 0 means
	// unknown (no depth, or no valid depth pixel inside the box).
	Distance float32 `json:"distance_m,omitempty"`
	// User is free for user code.
	User map[string]any `json:"user,omitempty"`
}

// Rect is an axis-aligned box in pixels: top-left corner, width and height.
type Rect struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	W float32 `json:"w"`
	H float32 `json:"h"`
}

// Point is a position in pixels.
type Point struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
}

// TrackEventKind says what happened to a tracked object.
type TrackEventKind string

// The tracker's events.
const (
	TrackAppeared TrackEventKind = "appeared"
	TrackLeft     TrackEventKind = "left"
)

// TrackEvent is a change in the set of tracked objects of one source.
type TrackEvent struct {
	Kind    TrackEventKind `json:"kind"`
	TrackID int64          `json:"track_id"`
	Label   string         `json:"label"`
	// Frames is how many frames the object was seen, for TrackLeft.
	Frames int `json:"frames,omitempty"`
}

// Tensor is a dense float32 array, row-major, with its shape (NCHW for images).
// Data may point into C memory owned by a Mat or an engine; it is valid until
// the owner is closed or the next call that reuses it.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Geometry describes how a frame was turned into a network input, so that
// decoders can map boxes back: frame = (input - Pad) / Scale.
type Geometry struct {
	// FrameW, FrameH are the size of Frame.Image.
	FrameW, FrameH int
	// InputW, InputH are the size of the network input, padding included.
	InputW, InputH int
	// ScaleX, ScaleY are input pixels per frame pixel.
	ScaleX, ScaleY float32
	// PadX, PadY are the offsets of the picture inside the input (letterbox).
	PadX, PadY float32
}

// ToFrame maps a point from network-input coordinates to frame coordinates.
func (g Geometry) ToFrame(x, y float32) (float32, float32) {
	sx, sy := g.ScaleX, g.ScaleY
	if sx == 0 {
		sx = 1
	}
	if sy == 0 {
		sy = 1
	}
	return (x - g.PadX) / sx, (y - g.PadY) / sy
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
