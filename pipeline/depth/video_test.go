package depth

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

// TestVideoSinkEndSource writes colourised depth for two sources through a
// real sink.Video: ending source 1 finalizes its file at once, source 0's
// waits for Close.
func TestVideoSinkEndSource(t *testing.T) {
	checkMats(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "depth.avi")
	v, err := sink.NewVideo(sink.VideoOptions{Path: out})
	require.NoError(t, err)
	col, err := NewColorizer(5)
	require.NoError(t, err)
	s := NewVideoSink(col, v)
	ctx := context.Background()
	d := depthMap(t, 64, 48, 3000, meta.Rect{X: 8, Y: 8, W: 16, H: 16}, 800, true)
	defer d.Close()
	for i := 0; i < 6; i++ {
		for src := 0; src < 2; src++ {
			f := &pipeline.Frame{SourceID: src, Number: int64(i), Depth: d, DepthScale: 0.001}
			require.NoError(t, s.Write(ctx, f))
		}
	}
	require.NoError(t, s.Write(ctx, &pipeline.Frame{SourceID: 0}), "a frame without depth is skipped")
	require.NoError(t, s.EndSource(ctx, &pipeline.SourceEnd{SourceID: 1}))
	assert.Equal(t, 6, frames(t, filepath.Join(dir, "depth-1.avi")), "source 1's file is final at its end")
	_, err = os.Stat(out)
	assert.True(t, os.IsNotExist(err), "source 0's file is still being written")
	require.NoError(t, s.Close())
	assert.Equal(t, 6, frames(t, out))
}

func frames(t *testing.T, path string) int {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	require.NoError(t, err)
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	n := 0
	for vc.Read(&m) && !m.Empty() {
		n++
	}
	return n
}
