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
	e := &Engine{}
	_, err = e.Infer(ctx, meta.Tensor{})
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = (&Engine{}).InferFrames(ctx, []FrameView{{}})
	assert.ErrorIs(t, err, ErrNotBuilt)
	assert.NoError(t, e.Close())
	assert.False(t, Built)
	assert.False(t, FramesBuilt)
	assert.Contains(t, ErrNotBuilt.Error(), "make trt")
	assert.Contains(t, ErrNotBuilt.Error(), "-tags tensorrt")
}
