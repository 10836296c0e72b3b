package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
)

// chooseBackend resolves --backend auto and checks that the asked-for one
// exists in this build: auto is TensorRT where this binary has it and
// TensorRT's libraries and a GPU are there, else OpenCV.
func chooseBackend(b infer.Backend) (infer.Backend, error) {
	switch b {
	case infer.OpenCVBackend:
		return b, nil
	case infer.TensorRTBackend:
		if err := trt.Available(); err != nil {
			return b, fmt.Errorf("backend tensorrt: %w", err)
		}
		return b, nil
	}
	if trt.Available() == nil {
		return infer.TensorRTBackend, nil
	}
	return infer.OpenCVBackend, nil
}

// tensorRTOptions are the TensorRT options of conveyor run: the user's
// (engine, precision, shape, ...) plus what the line decides: the model
// file, an optimization profile for groups of 1 to --batch frames (a model
// with a fixed batch runs them one by one), and the log.
func tensorRTOptions(cfg Config, model *infer.Model) trt.Options {
	o := cfg.TensorRT
	o.ONNX, o.Logf = model.Path, log.Printf
	o.Batch = trt.BatchProfile(cfg.Detect.Batch)
	o.FixedBatchOK = true
	return o
}

// openTensorRT loads (building or reusing the cached engine) the model for
// TensorRT at the input sizes the OpenCV backend would run it at, and the
// small-face pass's (planTensorRTInput): a model exported at one size but able to run at
// any (YuNet 2022mar's 160x120) is first given a dynamic height and width.
// A fixed-size model (UltraFace) makes the preprocess stage produce the
// engine's input size, as on OpenCV.
func openTensorRT(ctx context.Context, cfg Config, model *infer.Model) (*trt.Engine, error) {
	o := tensorRTOptions(cfg, model)
	in, err := planTensorRTInput(model.Spec, model.Info, model.Input, cfg.Detect.Batch, o.Shapes, model.MinFace)
	if err != nil {
		return nil, err
	}
	model.EngineMaxSide = in.MaxSide
	// With --engine the profile and the copy matter only if the plan must
	// be rebuilt (another TensorRT or GPU).
	if in.Profile != nil {
		o.Shapes = append(slices.Clone(o.Shapes), *in.Profile)
	}
	if in.Dynamic {
		if o.ONNX, err = dynamicCopy(o.CacheDir, model.Path, model.Spec.InputName); err != nil {
			return nil, err
		}
		log.Printf("conveyor: TensorRT: %s was exported with a fixed %dx%d input; the engine is built from a copy with a dynamic height and width (%s)",
			meta.RedactURI(model.Path), model.Info.Inputs[0].Shape[3], model.Info.Inputs[0].Shape[2], o.ONNX)
	}
	e, err := trt.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := checkTensorRTInput(model.Spec, model.Input, e.Inputs()); err != nil {
		_ = e.Close()
		return nil, err
	}
	if in := e.Inputs(); len(in) == 1 && len(in[0].Shape) == 4 && in[0].Shape[2] > 0 && in[0].Shape[3] > 0 {
		model.Input = models.InputSize{W: in[0].Shape[3], H: in[0].Shape[2]}
	}
	return e, nil
}

// dynamicCopy writes the model at path with a dynamic height and width
// (models.DynamicInput) into the engine cache's onnx folder, named by the
// original's sha256 (so the engine cache, keyed by the ONNX file's content,
// finds its engine again), and returns its path. An existing copy is kept.
func dynamicCopy(cacheDir, path, input string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("tensorrt: %w", err)
	}
	if cacheDir == "" {
		if cacheDir, err = trt.DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(b)
	dst := filepath.Join(cacheDir, "onnx", hex.EncodeToString(sum[:8])+"-dynamic-hw.onnx")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	d, err := models.DynamicInput(b, input)
	if err != nil {
		return "", fmt.Errorf("tensorrt: %s: %w", meta.RedactURI(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("tensorrt: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".dynamic-*.onnx")
	if err != nil {
		return "", fmt.Errorf("tensorrt: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	if _, err := tmp.Write(d); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("tensorrt: writing %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("tensorrt: writing %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("tensorrt: %w", err)
	}
	return dst, nil
}
