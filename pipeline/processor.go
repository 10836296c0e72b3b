package pipeline

import "context"

// Processor is one step of work on a frame: preprocess, infer, decode,
// track, blur. Process changes the frame in place.
//
// Process is called from one goroutine per Processor value: a stage with N
// workers is given N Processors, so per-worker state (an OpenCV Net, a
// TensorRT execution context) needs no lock. Returning an error wrapping
// ErrSkipFrame drops this frame only; one wrapping ErrBadSource drops it
// and ends its source alone (the frame shows that the stage cannot handle
// that source: a picture too small for the model); any other error means
// the stage is broken and stops the line.
//
// Close releases the processor's resources; the line calls it once, after
// the last Process has returned.
type Processor interface {
	Process(ctx context.Context, f *Frame) error
	Close() error
}

// ProcessorFunc adapts a function to a Processor with nothing to close.
type ProcessorFunc func(ctx context.Context, f *Frame) error

// Process calls fn.
func (fn ProcessorFunc) Process(ctx context.Context, f *Frame) error { return fn(ctx, f) }

// Close does nothing.
func (fn ProcessorFunc) Close() error { return nil }

// NewWorkers makes the n workers of a stage with newWorker. On an error it
// closes the workers already made and returns the error: the caller owns
// the workers only when it gets them all.
func NewWorkers(n int, newWorker func() (Processor, error)) ([]Processor, error) {
	ws := make([]Processor, 0, n)
	for range n {
		w, err := newWorker()
		if err != nil {
			for _, w := range ws {
				_ = w.Close()
			}
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}
