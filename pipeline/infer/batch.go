package infer

import (
	"context"
	"fmt"
	"slices"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Batcher is an Engine that knows the largest batch one call takes: a
// TensorRT context (its optimization profile's maximum).
type Batcher interface {
	MaxBatch() int
}

// MaxBatch is the largest batch e takes in one call: what a Batcher says,
// else the input's fixed first dimension. A dynamic first dimension of an
// engine that does not say its limit counts as 1: stacking past a limit
// nobody knows fails every call (ErrBatchTooLarge).
func MaxBatch(e Engine) int {
	if b, ok := e.(Batcher); ok {
		return max(b.MaxBatch(), 1)
	}
	if in := e.Inputs(); len(in) == 1 && len(in[0].Shape) == 4 && in[0].Shape[0] > 1 {
		return in[0].Shape[0]
	}
	return 1
}

// BatchInfer is the inference stage for batches (pipeline.AddBatchStage):
// frames from several sources, DeepStream's nvstreammux + nvinfer. When the
// engine takes a batch (MaxBatch: a TensorRT engine built with a dynamic
// batch, which conveyor run profiles from --batch), frames whose inputs
// have the same shape are stacked into one call, at most MaxBatch at a
// time; otherwise (OpenCV DNN) each frame is run in turn, which costs
// nothing extra on a CPU.
//
// BatchInfer owns its engine: Close closes it.
type BatchInfer struct {
	single *Infer
	max    int // largest batch the engine takes; 1 = none
	stack  []float32
	group  []*pipeline.Frame
	shape  []int
}

var _ pipeline.BatchProcessor = (*BatchInfer)(nil)

// NewBatchInfer makes a batch inference stage over e, which it takes over.
func NewBatchInfer(e Engine) *BatchInfer {
	return &BatchInfer{single: NewInfer(e), max: MaxBatch(e)}
}

// ProcessBatch sets f.Outputs on every frame.
func (b *BatchInfer) ProcessBatch(ctx context.Context, fs []*pipeline.Frame) error {
	if b.max == 1 {
		for _, f := range fs {
			if err := b.single.Process(ctx, f); err != nil {
				return err
			}
		}
		return nil
	}
	// Group consecutive frames of equal input shape, up to the engine's max.
	for start := 0; start < len(fs); {
		end := start + 1
		for end < len(fs) && end-start < b.max && slices.Equal(fs[end].Input.Shape, fs[start].Input.Shape) {
			end++
		}
		if err := b.run(ctx, fs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// run stacks the inputs of fs (all of one shape, batch 1 each) into one
// tensor, runs the engine once, and gives each frame its slice of the
// outputs.
func (b *BatchInfer) run(ctx context.Context, fs []*pipeline.Frame) error {
	if len(fs) == 1 {
		return b.single.Process(ctx, fs[0])
	}
	per := len(fs[0].Input.Data)
	if cap(b.stack) < per*len(fs) {
		b.stack = make([]float32, per*len(fs))
	}
	b.stack = b.stack[:per*len(fs)]
	for i, f := range fs {
		if f.Input.Data == nil || len(f.Input.Shape) != 4 || f.Input.Shape[0] != 1 {
			return fmt.Errorf("infer: frame %d: batch input must be 1xCxHxW, is %v", f.Number, f.Input.Shape)
		}
		copy(b.stack[i*per:], f.Input.Data)
	}
	b.shape = append(b.shape[:0], fs[0].Input.Shape...)
	b.shape[0] = len(fs)
	outs, err := b.single.engine.Infer(ctx, meta.Tensor{Name: fs[0].Input.Name, Shape: b.shape, Data: b.stack})
	if err != nil {
		return fmt.Errorf("infer: batch of %d: %w", len(fs), err)
	}
	if err := b.single.keepBatch(fs, outs); err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	return nil
}

// Close closes the engine.
func (b *BatchInfer) Close() error { return b.single.Close() }
