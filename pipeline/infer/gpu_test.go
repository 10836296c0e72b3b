package infer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// cpuFrameEngine stands in for the GPU that cannot exist here: it runs the
// CUDA kernel's CPU reference (cuda.PreprocessCPU, the same arithmetic) on
// each frame view and a real OpenCV engine on the result. With batch it
// claims a dynamic batch of at most max frames (as a TensorRT context's
// profile does, which refuses more) and stacks per-frame outputs along
// dimension 0, as a batched TensorRT engine returns them.
type cpuFrameEngine struct {
	Engine
	batch bool
	max   int
	calls []int // frames per InferFrames call
	in    []float32
	out   []meta.Tensor
	err   error
}

func (c *cpuFrameEngine) Inputs() []meta.TensorInfo {
	in := c.Engine.Inputs()
	if !c.batch {
		return in
	}
	shape := append([]int{-1}, in[0].Shape[1:]...)
	return []meta.TensorInfo{{Name: in[0].Name, Shape: shape}}
}

// MaxBatch is the profile's maximum, as trt.Context reports it.
func (c *cpuFrameEngine) MaxBatch() int {
	if !c.batch {
		return 1
	}
	return c.max
}

func (c *cpuFrameEngine) InferFrames(ctx context.Context, frames []trt.FrameView) ([]meta.Tensor, error) {
	if c.err != nil {
		return nil, c.err
	}
	if len(frames) > c.MaxBatch() {
		return nil, fmt.Errorf("fake: batch of %d on an engine that takes %d: %w", len(frames), c.MaxBatch(), trt.ErrBatchTooLarge)
	}
	c.calls = append(c.calls, len(frames))
	c.out = c.out[:0]
	for i, f := range frames {
		p := f.Prep
		c.in = append(c.in[:0], make([]float32, p.OutputLen(1))...)
		if err := cuda.PreprocessCPU(f.Data, 1, p, c.in); err != nil {
			return nil, err
		}
		outs, err := c.Engine.Infer(ctx, meta.Tensor{Name: c.Engine.Inputs()[0].Name, Shape: []int{1, 3, p.DstH, p.DstW}, Data: c.in})
		if err != nil {
			return nil, err
		}
		for j, o := range outs {
			if i == 0 {
				c.out = append(c.out, meta.Tensor{Name: o.Name, Shape: append([]int(nil), o.Shape...)})
			} else {
				c.out[j].Shape[0] += o.Shape[0]
			}
			c.out[j].Data = append(c.out[j].Data, o.Data...)
		}
	}
	return c.out, nil
}

// cpuLine runs Preprocess → Infer → Decode on f.
func cpuLine(t *testing.T, m *Model, f *pipeline.Frame) {
	t.Helper()
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	defer pre.Close()
	inf, err := m.NewInfer()
	require.NoError(t, err)
	defer inf.Close()
	dec, err := m.NewDecode()
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, pre.Process(ctx, f))
	require.NoError(t, inf.Process(ctx, f))
	require.NoError(t, dec.Process(ctx, f))
}

func newGPUInfer(t *testing.T, m *Model, batch bool) (*GPUInfer, *cpuFrameEngine) {
	t.Helper()
	e, err := m.NewEngine()
	require.NoError(t, err)
	fe := &cpuFrameEngine{Engine: e, batch: batch, max: 4}
	g, err := NewGPUInfer(m.Spec, m.Input, fe)
	if err != nil {
		_ = e.Close()
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, g.Close()) })
	return g, fe
}

