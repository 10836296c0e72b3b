package infer

import (
	"context"
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// FrameEngine is an Engine that takes raw BGR8 frames and preprocesses
// them itself on the GPU: *trt.Context in a binary built with
// -tags "tensorrt cuda" (trt.FramesBuilt). InferFrames follows Infer's
// rules: one goroutine at a time, outputs valid until the next call.
type FrameEngine interface {
	Engine
	InferFrames(ctx context.Context, frames []trt.FrameView) ([]meta.Tensor, error)
}

var _ FrameEngine = (*trt.Context)(nil)

// GPUPreprocess is the CUDA preprocessing that makes, from a BGR8 frame of
// plan.FrameW x plan.FrameH with rows of stride bytes, the input that the
// CPU Preprocess makes for spec and plan: the picture resized (bilinear)
// to plan.ResizeW x plan.ResizeH at the top-left of plan.InputW x
// plan.InputH, zero padding, the spec's colour order, (x - Mean) * Scale.
// Its Geometry equals plan.Geometry, so boxes map back the same way. FP16
// is left false: the engine's input type decides.
func GPUPreprocess(spec models.Spec, plan models.Plan, stride int) (cuda.Preprocess, error) {
	if spec.Scale == 0 {
		return cuda.Preprocess{}, fmt.Errorf("infer: gpu preprocess: spec %s has scale 0", spec.Name)
	}
	if plan.ResizeW < 1 || plan.ResizeH < 1 {
		return cuda.Preprocess{}, fmt.Errorf("infer: gpu preprocess: plan without a resize size (%dx%d)", plan.ResizeW, plan.ResizeH)
	}
	m, s := float32(spec.Mean), float32(spec.Scale)
	p := cuda.Preprocess{
		SrcW: plan.FrameW, SrcH: plan.FrameH, SrcStride: stride,
		DstW: plan.InputW, DstH: plan.InputH,
		ResizeW: plan.ResizeW, ResizeH: plan.ResizeH,
		SwapRB: spec.Color == models.RGB,
		Mean:   [3]float32{m, m, m},
		Scale:  [3]float32{s, s, s},
	}
	if err := p.Validate(); err != nil {
		return cuda.Preprocess{}, fmt.Errorf("infer: gpu preprocess: %w", err)
	}
	return p, nil
}

// KernelGeometry is where the CUDA preprocessing p puts a frame inside the
// network input, as the decoders' Geometry.
func KernelGeometry(p cuda.Preprocess) meta.Geometry {
	g := p.Geometry()
	return meta.Geometry{
		FrameW: p.SrcW, FrameH: p.SrcH, InputW: p.DstW, InputH: p.DstH,
		ScaleX: g.ScaleX, ScaleY: g.ScaleY, PadX: float32(g.PadX), PadY: float32(g.PadY),
	}
}

// GPUInfer is the stage that replaces Preprocess + Infer on the TensorRT
// path (DeepStream's nvvideoconvert + nvinfer): each frame's BGR8 image is
// uploaded once and preprocessed by the CUDA kernel straight into the
// engine's input, so the line is source → gpu-infer → decode. It sets
// f.Geometry exactly as Preprocess would (models.Plan) and f.Outputs as
// Infer does (a pooled copy the frame gives back when released);
// f.Input stays empty.
//
// It is a Processor and a BatchProcessor: in a batch, consecutive frames
// whose inputs have the same size (up to the engine's MaxBatch) go
// to the engine in one call, whatever their frame sizes. A frame without a
// BGR8 image is skipped (pipeline.ErrSkipFrame): alone, or with its batch;
// a frame too small for the model ends its source (pipeline.ErrBadSource,
// see MinInputSide).
//
// The frame's Mat is read by the engine during the call only; GPUInfer
// owns its engine: Close closes it. One goroutine at a time.
type GPUInfer struct {
	spec   models.Spec
	size   models.InputSize
	engine FrameEngine
	out    *Infer // the pooled copies of the outputs, and the engine's Close
	max    int
	plans  map[[2]int]models.Plan
	views  []trt.FrameView
	geoms  []models.Plan
	dense  []gocv.Mat // continuous copies of non-continuous images
	closed bool
}

var (
	_ pipeline.Processor      = (*GPUInfer)(nil)
	_ pipeline.BatchProcessor = (*GPUInfer)(nil)
)

// NewGPUInfer makes the stage for spec at input size (zero: the spec's
// default) over e, which it takes over once it returns without error (on
// error the caller still owns e).
func NewGPUInfer(spec models.Spec, size models.InputSize, e FrameEngine) (*GPUInfer, error) {
	if e == nil {
		return nil, errors.New("infer: gpu infer: no engine")
	}
	plan, err := spec.Plan(size, 640, 480)
	if err != nil {
		return nil, fmt.Errorf("infer: gpu infer: %w", err)
	}
	if _, err := GPUPreprocess(spec, plan, 3*640); err != nil {
		return nil, err
	}
	return &GPUInfer{spec: spec, size: size, engine: e, out: NewInfer(e), max: MaxBatch(e), plans: map[[2]int]models.Plan{}}, nil
}

// Engine is the engine this stage runs.
func (g *GPUInfer) Engine() FrameEngine { return g.engine }

// Process runs one frame.
func (g *GPUInfer) Process(ctx context.Context, f *pipeline.Frame) error {
	return g.ProcessBatch(ctx, []*pipeline.Frame{f})
}

// ProcessBatch sets f.Geometry and f.Outputs on every frame.
func (g *GPUInfer) ProcessBatch(ctx context.Context, fs []*pipeline.Frame) error {
	if g.closed {
		return ErrClosed
	}
	g.views, g.geoms = g.views[:0], g.geoms[:0]
	defer g.closeDense()
	for _, f := range fs {
		v, plan, err := g.view(f)
		if err != nil {
			return err
		}
		g.views = append(g.views, v)
		g.geoms = append(g.geoms, plan)
	}
	for start := 0; start < len(fs); {
		end := start + 1
		for end < len(fs) && end-start < g.max && sameInput(g.geoms[end], g.geoms[start]) {
			end++
		}
		if err := g.run(ctx, fs[start:end], g.views[start:end]); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			fs[i].Geometry = g.geoms[i].Geometry
		}
		start = end
	}
	return nil
}

