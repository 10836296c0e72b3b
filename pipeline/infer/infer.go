package infer

import (
	"context"
	"fmt"
	"sync"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Infer is the stage that runs an Engine on Frame.Input and puts the
// outputs in Frame.Outputs. The engine's buffers are reused on its next
// call, and the decode stage runs later (while the engine already works on
// the next frame), so Infer copies the outputs into a pooled buffer that
// the frame gives back when it is released.
//
// Infer owns its engine: Close closes it.
type Infer struct {
	engine Engine
	pool   *sync.Pool
	closed bool
}

var _ pipeline.Processor = (*Infer)(nil)

// outBuf is one frame's copy of the outputs.
type outBuf struct {
	data    []float32
	shapes  []int
	tensors []meta.Tensor
}

// NewInfer makes an inference stage over e, which it takes over.
func NewInfer(e Engine) *Infer {
	return &Infer{engine: e, pool: &sync.Pool{New: func() any { return new(outBuf) }}}
}

// Engine is the engine this stage runs.
func (s *Infer) Engine() Engine { return s.engine }

// Process runs the engine and sets f.Outputs.
func (s *Infer) Process(ctx context.Context, f *pipeline.Frame) error {
	if s.closed {
		return ErrClosed
	}
	if f.Input.Data == nil {
		return fmt.Errorf("infer: frame %d has no input: put the preprocess stage first", f.Number)
	}
	outs, err := s.engine.Infer(ctx, f.Input)
	if err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	s.keep(f, outs)
	return nil
}

// keepBatch gives each frame of a batch its slice of the batch's outputs
// (dimension 0 is the batch), copied as keep does. An output without the
// batch in dimension 0 is an error.
func (s *Infer) keepBatch(fs []*pipeline.Frame, outs []meta.Tensor) error {
	for _, t := range outs {
		if len(t.Shape) == 0 || t.Shape[0] != len(fs) || len(t.Data)%len(fs) != 0 {
			return fmt.Errorf("output %s has shape %v for a batch of %d: the model has no batch dimension on its outputs", t.Name, t.Shape, len(fs))
		}
	}
	views := make([]meta.Tensor, len(outs))
	for i, f := range fs {
		for j, t := range outs {
			n := len(t.Data) / len(fs)
			views[j] = meta.Tensor{Name: t.Name, Shape: append([]int{1}, t.Shape[1:]...), Data: t.Data[i*n : (i+1)*n]}
		}
		s.keep(f, views)
	}
	return nil
}

// keep copies outs into a pooled buffer that f owns until it is released,
// and sets f.Outputs to it.
func (s *Infer) keep(f *pipeline.Frame, outs []meta.Tensor) {
	b := s.pool.Get().(*outBuf)
	n, ns := 0, 0
	for _, t := range outs {
		n += len(t.Data)
		ns += len(t.Shape)
	}
	if cap(b.data) < n {
		b.data = make([]float32, n)
	}
	if cap(b.shapes) < ns {
		b.shapes = make([]int, ns)
	}
	b.data, b.shapes, b.tensors = b.data[:n], b.shapes[:ns], b.tensors[:0]
	d, sh := b.data, b.shapes
	for _, t := range outs {
		copy(d, t.Data)
		copy(sh, t.Shape)
		b.tensors = append(b.tensors, meta.Tensor{
			Name:  t.Name,
			Shape: sh[:len(t.Shape):len(t.Shape)],
			Data:  d[:len(t.Data):len(t.Data)],
		})
		d, sh = d[len(t.Data):], sh[len(t.Shape):]
	}
	f.Outputs = b.tensors
	pool := s.pool
	f.OnRelease(func() {
		if len(f.Outputs) > 0 && &f.Outputs[0] == &b.tensors[0] {
			f.Outputs = nil
		}
		pool.Put(b)
	})
}

// Close closes the engine. It is idempotent.
func (s *Infer) Close() error {
	if s == nil || s.closed {
		return nil
	}
	s.closed = true
	if err := s.engine.Close(); err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	return nil
}