func resized(t *testing.T, rel string, w, h int) gocv.Mat {
	t.Helper()
	img := readImage(t, rel)
	if img.Cols() == w && img.Rows() == h {
		return img
	}
	out := gocv.NewMat()
	gocv.Resize(img, &out, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	require.NoError(t, img.Close())
	return out
}

// TestGPUGeometryMatchesPreprocess checks, for several specs, input sizes
// and frame sizes, that the CUDA parameters put the frame where the CPU
// Preprocess does: the kernel's geometry, GPUInfer's f.Geometry and
// Preprocess's f.Geometry are the same.
func TestGPUGeometryMatchesPreprocess(t *testing.T) {
	checkMats(t)
	ultra, err := models.Lookup("ultraface")
	require.NoError(t, err)
	ultra640 := ultra
	ultra640.InputW, ultra640.InputH = 640, 480
	y22, err := models.Lookup("yunet-2022mar")
	require.NoError(t, err)
	y23, err := models.Lookup("yunet-2023mar")
	require.NoError(t, err)
	specs := []struct {
		spec  models.Spec
		sizes []string
	}{
		{y22, []string{"default", "320", "frame", "320x240", "640x640"}},
		{y23, []string{"default", "320", "frame", "640x640", "300x200"}},
		{ultra, []string{"default"}},
		{ultra640, []string{"default"}},
	}
	frames := [][2]int{{1920, 1080}, {1280, 720}, {640, 480}, {480, 640}, {333, 199}}
	for _, s := range specs {
		for _, size := range s.sizes {
			sz, err := models.ParseInputSize(size)
			require.NoError(t, err)
			t.Run(s.spec.Name+"/"+size, func(t *testing.T) {
				pre, err := NewPreprocess(s.spec, sz)
				require.NoError(t, err)
				defer pre.Close()
				g := &GPUInfer{spec: s.spec, size: sz, plans: map[[2]int]models.Plan{}}
				for _, fr := range frames {
					img := gocv.NewMatWithSize(fr[1], fr[0], gocv.MatTypeCV8UC3)
					f := &pipeline.Frame{Image: img}
					require.NoError(t, pre.Process(context.Background(), f))
					v, plan, err := g.view(f)
					require.NoError(t, err)
					g.closeDense()
					kg := KernelGeometry(v.Prep)
					assert.Equal(t, f.Geometry, plan.Geometry, "%dx%d: plan", fr[0], fr[1])
					assert.Equal(t, f.Geometry, kg, "%dx%d: kernel", fr[0], fr[1])
					assert.Equal(t, []int{1, 3, kg.InputH, kg.InputW}, f.Input.Shape, "%dx%d: input shape", fr[0], fr[1])
					assert.Equal(t, v.Prep.OutputLen(1), len(f.Input.Data))
					assert.Equal(t, s.spec.Color == models.RGB, v.Prep.SwapRB)
					assert.Equal(t, 3*fr[0], v.Prep.SrcStride)
					f.Release()
				}
			})
		}
	}
}

// TestGPUTensorMatchesPreprocess compares the tensors: Preprocess's blob
// (OpenCV resize to uint8, then blobFromImage) against the kernel's CPU
// reference with GPUPreprocess's parameters, on a real photo at several
// frame sizes. OpenCV rounds the resized picture to integers, the kernel
// does not: they may differ by up to one pixel level (in the spec's
// scale); at the frame's own size they are equal.
func TestGPUTensorMatchesPreprocess(t *testing.T) {
	checkMats(t)
	cases := []struct {
		model, size string
		w, h        int
	}{
		{yunet22, "default", 1280, 720},
		{yunet22, "frame", 640, 480},
		{yunet23, "default", 1280, 720},
		{yunet23, "640x640", 1024, 768},
		{yunet23, "frame", 320, 256},
		{ultra320, "default", 1280, 720},
		{ultra320, "default", 320, 240},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%dx%d", filepath.Base(c.model), c.size, c.w, c.h), func(t *testing.T) {
			sz, err := models.ParseInputSize(c.size)
			require.NoError(t, err)
			m, err := Open(Options{Model: asset(t, c.model), Input: sz})
			require.NoError(t, err)
			pre, err := m.NewPreprocess()
			require.NoError(t, err)
			defer pre.Close()
			f := &pipeline.Frame{Image: resized(t, "media/images/dlib_bald_guys.jpg", c.w, c.h)}
			defer f.Release()
			require.NoError(t, pre.Process(context.Background(), f))
			plan, err := m.Spec.Plan(m.Input, c.w, c.h)
			require.NoError(t, err)
			p, err := GPUPreprocess(m.Spec, plan, f.Image.Step())
			require.NoError(t, err)
			data, err := f.Image.DataPtrUint8()
			require.NoError(t, err)
			got := make([]float32, p.OutputLen(1))
			require.NoError(t, cuda.PreprocessCPU(data, 1, p, got))
			require.Len(t, f.Input.Data, len(got))
			maxErr := 0.0
			for i := range got {
				maxErr = math.Max(maxErr, math.Abs(float64(got[i]-f.Input.Data[i]))/m.Spec.Scale)
			}
			t.Logf("%s: input %dx%d, picture %dx%d: max difference %.3g pixel levels", m.Spec.Name, plan.InputW, plan.InputH, plan.ResizeW, plan.ResizeH, maxErr)
			if plan.ResizeW == c.w && plan.ResizeH == c.h {
				assert.LessOrEqual(t, maxErr, 1e-3, "no resize: the same tensor")
			} else {
				assert.LessOrEqual(t, maxErr, 1.0)
			}
		})
	}
}

