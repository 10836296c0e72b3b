//go:build tensorrt

package trt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// TestLoadLibrary: TensorRT's libraries are loaded at run time, so this
// binary started wherever it is; where they are missing the error says
// what to install, where they are there they match the headers.
func TestLoadLibrary(t *testing.T) {
	h := Headers()
	t.Logf("compiled against TensorRT %s", h)
	require.GreaterOrEqual(t, h.Major, 8)
	l, err := LoadLibrary()
	if errors.Is(err, ErrNoLibrary) {
		assert.ErrorContains(t, err, fmt.Sprintf("libnvinfer.so.%d", h.Major))
		assert.ErrorContains(t, err, fmt.Sprintf("install TensorRT %d", h.Major))
		t.Skipf("no TensorRT here: %v", err)
	}
	if err != nil {
		// A library this build cannot use: the message says why.
		assert.ErrorContains(t, err, "TensorRT")
		t.Skipf("TensorRT here is not usable: %v", err)
	}
	t.Logf("loaded %s from %s (plugins: %v %s)", l.Version, l.Path, l.Plugins, l.PluginError)
	assert.Equal(t, h.Major, l.Version.Major)
	assert.GreaterOrEqual(t, l.Version.Minor, h.Minor)
	assert.NotEmpty(t, l.Path)
	l2, err2 := LoadLibrary()
	assert.Equal(t, l, l2, "loaded once")
	assert.NoError(t, err2)
}

// TestDetect reads the platform a plan is tied to; it needs TensorRT's
// libraries and a GPU.
func TestDetect(t *testing.T) {
	p, err := Detect(0)
	if err != nil {
		t.Skipf("no TensorRT GPU here: %v", err)
	}
	t.Logf("%s", p)
	assert.NotEmpty(t, p.GPU)
	assert.Regexp(t, `^\d+\.\d+$`, p.ComputeCapability)
	assert.Positive(t, p.SMs)
	assert.Positive(t, p.MemoryGiB)
	_, err = Detect(99)
	assert.ErrorIs(t, err, ErrNoGPU)
}

// TestOpenYuNet needs TensorRT and a GPU; elsewhere (a link-check build
// against stub libraries, a machine without a GPU) it checks that the
// failure is a clear error and skips.
func TestOpenYuNet(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("no TensorRT GPU here: %v", err)
	}
	ctx := context.Background()
	e, err := Open(ctx, Options{BuildOptions: BuildOptions{ONNX: yunet(t), Precision: FP16, Batch: BatchRange{1, 2, 4},
		Shapes: ShapeList{{"input", []int64{1, 3, 320, 320}, []int64{2, 3, 640, 640}, []int64{4, 3, 640, 640}}}, CacheDir: t.TempDir()}})
	require.NoError(t, err)
	defer e.Close()
	assert.Len(t, e.Outputs(), 12)
	assert.Equal(t, 4, e.MaxBatch())
}

// TestInferFramesMatchesInfer runs the GPU preprocessing path against the
// CPU one (the same arithmetic, cuda.PreprocessCPU, then Infer) on one
// engine. It needs TensorRT, the CUDA kernels and a GPU; elsewhere it
// checks the error and skips.
func TestInferFramesMatchesInfer(t *testing.T) {
	ctx := context.Background()
	if !cuda.Built {
		_, err := (&Context{}).InferFrames(ctx, []FrameView{{}})
		assert.ErrorIs(t, err, ErrNoCUDA)
		t.Skip("built without -tags cuda")
	}
	if err := Available(); err != nil {
		t.Skipf("no TensorRT GPU here: %v", err)
	}
	e, err := Open(ctx, Options{BuildOptions: BuildOptions{ONNX: yunet(t), Batch: BatchRange{1, 2, 4},
		Shapes: ShapeList{{"input", []int64{1, 3, 320, 320}, []int64{2, 3, 640, 640}, []int64{4, 3, 640, 640}}}, CacheDir: t.TempDir()}})
	require.NoError(t, err)
	defer e.Close()

	frames := make([]FrameView, 2)
	for i, sz := range [][3]int{{1280, 720, 3840}, {1920, 1080, 5824}} {
		p := cuda.Preprocess{SrcW: sz[0], SrcH: sz[1], SrcStride: sz[2], DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360}
		data := make([]byte, p.InputBytes(1))
		rand.New(rand.NewSource(int64(i))).Read(data)
		frames[i] = FrameView{Data: data, Prep: p}
	}
	want := make([]float32, 2*3*384*640)
	for i, f := range frames {
		require.NoError(t, cuda.PreprocessCPU(f.Data, 1, f.Prep, want[i*3*384*640:]))
	}
	ref, err := e.Infer(ctx, meta.Tensor{Name: "input", Shape: []int{2, 3, 384, 640}, Data: want})
	require.NoError(t, err)
	refs := make([][]float32, len(ref))
	for i, r := range ref {
		refs[i] = append([]float32(nil), r.Data...)
	}
	got, err := e.InferFrames(ctx, frames)
	require.NoError(t, err)
	require.Len(t, got, len(refs))
	for i, g := range got {
		require.Len(t, g.Data, len(refs[i]), g.Name)
		maxErr := 0.0
		for j := range g.Data {
			maxErr = math.Max(maxErr, math.Abs(float64(g.Data[j]-refs[i][j])))
		}
		t.Logf("%s: max abs difference %.3g", g.Name, maxErr)
		assert.Less(t, maxErr, 1e-2, g.Name)
	}
	_, err = e.InferFrames(ctx, []FrameView{frames[0], frames[0], frames[0], frames[0], frames[0]})
	assert.ErrorIs(t, err, ErrBatchTooLarge)
}
