package infer

import (
	"context"
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// MinInputSide is the smallest network input side, after the plan's resize
// and padding, that Preprocess passes on. Below it the detectors fail inside
// OpenCV (YuNet 2022mar needs 63 pixels: on a 64x48 frame its pooling
// layers' outputs are empty), so Preprocess refuses such a frame with
// pipeline.ErrBadSource: the line ends that source alone, with the reason,
// and the others go on. Fixed-size models (UltraFace) always get their own
// input size, whatever the frame's.
const MinInputSide = 64

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
// skipped (pipeline.ErrSkipFrame); a frame too small for the model ends
// its source (pipeline.ErrBadSource, see MinInputSide).
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
	if plan.InputW < MinInputSide || plan.InputH < MinInputSide {
		// The source's every frame will be as small: end it, not the line.
		return gocv.Mat{}, models.Plan{}, fmt.Errorf("frame %dx%d is too small for the model: its input would be %dx%d, under %d pixels a side: %w",
			w, h, plan.InputW, plan.InputH, MinInputSide, pipeline.ErrBadSource)
	}
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
