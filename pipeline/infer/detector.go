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

// Options choose a detector. The zero value is the zero-config default:
// models.DefaultModel (YuNet 2022mar) found with models.Asset, its spec, the
// spec's input size and thresholds.
type Options struct {
	// Model is the .onnx path; "" means models.Asset(models.DefaultModel).
	Model string
	// Spec names a models spec; "" picks it from the file's outputs
	// (models.Identify).
	Spec string
	// Input is the network input size; zero means the spec's default.
	Input models.InputSize
	// Decoder sets the score and NMS thresholds; zeros take the spec's.
	Decoder models.DecoderOptions
}

// Model is a validated model file with its spec: the factory for the
// stages of one detector. It holds no C memory; each New* call makes a
// worker that its caller (or the line) closes.
type Model struct {
	Path  string
	Spec  models.Spec
	Info  models.ModelInfo
	Input models.InputSize
	Opts  models.DecoderOptions
}

// Open validates the model file (models.ReadONNX: missing, empty, corrupt
// and truncated files are errors naming the file), picks or checks the
// spec (a spec whose outputs the file lacks is an error naming both), and
// checks the input size and thresholds. It does not load OpenCV yet.
func Open(o Options) (*Model, error) {
	path := o.Model
	if path == "" {
		p, err := models.Asset(models.DefaultModel)
		if err != nil {
			return nil, fmt.Errorf("infer: default model: %w", err)
		}
		path = p
	}
	info, err := models.ReadONNX(path)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	var spec models.Spec
	if o.Spec == "" {
		spec, _, err = models.Identify(path)
	} else {
		spec, err = models.Lookup(o.Spec)
		if err == nil {
			spec, err = spec.ForModel(info)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if info.Dynamic(0) {
		return nil, fmt.Errorf("infer: model %s input %s has dynamic shape %v, which OpenCV 4.6 cannot load (export it with a fixed shape)",
			path, info.Inputs[0].Name, info.Inputs[0].Shape)
	}
	if _, err := spec.Plan(o.Input, 640, 480); err != nil {
		return nil, fmt.Errorf("infer: model %s: %w", path, err)
	}
	if _, err := spec.NewDecoder(o.Decoder); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	return &Model{Path: path, Spec: spec, Info: info, Input: o.Input, Opts: o.Decoder}, nil
}

// NewPreprocess makes a preprocess worker.
func (m *Model) NewPreprocess() (*Preprocess, error) { return NewPreprocess(m.Spec, m.Input) }

// NewEngine loads the model in OpenCV (after the checks NewOpenCV makes,
// and a probe forward pass at the default input for a 640x480 frame).
func (m *Model) NewEngine() (*OpenCV, error) {
	plan, err := m.Spec.Plan(m.Input, 640, 480)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	return NewOpenCV(m.Path, OpenCVOptions{
		AnySize:    m.Spec.AnySize,
		Multiple:   m.Spec.PadMultiple,
		ProbeShape: []int{1, 3, plan.InputH, plan.InputW},
	})
}

// NewInfer makes an inference worker with its own OpenCV engine.
func (m *Model) NewInfer() (*Infer, error) {
	e, err := m.NewEngine()
	if err != nil {
		return nil, err
	}
	return NewInfer(e), nil
}

// NewDecode makes a decode worker with its own decoder.
func (m *Model) NewDecode() (*Decode, error) {
	d, err := m.Spec.NewDecoder(m.Opts)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	return NewDecode(d), nil
}

// Detector runs preprocess, inference and decoding in one call: for the
// sequential benchmark mode, tools and tests. It is one goroutine's; Close
// releases everything.
type Detector struct {
	model  *Model
	pre    *Preprocess
	engine *OpenCV
	dec    models.Decoder
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
	return &Detector{model: m, pre: pre, engine: eng, dec: dec}, nil
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
	return errors.Join(d.pre.Close(), d.engine.Close())
}
