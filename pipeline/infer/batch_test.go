package infer

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
)

// batchedOpenCV presents the real OpenCV engine as one that takes a batch
// of up to max, as a TensorRT engine built with a dynamic batch does
// (TensorRT cannot run here; like it, a larger batch is refused): it runs
// the images one by one and stacks the outputs along a new first
// dimension.
type batchedOpenCV struct {
	*OpenCV
	max   int
	calls int
	sizes []int
	out   []meta.Tensor
}

// MaxBatch is the profile's maximum, as trt.Context reports it.
func (b *batchedOpenCV) MaxBatch() int { return b.max }

func (b *batchedOpenCV) Inputs() []meta.TensorInfo {
	in := b.OpenCV.Inputs()
	s := append([]int{-1}, in[0].Shape[1:]...)
	return []meta.TensorInfo{{Name: in[0].Name, Shape: s}}
}

func (b *batchedOpenCV) Infer(ctx context.Context, in meta.Tensor) ([]meta.Tensor, error) {
	n := in.Shape[0]
	if n > b.max {
		return nil, fmt.Errorf("fake: batch %d outside the profile 1..%d: %w", n, b.max, trt.ErrBatchTooLarge)
	}
	b.calls++
	b.sizes = append(b.sizes, n)
	per := len(in.Data) / n
	b.out = b.out[:0]
	for i := 0; i < n; i++ {
		one := meta.Tensor{Name: in.Name, Shape: append([]int{1}, in.Shape[1:]...), Data: in.Data[i*per : (i+1)*per]}
		outs, err := b.OpenCV.Infer(ctx, one)
		if err != nil {
			return nil, err
		}
		for j, t := range outs {
			if i == 0 {
				b.out = append(b.out, meta.Tensor{Name: t.Name, Shape: append([]int{n}, t.Shape...)})
			}
			b.out[j].Data = append(b.out[j].Data, t.Data...)
		}
	}
	return b.out, nil
}

func TestBatchInferStacksAndSplits(t *testing.T) {
	m, err := Open(Options{Input: models.InputSize{W: 320, H: 240}})
	require.NoError(t, err)
	eng, err := m.NewEngine()
	require.NoError(t, err)
	batched := &batchedOpenCV{OpenCV: eng, max: 8}
	bi := NewBatchInfer(batched)
	defer bi.Close()
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	defer pre.Close()
	dec, err := m.NewDecode()
	require.NoError(t, err)
	det := newDetector(t, Options{Input: models.InputSize{W: 320, H: 240}})

	images := []string{"media/images/gocv_face.jpg", "media/eval/dlib_faces/2007_007763.jpg", "media/images/gocv_face.jpg"}
	var frames []*pipeline.Frame
	for _, p := range images {
		f := &pipeline.Frame{Image: readImage(t, p)}
		require.NoError(t, pre.Process(context.Background(), f))
		frames = append(frames, f)
	}
	defer func() {
		for _, f := range frames {
			f.Release()
		}
	}()
	require.NoError(t, bi.ProcessBatch(context.Background(), frames))
	assert.Equal(t, 1, batched.calls, "one engine call for the batch")
	for i, f := range frames {
		require.NoError(t, dec.Process(context.Background(), f))
		want, err := det.Detect(context.Background(), f.Image)
		require.NoError(t, err)
		require.Len(t, f.Objects, len(want), images[i])
		for k := range want {
			assert.InDelta(t, want[k].Box.X, f.Objects[k].Box.X, 0.01)
			assert.InDelta(t, want[k].Score, f.Objects[k].Score, 1e-5)
		}
		assert.NotEmpty(t, f.Objects, images[i])
	}
}

// TestBatchInferKeepsToTheProfile: with --batch 2 the TensorRT profile
// stops at 2, so five frames go as 2, 2 and 1 (each larger group would be
// refused).
func TestBatchInferKeepsToTheProfile(t *testing.T) {
	m, err := Open(Options{Input: models.InputSize{W: 320, H: 240}})
	require.NoError(t, err)
	eng, err := m.NewEngine()
	require.NoError(t, err)
	batched := &batchedOpenCV{OpenCV: eng, max: 2}
	bi := NewBatchInfer(batched)
	defer bi.Close()
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	defer pre.Close()
	var frames []*pipeline.Frame
	for i := 0; i < 5; i++ {
		f := &pipeline.Frame{Image: readImage(t, "media/images/gocv_face.jpg")}
		defer f.Release()
		require.NoError(t, pre.Process(context.Background(), f))
		frames = append(frames, f)
	}
	require.NoError(t, bi.ProcessBatch(context.Background(), frames))
	assert.Equal(t, []int{2, 2, 1}, batched.sizes)
	for _, f := range frames {
		assert.Len(t, f.Outputs, 3)
	}
}

// fixedEngine reports an input shape and nothing else.
type fixedEngine struct {
	Engine
	shape []int
}

func (f fixedEngine) Inputs() []meta.TensorInfo {
	return []meta.TensorInfo{{Name: "input", Shape: f.shape}}
}

func TestMaxBatch(t *testing.T) {
	assert.Equal(t, 1, MaxBatch(fixedEngine{shape: []int{1, 3, 120, 160}}))
	assert.Equal(t, 4, MaxBatch(fixedEngine{shape: []int{4, 3, 640, 640}}), "a fixed batch of 4")
	assert.Equal(t, 1, MaxBatch(fixedEngine{shape: []int{-1, 3, 640, 640}}), "a dynamic batch without a known limit is not unlimited")
	assert.Equal(t, 6, MaxBatch(&batchedOpenCV{max: 6}))
	assert.Equal(t, 1, MaxBatch(&batchedOpenCV{max: 0}))
}

func TestBatchInferWithoutBatchRunsFrameByFrame(t *testing.T) {
	m, err := Open(Options{})
	require.NoError(t, err)
	eng, err := m.NewEngine()
	require.NoError(t, err)
	bi := NewBatchInfer(eng)
	defer bi.Close()
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	defer pre.Close()
	var frames []*pipeline.Frame
	for i := 0; i < 2; i++ {
		f := &pipeline.Frame{Image: readImage(t, "media/images/gocv_face.jpg")}
		require.NoError(t, pre.Process(context.Background(), f))
		frames = append(frames, f)
	}
	require.NoError(t, bi.ProcessBatch(context.Background(), frames))
	for _, f := range frames {
		assert.Len(t, f.Outputs, 3)
		f.Release()
	}
}
