package infer

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"sync"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Preprocess is the stage that turns Frame.Image into Frame.Input (NCHW
// float32, as the spec wants it) and sets Frame.Geometry. The blob Mat
// belongs to the frame (released with it); Input.Data is a view of it.
// Resizing to an input smaller than the frame is the main CPU lever:
// decoders map boxes back to frame coordinates through Geometry.
type Preprocess struct {
	spec    models.Spec
	size    models.InputSize
	plan    models.Plan
	resized gocv.Mat // reused scratch for the pad path
	padded  gocv.Mat
	closed  bool
}

var _ pipeline.Processor = (*Preprocess)(nil)

// NewPreprocess makes a preprocessor for spec at input size (zero: the
// spec's default). It fails at once if size does not suit the spec.
func NewPreprocess(spec models.Spec, size models.InputSize) (*Preprocess, error) {
	if _, err := spec.Plan(size, 640, 480); err != nil {
		return nil, fmt.Errorf("infer: preprocess: %w", err)
	}
	return &Preprocess{spec: spec, size: size, resized: gocv.NewMat(), padded: gocv.NewMat()}, nil
}

// Process sets f.Input and f.Geometry. A frame without a BGR8 image is
// skipped (pipeline.ErrSkipFrame).
func (p *Preprocess) Process(_ context.Context, f *pipeline.Frame) error {
	if p.closed {
		return ErrClosed
	}
	blob, plan, err := p.blob(f.Image)
	if err != nil {
		return err
	}
	f.OnRelease(func() { _ = blob.Close() })
	data, err := blob.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("infer: preprocess: blob: %w", err)
	}
	f.Input = meta.Tensor{Name: p.spec.InputName, Shape: []int{1, 3, plan.InputH, plan.InputW}, Data: data}
	f.Geometry = plan.Geometry
	return nil
}

// blob makes the input blob of img; the caller closes it.
func (p *Preprocess) blob(img gocv.Mat) (gocv.Mat, models.Plan, error) {
	if img.Ptr() == nil || img.Empty() {
		return gocv.Mat{}, models.Plan{}, fmt.Errorf("infer: preprocess: empty image: %w", pipeline.ErrSkipFrame)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return gocv.Mat{}, models.Plan{}, fmt.Errorf("infer: preprocess: image type %v, want BGR8 (CV_8UC3): %w", img.Type(), pipeline.ErrSkipFrame)
	}
	w, h := img.Cols(), img.Rows()
	if p.plan.FrameW != w || p.plan.FrameH != h {
		plan, err := p.spec.Plan(p.size, w, h)
		if err != nil {
			return gocv.Mat{}, models.Plan{}, fmt.Errorf("infer: preprocess: %w: %w", err, pipeline.ErrSkipFrame)
		}
		p.plan = plan
	}
	plan := p.plan
	src := img
	if plan.ResizeW != plan.InputW || plan.ResizeH != plan.InputH {
		// Resize keeping the aspect, then pad right and bottom with zeros.
		gocv.Resize(img, &p.resized, image.Pt(plan.ResizeW, plan.ResizeH), 0, 0, gocv.InterpolationLinear)
		gocv.CopyMakeBorder(p.resized, &p.padded, 0, plan.InputH-plan.ResizeH, 0, plan.InputW-plan.ResizeW,
			gocv.BorderConstant, color.RGBA{})
		src = p.padded
	}
	mean := gocv.NewScalar(p.spec.Mean, p.spec.Mean, p.spec.Mean, 0)
	blob := gocv.BlobFromImage(src, p.spec.Scale, image.Pt(plan.InputW, plan.InputH), mean, p.spec.Color == models.RGB, false)
	return blob, plan, nil
}

// Close releases the scratch Mats. It is idempotent.
func (p *Preprocess) Close() error {
	if p == nil || p.closed {
		return nil
	}
	p.closed = true
	_ = p.resized.Close()
	_ = p.padded.Close()
	return nil
}

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

// Decode is the stage that runs a decoder on Frame.Outputs and sets
// Frame.Objects (in frame coordinates).
type Decode struct {
	dec models.Decoder
}

var _ pipeline.Processor = (*Decode)(nil)

// NewDecode makes a decode stage; use one decoder per worker.
func NewDecode(d models.Decoder) *Decode { return &Decode{dec: d} }

// Process sets f.Objects. Outputs that do not fit the geometry are a fatal
// error: the model and the decoder do not belong together.
func (s *Decode) Process(_ context.Context, f *pipeline.Frame) error {
	objs, err := s.dec.Decode(f.Outputs, f.Geometry)
	if err != nil {
		return fmt.Errorf("infer: decode frame %d: %w", f.Number, err)
	}
	f.Objects = objs
	return nil
}

// Close does nothing.
func (s *Decode) Close() error { return nil }
