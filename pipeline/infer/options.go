package infer

import (
	"errors"
	"fmt"
	"time"

	"github.com/conveyor-vision/conveyor/models"
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
	// MinFace is the smallest face, in frame pixels, the line must find:
	// the refine stage (Refine) runs a second pass at a higher resolution
	// when the frame pass shrinks the frame too far for such faces, and
	// checks doubtful detections again at a better scale. 0 turns it off.
	MinFace int `yaml:"min-face" usage:"smallest face, in frame pixels, that must be found and blurred: large frames get a second pass at higher resolution where the input size shrinks them too far, and doubtful detections are checked again (0 = off)"`
	// Backend runs the network: OpenCV DNN on the CPU, or TensorRT.
	Backend Backend `yaml:"backend" usage:"inference backend: auto (TensorRT when this build and machine have it), opencv or tensorrt"`
	// Workers is how many inference workers run, each with its own
	// network; 0 means one here, and `conveyor run` chooses it for the
	// machine (cmd/conveyor/defaults.go).
	Workers int `yaml:"infer-workers" usage:"inference workers, each with its own network (0 = chosen from the cores and the measured cost of inference)"`
	// Batch is how many frames, across sources, one inference call takes
	// (nvstreammux); 0 means one. BatchTimeout is the longest wait for a
	// batch to fill.
	Batch        int           `yaml:"batch" usage:"frames per inference call, across sources (nvstreammux)"`
	BatchTimeout time.Duration `yaml:"batch-timeout" usage:"longest wait for a batch to fill"`
	// Threads is OpenCV's thread-pool size (SetNumThreads); 0 leaves
	// OpenCV's default (all cores) here, and `conveyor run` chooses it for
	// the machine (1: the line's stages already run in parallel).
	Threads int `yaml:"threads" usage:"OpenCV threads (0 = chosen for the machine: 1, as the line's stages run in parallel)"`
}

// DefaultMinFace is the min-face of `conveyor run`: 10 px, the smallest
// face issue 14 asks the line to hide (models/CALIBRATION.md).
const DefaultMinFace = 10

// DefaultOptions is what `conveyor run` starts from.
func DefaultOptions() Options {
	return Options{Spec: "auto", Batch: 1, BatchTimeout: 20 * time.Millisecond, MinFace: DefaultMinFace}
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
		errs = append(errs, fmt.Errorf("infer-workers: %d is out of range: want 0 (chosen for the machine) to 64", o.Workers))
	}
	if o.Batch < 0 || o.Batch > 256 {
		errs = append(errs, fmt.Errorf("batch: %d is out of range: want 1 to 256", o.Batch))
	}
	if o.BatchTimeout < 0 || o.BatchTimeout > 10*time.Second {
		errs = append(errs, fmt.Errorf("batch-timeout: %s is out of range: want 0 to 10s", o.BatchTimeout))
	}
	if o.MinFace < 0 || o.MinFace > 1000 {
		errs = append(errs, fmt.Errorf("min-face: %d is out of range: want 0 (off) to 1000", o.MinFace))
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
