//go:build !tensorrt

package trt

import (
	"context"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Built reports whether this binary has TensorRT support (-tags tensorrt).
const Built = false

// Available reports whether TensorRT can be used: here, never (ErrNotBuilt).
func Available() error { return ErrNotBuilt }

// Detect returns the TensorRT version and GPU an engine would be built for.
func Detect(device int) (Platform, error) { return Platform{}, ErrNotBuilt }

// Build builds an engine from o.ONNX and writes it to o.Out (or the cache),
// returning the plan's path. Without TensorRT it returns ErrNotBuilt.
func Build(ctx context.Context, o BuildOptions) (string, error) { return "", ErrNotBuilt }

// Model is a deserialised TensorRT engine. Without TensorRT none can exist.
type Model struct{}

// Load returns ErrNotBuilt.
func Load(ctx context.Context, o Options) (*Model, error) { return nil, ErrNotBuilt }

// NewEngine returns ErrNotBuilt.
func (m *Model) NewEngine() (*Engine, error) { return nil, ErrNotBuilt }

// Inputs returns nil.
func (m *Model) Inputs() []meta.TensorInfo { return nil }

// Outputs returns nil.
func (m *Model) Outputs() []meta.TensorInfo { return nil }

// Close does nothing.
func (m *Model) Close() error { return nil }

// Engine runs a TensorRT engine. Without TensorRT none can exist.
type Engine struct{}

// Open returns ErrNotBuilt.
func Open(ctx context.Context, o Options) (*Engine, error) { return nil, ErrNotBuilt }

// Infer returns ErrNotBuilt.
func (e *Engine) Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error) {
	return nil, ErrNotBuilt
}

// Inputs returns nil.
func (e *Engine) Inputs() []meta.TensorInfo { return nil }

// Outputs returns nil.
func (e *Engine) Outputs() []meta.TensorInfo { return nil }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// InferFrames returns ErrNotBuilt.
func (e *Engine) InferFrames(ctx context.Context, frames []FrameView) ([]meta.Tensor, error) {
	return nil, ErrNotBuilt
}