// TestGPUInferDetectsLikeCPU runs the GPU stage (with the kernel's CPU
// reference and a real OpenCV engine standing in for the GPU) and the CPU
// line on the same photos: same geometry, the same faces.
func TestGPUInferDetectsLikeCPU(t *testing.T) {
	checkMats(t)
	cases := []struct{ model, size string }{
		{yunet22, "default"}, {yunet23, "default"}, {yunet23, "640x640"}, {ultra320, "default"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.model)+"/"+c.size, func(t *testing.T) {
			sz, err := models.ParseInputSize(c.size)
			require.NoError(t, err)
			m, err := Open(Options{Model: asset(t, c.model), Input: sz})
			require.NoError(t, err)
			g, _ := newGPUInfer(t, m, false)
			dec, err := m.NewDecode()
			require.NoError(t, err)
			for _, img := range []string{"gocv_face.jpg", "dlib_bald_guys.jpg"} {
				cpu := &pipeline.Frame{Image: readImage(t, "media/images/"+img)}
				cpuLine(t, m, cpu)
				gpu := &pipeline.Frame{Image: readImage(t, "media/images/"+img)}
				require.NoError(t, g.Process(context.Background(), gpu))
				assert.Empty(t, gpu.Input.Data, "the GPU path has no host input tensor")
				require.NoError(t, dec.Process(context.Background(), gpu))
				assert.Equal(t, cpu.Geometry, gpu.Geometry, img)
				assertSameObjects(t, cpu.Objects, gpu.Objects, img)
				t.Logf("%s: %d faces on both paths", img, len(gpu.Objects))
				cpu.Release()
				gpu.Release()
				assert.Nil(t, gpu.Outputs, "outputs go back to the pool with the frame")
			}
		})
	}
}

// assertSameObjects matches each CPU detection to a GPU one within two
// pixels and 0.05 of score (the inputs differ by OpenCV's uint8 rounding).
func assertSameObjects(t *testing.T, cpu, gpu []meta.Object, what string) {
	t.Helper()
	require.NotEmpty(t, cpu, what)
	require.Len(t, gpu, len(cpu), what)
	used := make([]bool, len(gpu))
	for _, a := range cpu {
		found := false
		for j, b := range gpu {
			if !used[j] && math.Abs(float64(a.Box.X-b.Box.X)) <= 2 && math.Abs(float64(a.Box.Y-b.Box.Y)) <= 2 &&
				math.Abs(float64(a.Box.W-b.Box.W)) <= 2 && math.Abs(float64(a.Box.H-b.Box.H)) <= 2 &&
				math.Abs(float64(a.Score-b.Score)) <= 0.05 {
				used[j], found = true, true
				break
			}
		}
		assert.True(t, found, "%s: CPU box %+v (score %.3f) has no GPU match", what, a.Box, a.Score)
	}
}

