package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/trt"
)

// TestTensorRTOptions: what conveyor run hands to trt.Load, from the flags:
// the model, the user's TensorRT options, and a batch profile of 1 to
// --batch frames that a fixed-batch model may ignore.
func TestTensorRTOptions(t *testing.T) {
	clip := "../../assets/media/video/head-pose-face-detection-female-and-male.mp4"
	cfg, err := parseRun(t, "--source", clip, "--batch", "4", "--precision", "fp32",
		"--shape", "input=1x3x320x320:4x3x640x640:4x3x640x640", "--engine-cache", t.TempDir())
	require.NoError(t, err)
	o := tensorRTOptions(cfg, &infer.Model{Path: "m.onnx"})
	assert.Equal(t, "m.onnx", o.ONNX)
	assert.Equal(t, trt.BatchRange{Min: 1, Opt: 4, Max: 4}, o.Batch, "--batch 4 is the profile 1:4:4")
	assert.True(t, o.FixedBatchOK, "a batch-1 model runs the frames one by one")
	assert.Equal(t, trt.FP32, o.Precision)
	require.Len(t, o.Shapes, 1)
	assert.Equal(t, []int64{4, 3, 640, 640}, o.Shapes[0].Max)
	assert.NotNil(t, o.Logf)

	cfg, err = parseRun(t, "--source", clip)
	require.NoError(t, err)
	o = tensorRTOptions(cfg, &infer.Model{Path: "m.onnx"})
	assert.Equal(t, trt.BatchRange{Min: 1, Opt: 1, Max: 1}, o.Batch)
	assert.Empty(t, o.Plan)
}
