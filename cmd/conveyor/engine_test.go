package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/trt"
)

func TestEngineBuild(t *testing.T) {
	onnx := asset(t, "models/yunet/yunet_s_dynamic.onnx")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no onnx", []string{"engine", "build"}, "onnx"},
		{"missing onnx", []string{"engine", "build", "--onnx", filepath.Join(t.TempDir(), "x.onnx")}, "x.onnx"},
		{"bad precision", []string{"engine", "build", "--onnx", onnx, "--precision", "fp8"}, "fp8"},
		{"bad batch", []string{"engine", "build", "--onnx", onnx, "--batch", "8:4:1"}, "batch"},
		{"int8 without calibration", []string{"engine", "build", "--onnx", onnx, "--precision", "int8"}, "calib"},
		{"bad shape", []string{"engine", "build", "--onnx", onnx, "--shape", "input=1xAx3"}, "shape"},
		{"dynamic-hw without shape", []string{"engine", "build", "--onnx", asset(t, "models/yunet/face_detection_yunet_2022mar.onnx"), "--dynamic-hw"}, "--dynamic-hw needs --shape"},
	}
	if !trt.Built {
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"not built with tensorrt", []string{"engine", "build", "--onnx", onnx, "--fp16", "--batch", "1:4:8",
			"--shape", "input=1x3x320x320:4x3x640x640:8x3x640x640"}, "make trt"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conveyor(t, tc.args...)
			require.Error(t, err)
			assert.Contains(t, oneLine(err), tc.want)
		})
	}
	if !trt.Built {
		// --dynamic-hw writes its copy before TensorRT is needed.
		dir := t.TempDir()
		_, err := conveyor(t, "engine", "build", "--onnx", asset(t, "models/yunet/face_detection_yunet_2022mar.onnx"), "--dynamic-hw",
			"--shape", "input=1x3x64x64:1x3x480x640:1x3x640x640", "--cache-dir", dir)
		require.ErrorContains(t, err, "make trt")
		copies, err := filepath.Glob(filepath.Join(dir, "onnx", "*-dynamic-hw.onnx"))
		require.NoError(t, err)
		require.Len(t, copies, 1)
		info, err := models.ReadONNX(copies[0])
		require.NoError(t, err)
		assert.Equal(t, []int{1, 3, -1, -1}, info.Inputs[0].Shape)
	}
}

func TestBackendChoice(t *testing.T) {
	got, err := chooseBackend(infer.AutoBackend)
	require.NoError(t, err)
	if trt.Built {
		t.Skip("this binary has TensorRT: auto depends on the GPU")
	}
	assert.Equal(t, infer.OpenCVBackend, got, "auto falls back to OpenCV without TensorRT")
	_, err = chooseBackend(infer.TensorRTBackend)
	require.ErrorContains(t, err, "make trt")
	_ = models.DefaultModel
}
