package trt

import (
	"errors"
	"fmt"
	"os"
)

// DefaultWorkspace is the builder's workspace limit when none is given:
// 1 GiB suits an 8 GB Jetson; a larger one only lets TensorRT try tactics
// that need more scratch memory.
const DefaultWorkspace int64 = 1 << 30

// BuildOptions say how to build an engine from an ONNX file. Fields with a
// yaml tag are conveyor run's options (the flag name is the yaml key); the
// others are set by the program (conveyor engine build has its own flags).
type BuildOptions struct {
	// ONNX is the model file (conveyor run: --model; engine build: --onnx).
	ONNX string `yaml:"-"`
	// Out is where Build writes the plan (and Out+".json", its metadata).
	// Empty means the engine cache only.
	Out string `yaml:"-"`
	// Precision: FP32 when empty (DefaultOptions: Auto). See Resolve for
	// what each means on each TensorRT.
	Precision Precision `yaml:"precision" usage:"TensorRT precision: auto (fp16 on TensorRT 8 and 10; on 11 the ONNX model's own types), fp32, fp16, int8 (with calib-cache) or model (strongly typed, TensorRT 10+)"`
	// CalibrationCache is an INT8 calibration cache file (as written by
	// trtexec --calib or TensorRT's calibrators); required for INT8.
	CalibrationCache string `yaml:"calib-cache" usage:"INT8 calibration cache file, required with precision int8 (TensorRT 8 and 10)"`
	// Batch is the optimization profile of a dynamic batch dimension
	// (min:opt:max); the zero value means 1:1:1. conveyor run sets it from
	// its --batch (BatchProfile).
	Batch BatchRange `yaml:"-"`
	// FixedBatchOK makes a model exported with a fixed batch ignore Batch
	// instead of failing: conveyor run's --batch groups frames, and an
	// engine that takes one frame runs them one by one.
	FixedBatchOK bool `yaml:"-"`
	// Shapes give the min/opt/max of inputs with other dynamic dimensions
	// (height, width); see ParseShape.
	Shapes ShapeList `yaml:"shape" usage:"TensorRT profile of an input with a dynamic height and width: name=NxCxHxW:NxCxHxW:NxCxHxW (min:opt:max) or name=NxCxHxW; comma-separated for several inputs"`
	// Workspace caps the builder's scratch memory in bytes;
	// 0 means DefaultWorkspace.
	Workspace int64 `yaml:"-"`
	// TimingCache is the timing cache file, read before and written after
	// a build; empty means one in CacheDir per TensorRT version and GPU. A
	// cache TensorRT refuses (made elsewhere) is replaced, never fatal.
	TimingCache string `yaml:"timing-cache" usage:"TensorRT timing cache file (default: one per TensorRT version and GPU in the engine cache)"`
	// CacheDir is the engine cache; empty means DefaultCacheDir().
	CacheDir string `yaml:"engine-cache" usage:"TensorRT engine cache folder (default: $XDG_CACHE_HOME/conveyor/engines)"`
	// Device is the CUDA device index.
	Device int `yaml:"-"`
	// Logf, when set, receives what the user should know: a cached or
	// given plan rebuilt, the precision TensorRT 11 uses, a refused timing
	// cache, TensorRT's own warnings. The package logs nothing else.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Options say which engine to open: a plan file, or an ONNX file whose
// engine is built or taken from the cache.
type Options struct {
	BuildOptions `yaml:",inline"`
	// Plan is a serialised engine to load (conveyor engine build --out). If
	// it was built by another TensorRT or GPU it is rebuilt from ONNX into
	// the cache, unless NoRebuild is set or ONNX is empty.
	Plan string `yaml:"engine" usage:"TensorRT engine (plan) file to load, as conveyor engine build --out writes it; rebuilt from the model when another TensorRT or GPU made it"`
	// NoRebuild turns an unusable plan into ErrStalePlan instead of a
	// rebuild; a missing cache entry is still built.
	NoRebuild bool `yaml:"-"`
}

// DefaultOptions returns what conveyor run uses when nothing is set:
// precision auto, the default cache and timing cache.
func DefaultOptions() Options {
	return Options{BuildOptions: BuildOptions{Precision: Auto}}
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

// checkSettings checks what does not depend on the model: each error names
// the option by its yaml key.
func (o *BuildOptions) checkSettings() error {
	if _, err := ParsePrecision(string(o.Precision)); err != nil {
		return err
	}
	if o.precision() == INT8 {
		if o.CalibrationCache == "" {
			return errors.New("calib-cache: precision int8 needs a calibration cache: conveyor does not calibrate")
		}
		if err := regularFile(o.CalibrationCache, "calib-cache"); err != nil {
			return err
		}
	} else if o.CalibrationCache != "" {
		return fmt.Errorf("calib-cache: a calibration cache is only used with precision int8, not %s", o.precision())
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
	if err := o.Shapes.validate(); err != nil {
		return err
	}
	if o.Device < 0 {
		return fmt.Errorf("trt: device must be 0 or more, not %d", o.Device)
	}
	return nil
}

// Validate checks the options without touching TensorRT: a model is given
// and exists, the precision is known, INT8 has a calibration cache, the
// profiles are ordered and the workspace is sane.
func (o *BuildOptions) Validate() error {
	if o.ONNX == "" {
		return errors.New("trt: no ONNX model given")
	}
	if err := regularFile(o.ONNX, "trt: ONNX model"); err != nil {
		return err
	}
	return o.checkSettings()
}

// Validate checks the options a user sets (the tagged fields), naming a
// bad one by its yaml key ("precision: …"); the model may still be
// unknown. Load checks the rest.
func (o Options) Validate() error {
	if err := o.checkSettings(); err != nil {
		return err
	}
	if o.Plan != "" {
		return regularFile(o.Plan, "engine")
	}
	return nil
}

// check is Load's validation: a plan file or an ONNX model (or both).
func (o *Options) check() error {
	if o.Plan == "" {
		return o.BuildOptions.Validate()
	}
	if err := regularFile(o.Plan, "engine"); err != nil {
		return err
	}
	if o.ONNX != "" {
		return o.BuildOptions.Validate()
	}
	return o.checkSettings()
}

func regularFile(path, what string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %s is not a regular file", what, path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("%s: %s is empty", what, path)
	}
	return nil
}