func sameInput(a, b models.Plan) bool { return a.InputW == b.InputW && a.InputH == b.InputH }

// view checks f's image and describes it for the engine: its pixels (the
// Mat's own memory, or a continuous copy), stride and preprocessing.
func (g *GPUInfer) view(f *pipeline.Frame) (trt.FrameView, models.Plan, error) {
	img := f.Image
	if img.Ptr() == nil || img.Empty() {
		return trt.FrameView{}, models.Plan{}, fmt.Errorf("infer: gpu infer: frame %d: empty image: %w", f.Number, pipeline.ErrSkipFrame)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return trt.FrameView{}, models.Plan{}, fmt.Errorf("infer: gpu infer: frame %d: image type %v, want BGR8 (CV_8UC3): %w", f.Number, img.Type(), pipeline.ErrSkipFrame)
	}
	w, h := img.Cols(), img.Rows()
	plan, ok := g.plans[[2]int{w, h}]
	if !ok {
		var err error
		if plan, err = g.spec.Plan(g.size, w, h); err != nil {
			return trt.FrameView{}, models.Plan{}, fmt.Errorf("infer: gpu infer: frame %d: %w: %w", f.Number, err, pipeline.ErrSkipFrame)
		}
		if plan.InputW < MinInputSide || plan.InputH < MinInputSide {
			// As Preprocess: the source's every frame will be as small.
			return trt.FrameView{}, models.Plan{}, fmt.Errorf("infer: gpu infer: frame %dx%d is too small for the model: its input would be %dx%d, under %d pixels a side: %w",
				w, h, plan.InputW, plan.InputH, MinInputSide, pipeline.ErrBadSource)
		}
		if len(g.plans) >= 64 { // sources rarely change size; bound the cache anyway
			clear(g.plans)
		}
		g.plans[[2]int{w, h}] = plan
	}
	if !img.IsContinuous() {
		d := gocv.NewMat()
		img.CopyTo(&d)
		g.dense = append(g.dense, d)
		img = d
	}
	data, err := img.DataPtrUint8()
	if err != nil {
		return trt.FrameView{}, models.Plan{}, fmt.Errorf("infer: gpu infer: frame %d: %w", f.Number, err)
	}
	p, err := GPUPreprocess(g.spec, plan, img.Step())
	if err != nil {
		return trt.FrameView{}, models.Plan{}, err
	}
	return trt.FrameView{Data: data, Prep: p}, plan, nil
}

func (g *GPUInfer) closeDense() {
	for i := range g.dense {
		_ = g.dense[i].Close()
	}
	g.dense = g.dense[:0]
}

// run infers one group of frames with equal input sizes and gives each
// frame its slice of the outputs.
func (g *GPUInfer) run(ctx context.Context, fs []*pipeline.Frame, views []trt.FrameView) error {
	outs, err := g.engine.InferFrames(ctx, views)
	if err != nil {
		if len(fs) == 1 {
			return fmt.Errorf("infer: gpu infer: frame %d: %w", fs[0].Number, err)
		}
		return fmt.Errorf("infer: gpu infer: batch of %d: %w", len(fs), err)
	}
	if len(fs) == 1 {
		g.out.keep(fs[0], outs)
		return nil
	}
	if err := g.out.keepBatch(fs, outs); err != nil {
		return fmt.Errorf("infer: gpu infer: %w", err)
	}
	return nil
}

// Close closes the engine. It is idempotent.
func (g *GPUInfer) Close() error {
	if g == nil || g.closed {
		return nil
	}
	g.closed = true
	g.closeDense()
	return g.out.Close()
}