// TestGPUInferBatch sends frames of three sizes, two of which make the same
// input, through ProcessBatch: equal inputs share one engine call, and each
// frame gets its own objects, as the CPU line finds them.
func TestGPUInferBatch(t *testing.T) {
	checkMats(t)
	sz, err := models.ParseInputSize("640x640")
	require.NoError(t, err)
	m, err := Open(Options{Model: asset(t, yunet23), Input: sz})
	require.NoError(t, err)
	g, fe := newGPUInfer(t, m, true)
	assert.Equal(t, 4, g.max, "the engine's profile maximum")
	dec, err := m.NewDecode()
	require.NoError(t, err)
	// 640x640 input: 1280x720 and 1024x576 both become 640x360 in 640x640;
	// gocv_face.jpg (another aspect) becomes another picture, same input.
	imgs := []struct {
		rel  string
		w, h int
	}{{"dlib_bald_guys.jpg", 1280, 720}, {"dlib_bald_guys.jpg", 1024, 576}, {"gocv_face.jpg", 0, 0}}
	var fs, cpus []*pipeline.Frame
	for i, im := range imgs {
		img := readImage(t, "media/images/"+im.rel)
		if im.w > 0 {
			_ = img.Close()
			img = resized(t, "media/images/"+im.rel, im.w, im.h)
		}
		fs = append(fs, &pipeline.Frame{Image: img, Number: int64(i)})
		cpus = append(cpus, &pipeline.Frame{Image: img.Clone(), Number: int64(i)})
	}
	defer func() {
		for i := range fs {
			fs[i].Release()
			cpus[i].Release()
		}
	}()
	require.NoError(t, g.ProcessBatch(context.Background(), fs))
	assert.Equal(t, []int{3}, fe.calls, "one engine call for the three frames")
	for i, f := range fs {
		require.NoError(t, dec.Process(context.Background(), f))
		cpuLine(t, m, cpus[i])
		assert.Equal(t, cpus[i].Geometry, f.Geometry, "frame %d", i)
		assertSameObjects(t, cpus[i].Objects, f.Objects, fmt.Sprintf("frame %d", i))
	}

	// A 320 input (frame size mode) makes two groups.
	sz320, err := models.ParseInputSize("320")
	require.NoError(t, err)
	m.Input = sz320
	g2, fe2 := newGPUInfer(t, m, true)
	a := &pipeline.Frame{Image: resized(t, "media/images/dlib_bald_guys.jpg", 1280, 720)}
	b := &pipeline.Frame{Image: resized(t, "media/images/dlib_bald_guys.jpg", 640, 360)}
	c := &pipeline.Frame{Image: resized(t, "media/images/gocv_face.jpg", 480, 640)}
	defer a.Release()
	defer b.Release()
	defer c.Release()
	require.NoError(t, g2.ProcessBatch(context.Background(), []*pipeline.Frame{a, b, c}))
	assert.Equal(t, []int{2, 1}, fe2.calls, "1280x720 and 640x360 share a 320x192 input, 480x640 does not")
	assert.Equal(t, a.Geometry.InputW, b.Geometry.InputW)
	assert.NotEqual(t, a.Geometry.InputH, c.Geometry.InputH)

	// Five frames of one input size on an engine whose profile stops at 2
	// (conveyor run --batch 2): groups of 2, 2 and 1, never more than the
	// profile takes.
	g3, fe3 := newGPUInfer(t, m, true)
	fe3.max = 2
	g3.max = MaxBatch(fe3)
	var five []*pipeline.Frame
	for i := 0; i < 5; i++ {
		f := &pipeline.Frame{Image: resized(t, "media/images/dlib_bald_guys.jpg", 1280, 720), Number: int64(i)}
		defer f.Release()
		five = append(five, f)
	}
	require.NoError(t, g3.ProcessBatch(context.Background(), five))
	assert.Equal(t, []int{2, 2, 1}, fe3.calls)
	for _, f := range five {
		assert.NotEmpty(t, f.Outputs, "frame %d", f.Number)
	}
}

