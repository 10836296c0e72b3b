//go:build !tensorrt

package trt

import (
	"context"
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
)

func TestStubSaysHowToBuild(t *testing.T) {
	ctx := context.Background()
	assert.ErrorIs(t, Available(), ErrNotBuilt)
	_, err := Build(ctx, BuildOptions{ONNX: "m.onnx"})
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = Open(ctx, Options{})
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = Load(ctx, Options{})
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = Detect(0)
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = LoadLibrary()
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = (&Engine{}).NewContext()
	assert.ErrorIs(t, err, ErrNotBuilt)
	c := &Context{}
	_, err = c.Infer(ctx, meta.Tensor{})
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = (&Context{}).InferFrames(ctx, []FrameView{{}})
	assert.ErrorIs(t, err, ErrNotBuilt)
	assert.Equal(t, 1, c.MaxBatch())
	assert.NoError(t, c.Close())
	assert.Equal(t, Version{}, Headers())
	assert.False(t, Built)
	assert.False(t, FramesBuilt)
	assert.Contains(t, ErrNotBuilt.Error(), "make trt")
	assert.Contains(t, ErrNotBuilt.Error(), "-tags tensorrt")
}
