package trt

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Precision is the arithmetic TensorRT may use inside the engine. Inputs and
// outputs stay float32 whatever the precision.
type Precision string

// The precisions conveyor can ask for.
const (
	FP32 Precision = "fp32"
	FP16 Precision = "fp16"
	// INT8 also enables FP16 and needs a calibration cache
	// (BuildOptions.CalibrationCache): conveyor does not calibrate.
	INT8 Precision = "int8"
)

// UnmarshalText reads a precision as ParsePrecision does.
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePrecision reads "fp32", "fp16" or "int8" ("" means fp32).
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(strings.ToLower(s)); p {
	case "":
		return FP32, nil
	case FP32, FP16, INT8:
		return p, nil
	}
	return "", fmt.Errorf("precision: %q: want fp32, fp16 or int8", s)
}

// DefaultWorkspace is the builder's workspace limit when none is given:
// 1 GiB suits an 8 GB Jetson; a larger one only lets TensorRT try tactics
// that need more scratch memory.
const DefaultWorkspace int64 = 1 << 30

// BuildOptions say how to build an engine from an ONNX file.
type BuildOptions struct {
	// ONNX is the model file.
	ONNX string `yaml:"-"`
	// Out is where Build writes the plan (and Out+".json", its metadata).
	// Empty means the engine cache only.
	Out string `yaml:"-"`
	// Precision: FP32 when empty.
	Precision Precision `yaml:"precision" usage:"TensorRT precision: fp32, fp16 or int8"`
	// CalibrationCache is an INT8 calibration cache file (as written by
	// trtexec --calib or TensorRT's calibrators); required for INT8.
	CalibrationCache string `yaml:"-"`
	// Batch is the optimization profile for a dynamic batch dimension
	// (min:opt:max); the zero value means 1:1:1.
	Batch BatchRange `yaml:"-"`
	// Shapes give the min/opt/max of inputs with other dynamic dimensions
	// (height, width); see ParseShape.
	Shapes []ShapeRange `yaml:"-"`
	// Workspace caps the builder's scratch memory in bytes;
	// 0 means DefaultWorkspace.
	Workspace int64 `yaml:"-"`
	// TimingCache is the timing cache file, read before and written after
	// a build; empty means one in CacheDir per TensorRT version and GPU.
	TimingCache string `yaml:"-"`
	// CacheDir is the engine cache; empty means DefaultCacheDir().
	CacheDir string `yaml:"-"`
	// Device is the CUDA device index.
	Device int `yaml:"-"`
	// Logf, when set, receives the one line that says a cached or given
	// plan is rebuilt. The package logs nothing else.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Options say which engine to open: a plan file, or an ONNX file whose
// engine is built or taken from the cache.
type Options struct {
	BuildOptions `yaml:",inline"`
	// Engine is a plan file to load (conveyor engine build --out). If it
	// was built by another TensorRT or GPU it is rebuilt from ONNX into the
	// cache, unless NoRebuild is set or ONNX is empty.
	Engine string `yaml:"engine" usage:"TensorRT plan file (backend tensorrt; default: build or reuse the cached engine)"`
	// NoRebuild turns an unusable plan into ErrStalePlan instead of a
	// rebuild; a missing cache entry is still built.
	NoRebuild bool `yaml:"-"`
}

func (o *BuildOptions) precision() Precision {
	if o.Precision == "" {
		return FP32
	}
	return o.Precision
}

func (o *BuildOptions) workspace() int64 {
	if o.Workspace == 0 {
		return DefaultWorkspace
	}
	return o.Workspace
}

// Validate checks the options without touching TensorRT: the files exist,
// the precision is known, INT8 has a calibration cache, the profile is
// ordered and the workspace is sane.
func (o *BuildOptions) Validate() error {
	if o.ONNX == "" {
		return errors.New("trt: no ONNX model given")
	}
	if err := regularFile(o.ONNX, "ONNX model"); err != nil {
		return err
	}
	if _, err := ParsePrecision(string(o.Precision)); err != nil {
		return err
	}
	if o.precision() == INT8 {
		if o.CalibrationCache == "" {
			return errors.New("trt: int8 needs a calibration cache (--calib-cache): conveyor does not calibrate")
		}
		if err := regularFile(o.CalibrationCache, "calibration cache"); err != nil {
			return err
		}
	} else if o.CalibrationCache != "" {
		return fmt.Errorf("trt: a calibration cache is only used with int8, not %s", o.precision())
	}
	if o.Workspace < 0 {
		return fmt.Errorf("trt: workspace must be positive, not %d", o.Workspace)
	}
	if o.Workspace != 0 && o.Workspace < 1<<20 {
		return fmt.Errorf("trt: workspace of %d bytes is too small (at least 1 MiB)", o.Workspace)
	}
	if !o.Batch.IsZero() {
		if err := o.Batch.validate(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, s := range o.Shapes {
		if err := s.validate(); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("trt: shape of input %q given twice", s.Name)
		}
		seen[s.Name] = true
	}
	if o.Device < 0 {
		return fmt.Errorf("trt: device must be 0 or more, not %d", o.Device)
	}
	return nil
}

// Validate checks the options: a plan file or an ONNX model (or both).
func (o *Options) Validate() error {
	if o.Engine == "" {
		return o.BuildOptions.Validate()
	}
	if err := regularFile(o.Engine, "engine plan"); err != nil {
		return err
	}
	if o.ONNX != "" {
		return o.BuildOptions.Validate()
	}
	return nil
}

func regularFile(path, what string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("trt: %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("trt: %s %s is not a regular file", what, path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("trt: %s %s is empty", what, path)
	}
	return nil
}
