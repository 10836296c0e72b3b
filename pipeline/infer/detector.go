package infer

import (
	"context"
	"errors"
	"fmt"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Detector runs preprocess, inference and decoding in one call: for the
// sequential benchmark mode, tools and tests. It is one goroutine's; Close
// releases everything.
type Detector struct {
	model  *Model
	pre    *Preprocess
	engine *OpenCV
	dec    models.Decoder
	refine *Refine // nil when the model's MinFace is 0
	closed bool
}

var _ pipeline.Processor = (*Detector)(nil)

// NewDetector opens o and makes a detector.
func NewDetector(o Options) (*Detector, error) {
	m, err := Open(o)
	if err != nil {
		return nil, err
	}
	return m.NewDetector()
}

// NewDetector makes a detector from m.
func (m *Model) NewDetector() (*Detector, error) {
	pre, err := m.NewPreprocess()
	if err != nil {
		return nil, err
	}
	eng, err := m.NewEngine()
	if err != nil {
		_ = pre.Close()
		return nil, err
	}
	dec, err := m.Spec.NewDecoder(m.Opts)
	if err != nil {
		_ = pre.Close()
		_ = eng.Close()
		return nil, fmt.Errorf("infer: %w", err)
	}
	ref, err := m.NewRefine()
	if err != nil {
		_ = pre.Close()
		_ = eng.Close()
		return nil, err
	}
	return &Detector{model: m, pre: pre, engine: eng, dec: dec, refine: ref}, nil
}

// Model is the model the detector runs.
func (d *Detector) Model() *Model { return d.model }

// Detect finds the objects in a BGR8 image, in image coordinates. The
// result is the caller's.
func (d *Detector) Detect(ctx context.Context, img gocv.Mat) ([]meta.Object, error) {
	if d.closed {
		return nil, ErrClosed
	}
	blob, plan, err := d.pre.blob(img)
	if err != nil {
		return nil, err
	}
	defer blob.Close()
	data, err := blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("infer: blob: %w", err)
	}
	in := meta.Tensor{Name: d.model.Spec.InputName, Shape: []int{1, 3, plan.InputH, plan.InputW}, Data: data}
	outs, err := d.engine.Infer(ctx, in)
	if err != nil {
		return nil, err
	}
	objs, err := d.dec.Decode(outs, plan.Geometry)
	if err != nil {
		return nil, fmt.Errorf("infer: decode: %w", err)
	}
	if d.refine != nil {
		if objs, err = d.refine.refine(ctx, img, outs, plan.Geometry, objs, -1); err != nil {
			return nil, fmt.Errorf("infer: refine: %w", err)
		}
	}
	return objs, nil
}

// Process detects on f.Image and sets f.Objects and f.Geometry (f.Input
// and f.Outputs stay empty: nothing outlives the call).
func (d *Detector) Process(ctx context.Context, f *pipeline.Frame) error {
	objs, err := d.Detect(ctx, f.Image)
	if err != nil {
		return err
	}
	f.Objects = objs
	f.Geometry = d.pre.plan.Geometry
	return nil
}

// Close releases the engine and the scratch Mats. It is idempotent.
func (d *Detector) Close() error {
	if d == nil || d.closed {
		return nil
	}
	d.closed = true
	return errors.Join(d.pre.Close(), d.engine.Close(), d.refine.Close())
}
