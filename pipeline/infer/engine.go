package infer

import (
	"context"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Engine runs a neural network: OpenCV DNN on the CPU (OpenCV, in this
// package) or TensorRT on an NVIDIA GPU (package trt, whose *trt.Context
// implements it without importing this package). An Engine is used by one goroutine at a
// time: a stage with N inference workers opens N engines.
//
// Infer runs the network on input (float32, NCHW, batch in dimension 0) and
// returns one tensor per output, in the order of Outputs. The returned
// tensors' Data belongs to the engine and stays valid until the next Infer or
// Close: copy what must outlive that. A blocking Infer does not see ctx
// cancellation until the call returns.
type Engine interface {
	Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error)
	// Inputs and Outputs describe the network's tensors as the engine found
	// them (names, and shapes with -1 for a dynamic dimension).
	Inputs() []meta.TensorInfo
	Outputs() []meta.TensorInfo
	Close() error
}
