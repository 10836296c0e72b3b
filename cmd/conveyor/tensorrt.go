package main

import (
	"context"
	"fmt"
	"log"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
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
// TensorRT, and makes the preprocess stage produce the engine's input size.
func openTensorRT(ctx context.Context, cfg Config, model *infer.Model) (*trt.Engine, error) {
	e, err := trt.Load(ctx, tensorRTOptions(cfg, model))
	if err != nil {
		return nil, err
	}
	if in := e.Inputs(); len(in) == 1 && len(in[0].Shape) == 4 && in[0].Shape[2] > 0 && in[0].Shape[3] > 0 {
		model.Input = models.InputSize{W: in[0].Shape[3], H: in[0].Shape[2]}
	}
	return e, nil
}
