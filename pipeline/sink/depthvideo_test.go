package sink

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
)

// TestDepthVideoEndSource writes colourised depth for two sources through a
// real sink.Video: ending source 1 finalizes its file at once, source 0's
// waits for Close.
func TestDepthVideoEndSource(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "depth.avi")
	v, err := NewVideo(VideoOptions{Path: out})
	require.NoError(t, err)
	col, err := depth.NewColorizer(5)
	require.NoError(t, err)
	s := NewDepthVideo(col, v)
	ctx := context.Background()
	// 3 m everywhere, 0.8 m in a square.
	d := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(3000, 0, 0, 0), 48, 64, gocv.MatTypeCV16UC1)
	defer d.Close()
	square := d.Region(image.Rect(8, 8, 24, 24))
	square.SetTo(gocv.NewScalar(800, 0, 0, 0))
	square.Close()
	for i := 0; i < 6; i++ {
		for src := 0; src < 2; src++ {
			f := &pipeline.Frame{SourceID: src, Number: int64(i), Depth: d, DepthScale: 0.001}
			require.NoError(t, s.Write(ctx, f))
		}
	}
	require.NoError(t, s.Write(ctx, &pipeline.Frame{SourceID: 0}), "a frame without depth is skipped")
	require.NoError(t, s.EndSource(ctx, &pipeline.SourceEnd{SourceID: 1}))
	n, _, _ := countFrames(t, filepath.Join(dir, "depth-1.avi"))
	assert.Equal(t, 6, n, "source 1's file is final at its end")
	_, err = os.Stat(out)
	assert.True(t, os.IsNotExist(err), "source 0's file is still being written")
	require.NoError(t, s.Close())
	n, w, h := countFrames(t, out)
	assert.Equal(t, []int{6, 64, 48}, []int{n, w, h})
}
