package pipeline

import (
	"context"
	"errors"
	"time"
)

// ErrEndOfStream is returned by Source.Read when the source has no more
// frames: the end of a file, or the last image of a folder. It is the normal
// way for a line to finish.
var ErrEndOfStream = errors.New("end of stream")

// ErrSkipFrame is returned (possibly wrapped) by a Processor or Sink that could
// not handle one frame but can go on with the next: the frame is counted as
// dropped by that stage and released; the line carries on. Any other error is
// fatal and stops the line.
var ErrSkipFrame = errors.New("frame skipped")

// Source produces frames.
//
// Read blocks until the next frame is available and returns it; the caller
// owns the frame. It returns ErrEndOfStream when there are no more frames.
// Read should return promptly with ctx.Err() when ctx is cancelled; a source
// that wraps a blocking C call that cannot see ctx must bound the call with a
// timeout of its own. Read is called from one goroutine only.
//
// Close releases the device or file. The line calls it once, after the last
// Read has returned.
type Source interface {
	Read(ctx context.Context) (*Frame, error)
	Info() SourceInfo
	Close() error
}

// SourceInfo describes a source for links, progress bars and reports.
type SourceInfo struct {
	// Name is how the user named the source (its URI).
	Name string
	// Live is true for cameras and network streams: frames arrive at the
	// device's pace whether or not the line keeps up, so the default link
	// policy drops the oldest frame instead of blocking.
	Live bool
	// FPS is the nominal frame rate, 0 when unknown.
	FPS float64
	// Width and Height are the frame size, 0 when unknown before the first
	// frame.
	Width, Height int
	// Frames is the number of frames a file holds, -1 when unknown or live.
	Frames int
}

// Processor is one step of work on a frame: preprocess, infer, decode,
// track, blur. Process changes the frame in place.
//
// Process is called from one goroutine per Processor value: a stage with N
// workers is given N Processors, so per-worker state (an OpenCV Net, a
// TensorRT execution context) needs no lock. Returning an error wrapping
// ErrSkipFrame drops this frame only; any other error stops the line.
//
// Close releases the processor's resources; the line calls it once, after
// the last Process has returned.
type Processor interface {
	Process(ctx context.Context, f *Frame) error
	Close() error
}

// Sink receives finished frames: a video file, JSON lines, a window,
// RabbitMQ.
//
// Write must not keep f, its Mats or its slices after it returns: copy what
// you need. Write is called from one goroutine. A sink that cannot keep up
// must decide itself whether to block or to drop and count (mq drops and
// counts; a video file blocks).
//
// Close finalizes the output (writes the file trailer, waits for
// confirmations) and is called once by the line after the last Write, on
// every kind of stop, so that outputs are always complete.
type Sink interface {
	Write(ctx context.Context, f *Frame) error
	Close() error
}

// ProcessorFunc adapts a function to a Processor with nothing to close.
type ProcessorFunc func(ctx context.Context, f *Frame) error

// Process calls fn.
func (fn ProcessorFunc) Process(ctx context.Context, f *Frame) error { return fn(ctx, f) }

// Close does nothing.
func (fn ProcessorFunc) Close() error { return nil }

// SinkFunc adapts a function to a Sink with nothing to finalize.
type SinkFunc func(ctx context.Context, f *Frame) error

// Write calls fn.
func (fn SinkFunc) Write(ctx context.Context, f *Frame) error { return fn(ctx, f) }

// Close does nothing.
func (fn SinkFunc) Close() error { return nil }

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

// Pad names one side of a stage, where a probe attaches: In sees each frame
// before the stage works on it, Out after.
type Pad int

// The two sides of a stage.
const (
	In Pad = iota
	Out
)

// ProbeFunc is user code called on every frame that crosses a stage
// boundary, DeepStream's pad probe without GStreamer. It may read and change
// the frame and its objects. Returning false drops the frame (counted as a
// probe drop by that stage). It runs on the stage's goroutine, so it should
// be quick; it must not keep f after it returns.
type ProbeFunc func(f *Frame) (keep bool)

// clock is replaced in tests that need deterministic time; production uses
// time.Now.
var clock = time.Now
