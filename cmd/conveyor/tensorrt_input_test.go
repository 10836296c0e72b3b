package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
)

func openModel(t *testing.T, rel, input string) *infer.Model {
	t.Helper()
	o := infer.DefaultOptions()
	if rel != "" {
		p, err := models.Asset(rel)
		require.NoError(t, err)
		o.Model = p
		if strings.Contains(rel, "ultraface") {
			o.MinFace = 0 // no small-face calibration
		}
	}
	if input != "" {
		require.NoError(t, o.Input.UnmarshalText([]byte(input)))
	}
	m, err := infer.Open(o)
	require.NoError(t, err)
	return m
}

// TestTensorRTGeometry: on TensorRT the default model runs at the input
// size the OpenCV backend gives it (640 on the longer side), never at the
// 160x120 its file was exported at (issue 14), and the profile covers the
// small-face pass's tiles and canvases (up to 1024 a side) when it is on.
func TestTensorRTGeometry(t *testing.T) {
	shape := func(n, h, w int64) []int64 { return []int64{n, 3, h, w} }
	cases := []struct {
		name, model, input string
		noRefine           bool
		user               trt.ShapeList
		want               tensorRTInput
		err                string
	}{
		{name: "default model, default size: 64x64 to 1024x1024 (the small-face pass), best at 640x480",
			want: tensorRTInput{Dynamic: true, MaxSide: 1024, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 64, 64), Opt: shape(1, 480, 640), Max: shape(1, 1024, 1024)}}},
		{name: "without the small-face pass: up to 640x640", noRefine: true,
			want: tensorRTInput{Dynamic: true, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 64, 64), Opt: shape(1, 480, 640), Max: shape(1, 640, 640)}}},
		{name: "--input-size 1280", input: "1280",
			want: tensorRTInput{Dynamic: true, MaxSide: 1280, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 64, 64), Opt: shape(1, 960, 1280), Max: shape(1, 1280, 1280)}}},
		{name: "--input-size 320x240 --min-face 0", input: "320x240", noRefine: true,
			want: tensorRTInput{Dynamic: true, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 240, 320), Opt: shape(1, 240, 320), Max: shape(1, 240, 320)}}},
		{name: "--input-size 320x240 with the small-face pass", input: "320x240",
			want: tensorRTInput{Dynamic: true, MaxSide: 1024, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 64, 64), Opt: shape(1, 240, 320), Max: shape(1, 1024, 1024)}}},
		{name: "--input-size 160x120 --min-face 0 is the file's own size", input: "160x120", noRefine: true, want: tensorRTInput{}},
		{name: "--input-size frame needs --shape", input: "frame", err: "--input-size frame: the engine needs the largest input"},
		{name: "--input-size frame with --shape", input: "frame",
			user: trt.ShapeList{{Name: "input", Min: shape(1, 64, 64), Opt: shape(1, 1080, 1920), Max: shape(1, 1080, 1920)}},
			want: tensorRTInput{Dynamic: true, MaxSide: 1080}},
		{name: "2023mar pads to 32", model: "models/yunet/face_detection_yunet_2023mar.onnx", input: "600", noRefine: true,
			want: tensorRTInput{Dynamic: true, Profile: &trt.ShapeRange{Name: "input",
				Min: shape(1, 64, 64), Opt: shape(1, 480, 608), Max: shape(1, 608, 608)}}},
		{name: "UltraFace runs at its size on both backends", model: "models/ultraface/version-RFB-320.onnx", want: tensorRTInput{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := openModel(t, c.model, c.input)
			minFace := m.MinFace
			if c.noRefine {
				minFace = 0
			}
			got, err := planTensorRTInput(m.Spec, m.Info, m.Input, 1, c.user, minFace)
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			if got.Profile != nil {
				// trt's own check of a profile against the dynamic input.
				in := []trt.TensorDesc{{Name: "input", Input: true, Shape: []int64{int64(m.Info.Inputs[0].Shape[0]), 3, -1, -1}}}
				_, err := trt.ResolveProfiles(in, trt.BatchProfile(1), []trt.ShapeRange{*got.Profile}, true)
				assert.NoError(t, err)
			}
			if got.MaxSide > 0 {
				assert.GreaterOrEqual(t, got.MaxSide, infer.MaxCanvasSide, "the pass's canvases fit")
			}
		})
	}
}

func TestTensorRTGeometryDynamicBatch(t *testing.T) {
	spec, err := models.Lookup("yunet-2023mar")
	require.NoError(t, err)
	info := models.ModelInfo{Inputs: []meta.TensorInfo{{Name: "input", Shape: []int{-1, 3, -1, -1}}}}
	got, err := planTensorRTInput(spec, info, models.InputSize{}, 4, nil, 0)
	require.NoError(t, err)
	assert.False(t, got.Dynamic, "already dynamic")
	require.NotNil(t, got.Profile)
	assert.Equal(t, []int64{1, 3, 64, 64}, got.Profile.Min)
	assert.Equal(t, []int64{4, 3, 480, 640}, got.Profile.Opt)
	assert.Equal(t, []int64{4, 3, 640, 640}, got.Profile.Max)
}

// TestTensorRTFixedEngineRefused: a plan fixed at 160x120 (built elsewhere
// from the file as exported) is refused for a model that runs at 640 on
// OpenCV, unless the user asks for that size.
func TestTensorRTFixedEngineRefused(t *testing.T) {
	m := openModel(t, "", "")
	fixed := []meta.TensorInfo{{Name: "input", Shape: []int{1, 3, 120, 160}}}
	err := checkTensorRTInput(m.Spec, m.Input, fixed)
	assert.ErrorContains(t, err, "fixed 160x120 input, but yunet-2022mar runs at input size 640")
	assert.ErrorContains(t, err, "--input-size 160x120")
	assert.NoError(t, checkTensorRTInput(m.Spec, models.InputSize{W: 160, H: 120}, fixed))
	assert.NoError(t, checkTensorRTInput(m.Spec, m.Input, []meta.TensorInfo{{Name: "input", Shape: []int{1, 3, -1, -1}}}))
	u := openModel(t, "models/ultraface/version-RFB-320.onnx", "")
	assert.NoError(t, checkTensorRTInput(u.Spec, u.Input, []meta.TensorInfo{{Name: "input", Shape: []int{1, 3, 240, 320}}}))
}

func TestDynamicCopy(t *testing.T) {
	dir := t.TempDir()
	m := openModel(t, "", "")
	p, err := dynamicCopy(dir, m.Path, "input")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "onnx"), filepath.Dir(p))
	info, err := models.ReadONNX(p)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 3, -1, -1}, info.Inputs[0].Shape)
	st, err := os.Stat(p)
	require.NoError(t, err)
	p2, err := dynamicCopy(dir, m.Path, "input")
	require.NoError(t, err)
	assert.Equal(t, p, p2, "named by the original's content")
	st2, err := os.Stat(p2)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime(), "an existing copy is kept")
	left, err := filepath.Glob(filepath.Join(dir, "onnx", ".dynamic-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left")

	_, err = dynamicCopy(dir, filepath.Join(dir, "missing.onnx"), "input")
	assert.Error(t, err)
	bad := filepath.Join(dir, "bad.onnx")
	require.NoError(t, os.WriteFile(bad, []byte("not a model"), 0o644))
	_, err = dynamicCopy(dir, bad, "input")
	assert.ErrorIs(t, err, models.ErrBadModel)
}