func TestGPUInferErrors(t *testing.T) {
	checkMats(t)
	m, err := Open(Options{Model: asset(t, yunet22)})
	require.NoError(t, err)
	ctx := context.Background()

	t.Run("bad frames are skipped", func(t *testing.T) {
		g, fe := newGPUInfer(t, m, false)
		empty := &pipeline.Frame{}
		assert.ErrorIs(t, g.Process(ctx, empty), pipeline.ErrSkipFrame)
		gray := &pipeline.Frame{Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC1)}
		defer gray.Release()
		assert.ErrorIs(t, g.Process(ctx, gray), pipeline.ErrSkipFrame)
		assert.Empty(t, fe.calls, "nothing reached the engine")
	})
	t.Run("a frame too small for the model ends its source, as on the CPU", func(t *testing.T) {
		g, fe := newGPUInfer(t, m, false)
		f := &pipeline.Frame{Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3), Number: 3}
		defer f.Release()
		err := g.Process(ctx, f)
		assert.ErrorIs(t, err, pipeline.ErrBadSource)
		assert.ErrorContains(t, err, "frame 64x48 is too small for the model")
		assert.Empty(t, fe.calls, "nothing reached the engine")
	})
	t.Run("engine errors stop the line", func(t *testing.T) {
		g, fe := newGPUInfer(t, m, false)
		fe.err = trt.ErrNoCUDA
		f := &pipeline.Frame{Image: gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3), Number: 7}
		defer f.Release()
		err := g.Process(ctx, f)
		assert.ErrorIs(t, err, trt.ErrNoCUDA)
		assert.NotErrorIs(t, err, pipeline.ErrSkipFrame)
		assert.ErrorContains(t, err, "frame 7")
	})
	t.Run("a non-continuous image is copied", func(t *testing.T) {
		g, fe := newGPUInfer(t, m, false)
		big := readImage(t, "media/images/gocv_face.jpg")
		defer big.Close()
		roi := big.Region(image.Rect(10, 10, big.Cols()-10, big.Rows()-10))
		require.False(t, roi.IsContinuous())
		f := &pipeline.Frame{Image: roi}
		defer f.Release()
		require.NoError(t, g.Process(ctx, f))
		assert.Equal(t, []int{1}, fe.calls)
		assert.Equal(t, big.Cols()-20, f.Geometry.FrameW)
		assert.NotEmpty(t, f.Outputs)
	})
	t.Run("closed", func(t *testing.T) {
		g, _ := newGPUInfer(t, m, false)
		require.NoError(t, g.Close())
		require.NoError(t, g.Close())
		f := &pipeline.Frame{Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)}
		defer f.Release()
		assert.ErrorIs(t, g.Process(ctx, f), ErrClosed)
	})
	t.Run("constructor", func(t *testing.T) {
		_, err := NewGPUInfer(m.Spec, m.Input, nil)
		assert.Error(t, err)
		ultra, err := models.Lookup("ultraface")
		require.NoError(t, err)
		_, err = NewGPUInfer(ultra, models.InputSize{W: 640, H: 480}, &cpuFrameEngine{})
		assert.ErrorContains(t, err, "runs only at 320x240")
		zero := m.Spec
		zero.Scale = 0
		_, err = NewGPUInfer(zero, m.Input, &cpuFrameEngine{})
		assert.ErrorContains(t, err, "scale 0")
	})
	t.Run("the TensorRT engine of this build", func(t *testing.T) {
		// Without -tags "tensorrt cuda" the real engine says how to build.
		if trt.FramesBuilt {
			t.Skip("built with TensorRT and CUDA: trt's own GPU test covers InferFrames")
		}
		_, err := (&trt.Context{}).InferFrames(ctx, []trt.FrameView{{}})
		assert.True(t, errors.Is(err, trt.ErrNotBuilt) || errors.Is(err, trt.ErrNoCUDA), "%v", err)
	})
}
