package infer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
)

var benchCases = []struct {
	model string
	sizes []string
}{
	{yunet22, []string{"frame", "320", "160"}},
	{yunet23, []string{"frame", "320"}},
	{ultra320, []string{"default"}},
	{ultra640, []string{"default"}},
	{ultraRaw, []string{"default"}},
}

// benchSetup preprocesses gocv_face.jpg (640x480) for a model and size.
func benchSetup(b *testing.B, model, size string) (*Model, *pipeline.Frame) {
	sz, err := models.ParseInputSize(size)
	require.NoError(b, err)
	m, err := Open(Options{Model: asset(b, model), Input: sz})
	require.NoError(b, err)
	f := &pipeline.Frame{Image: readImage(b, "media/images/gocv_face.jpg")}
	b.Cleanup(f.Release)
	pre, err := m.NewPreprocess()
	require.NoError(b, err)
	defer pre.Close()
	require.NoError(b, pre.Process(context.Background(), f))
	return m, f
}

func benchName(model, size string, f *pipeline.Frame) string {
	return fmt.Sprintf("%s/%s=%dx%d", filepath.Base(model), size, f.Geometry.InputW, f.Geometry.InputH)
}

// BenchmarkForward: the OpenCV forward pass (with the input and output
// copies) on a 640x480 frame.
func BenchmarkForward(b *testing.B) {
	for _, c := range benchCases {
		for _, size := range c.sizes {
			m, f := benchSetup(b, c.model, size)
			b.Run(benchName(c.model, size, f), func(b *testing.B) {
				e, err := m.NewEngine()
				require.NoError(b, err)
				defer e.Close()
				for b.Loop() {
					if _, err := e.Infer(context.Background(), f.Input); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPreprocess: resize, pad, blob for a 640x480 frame.
func BenchmarkPreprocess(b *testing.B) {
	img := readImage(b, "media/images/gocv_face.jpg")
	defer img.Close()
	for _, c := range benchCases {
		for _, size := range c.sizes {
			m, f := benchSetup(b, c.model, size)
			b.Run(benchName(c.model, size, f), func(b *testing.B) {
				pre, err := m.NewPreprocess()
				require.NoError(b, err)
				defer pre.Close()
				for b.Loop() {
					blob, _, err := pre.blob(img)
					if err != nil {
						b.Fatal(err)
					}
					blob.Close()
				}
			})
		}
	}
}

// BenchmarkDecode: decoding and NMS of real outputs (one face) at the
// default threshold.
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases {
		for _, size := range c.sizes {
			m, f := benchSetup(b, c.model, size)
			b.Run(benchName(c.model, size, f), func(b *testing.B) {
				inf, err := m.NewInfer()
				require.NoError(b, err)
				defer inf.Close()
				require.NoError(b, inf.Process(context.Background(), f))
				dec, err := m.Spec.NewDecoder(m.Opts)
				require.NoError(b, err)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := dec.Decode(f.Outputs, f.Geometry); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDetect: the whole Detector on a 640x480 frame, default input.
func BenchmarkDetect(b *testing.B) {
	img := readImage(b, "media/images/gocv_face.jpg")
	defer img.Close()
	d, err := NewDetector(Options{})
	require.NoError(b, err)
	defer d.Close()
	for b.Loop() {
		if _, err := d.Detect(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
}
