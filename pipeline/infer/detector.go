package infer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Options choose a detector and how the line runs it. The zero value is
// the zero-config default: models.DefaultModel found with models.Asset, its
// spec, the spec's input size and thresholds, one worker, batches of one.
type Options struct {
	// Model is the .onnx path; "" means models.Asset(models.DefaultModel).
	Model string `yaml:"model" short:"m" usage:"ONNX model (default: the bundled YuNet 2022mar)"`
	// Spec names a models spec; "" or "auto" picks it from the file's
	// outputs (models.Identify).
	Spec string `yaml:"model-type" usage:"decoder: auto (from the model's outputs) or a name from models.Specs"`
	// Input is the network input size; zero means the spec's default.
	Input models.InputSize `yaml:"input-size" usage:"detector input: default (the model's), frame, N (longer side) or WxH"`
	// Decoder sets the score and NMS thresholds; zeros take the spec's.
	Decoder models.DecoderOptions `yaml:",inline"`
	// Backend runs the network: OpenCV DNN on the CPU, or TensorRT.
	Backend Backend `yaml:"backend" usage:"inference backend: auto (TensorRT when this build and machine have it), opencv or tensorrt"`
	// Workers is how many inference workers run, each with its own
	// network; 0 means one.
	Workers int `yaml:"infer-workers" usage:"inference workers, each with its own network"`
	// Batch is how many frames, across sources, one inference call takes
	// (nvstreammux); 0 means one. BatchTimeout is the longest wait for a
	// batch to fill.
	Batch        int           `yaml:"batch" usage:"frames per inference call, across sources (nvstreammux)"`
	BatchTimeout time.Duration `yaml:"batch-timeout" usage:"longest wait for a batch to fill"`
	// Threads is OpenCV's thread-pool size (SetNumThreads); 0 leaves
	// OpenCV's default (all cores).
	Threads int `yaml:"threads" usage:"OpenCV threads (0 = OpenCV's default: all cores)"`
}

// DefaultOptions is what `conveyor run` starts from.
func DefaultOptions() Options {
	return Options{Spec: "auto", Workers: 1, Batch: 1, BatchTimeout: 20 * time.Millisecond}
}

// Validate checks what can be checked without opening the model, naming
// each bad field by its option key.
func (o Options) Validate() error {
	errs := []error{o.Decoder.Validate()}
	if o.Spec != "" && o.Spec != "auto" {
		if _, err := models.Lookup(o.Spec); err != nil {
			errs = append(errs, fmt.Errorf("model-type: %w", err))
		}
	}
	if o.Workers < 0 || o.Workers > 64 {
		errs = append(errs, fmt.Errorf("infer-workers: %d is out of range: want 1 to 64", o.Workers))
	}
	if o.Batch < 0 || o.Batch > 256 {
		errs = append(errs, fmt.Errorf("batch: %d is out of range: want 1 to 256", o.Batch))
	}
	if o.BatchTimeout < 0 || o.BatchTimeout > 10*time.Second {
		errs = append(errs, fmt.Errorf("batch-timeout: %s is out of range: want 0 to 10s", o.BatchTimeout))
	}
	if o.Threads < 0 || o.Threads > 256 {
		errs = append(errs, fmt.Errorf("threads: %d is out of range: want 0 to 256", o.Threads))
	}
	return errors.Join(errs...)
}

// Backend says what runs the network.
type Backend int

// The backends.
const (
	// AutoBackend picks TensorRT when this build has it and a GPU is
	// there, else OpenCV.
	AutoBackend Backend = iota
	OpenCVBackend
	TensorRTBackend
)

var backendNames = [...]string{AutoBackend: "auto", OpenCVBackend: "opencv", TensorRTBackend: "tensorrt"}

// String returns auto, opencv or tensorrt.
func (b Backend) String() string {
	if b < 0 || int(b) >= len(backendNames) {
		return fmt.Sprintf("Backend(%d)", int(b))
	}
	return backendNames[b]
}

// MarshalText writes the backend's name.
func (b Backend) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText reads auto, opencv or tensorrt.
func (b *Backend) UnmarshalText(t []byte) error {
	for i, n := range backendNames {
		if string(t) == n {
			*b = Backend(i)
			return nil
		}
	}
	return fmt.Errorf("%q: want auto, opencv or tensorrt", t)
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
	if o.Spec == "" || o.Spec == "auto" {
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
