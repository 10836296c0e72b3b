package pipeline

import "context"

// Limit wraps src so that it ends (ErrEndOfStream) after n frames.
func Limit(src Source, n int64) Source { return &limited{Source: src, left: n} }

type limited struct {
	Source
	left int64
}

func (l *limited) Read(ctx context.Context) (*Frame, error) {
	if l.left <= 0 {
		return nil, ErrEndOfStream
	}
	f, err := l.Source.Read(ctx)
	if err == nil {
		l.left--
	}
	return f, err
}

// Warner is a Source that reports problems it worked around without
// failing (a truncated file, an unreadable image in a folder): conveyor run
// prints them in its summary. Warnings is safe after the source has ended.
type Warner interface {
	Warnings() []string
}

// Warnings passes on the wrapped source's warnings, if it has any.
func (l *limited) Warnings() []string {
	if w, ok := l.Source.(Warner); ok {
		return w.Warnings()
	}
	return nil
}

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
