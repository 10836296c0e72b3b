package pipeline

import "context"

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

// SinkFunc adapts a function to a Sink with nothing to finalize.
type SinkFunc func(ctx context.Context, f *Frame) error

// Write calls fn.
func (fn SinkFunc) Write(ctx context.Context, f *Frame) error { return fn(ctx, f) }

// Close does nothing.
func (fn SinkFunc) Close() error { return nil }

// sinkWriter is the last stage: it writes each frame to every sink.
type sinkWriter struct {
	sinks   []Sink
	latency *latencyRecorder
}

func (w sinkWriter) Process(ctx context.Context, f *Frame) error {
	for _, s := range w.sinks {
		if err := s.Write(ctx, f); err != nil {
			return err
		}
	}
	w.latency.Record(f.Latency(clock()))
	return nil
}

// EndSource tells every sink that is a SourceEnder, in sink order.
func (w sinkWriter) EndSource(ctx context.Context, end *SourceEnd) error {
	for _, s := range w.sinks {
		if e, ok := s.(SourceEnder); ok {
			if err := e.EndSource(ctx, end); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sinkWriter) Close() error { return nil }
