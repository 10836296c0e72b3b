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

// Headers is the TensorRT this binary was compiled against: none.
func Headers() Version { return Version{} }

// Library is what LoadLibrary found of TensorRT at run time.
type Library struct {
	Version     Version
	Path        string
	Plugins     bool
	PluginError string
}

// LoadLibrary returns ErrNotBuilt.
func LoadLibrary() (Library, error) { return Library{}, ErrNotBuilt }

// Build builds an engine from o.ONNX and writes it to o.Out (or the cache),
// returning the plan's path. Without TensorRT it returns ErrNotBuilt.
func Build(ctx context.Context, o BuildOptions) (string, error) { return "", ErrNotBuilt }

// Engine is a deserialised TensorRT engine. Without TensorRT none can exist.
type Engine struct{}

// Load returns ErrNotBuilt.
func Load(ctx context.Context, o Options) (*Engine, error) { return nil, ErrNotBuilt }

// NewContext returns ErrNotBuilt.
func (e *Engine) NewContext() (*Context, error) { return nil, ErrNotBuilt }

// Inputs returns nil.
func (e *Engine) Inputs() []meta.TensorInfo { return nil }

// Outputs returns nil.
func (e *Engine) Outputs() []meta.TensorInfo { return nil }

// MaxBatch returns 1.
func (e *Engine) MaxBatch() int { return 1 }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Context runs a TensorRT engine. Without TensorRT none can exist.
type Context struct{}

// Open returns ErrNotBuilt.
func Open(ctx context.Context, o Options) (*Context, error) { return nil, ErrNotBuilt }

// Infer returns ErrNotBuilt.
func (c *Context) Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error) {
	return nil, ErrNotBuilt
}

// InferFrames returns ErrNotBuilt.
func (c *Context) InferFrames(ctx context.Context, frames []FrameView) ([]meta.Tensor, error) {
	return nil, ErrNotBuilt
}

// Inputs returns nil.
func (c *Context) Inputs() []meta.TensorInfo { return nil }

// Outputs returns nil.
func (c *Context) Outputs() []meta.TensorInfo { return nil }

// MaxBatch returns 1.
func (c *Context) MaxBatch() int { return 1 }

// Close does nothing.
func (c *Context) Close() error { return nil }
