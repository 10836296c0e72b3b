package camera

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

func asset(t *testing.T, rel string) string {
	t.Helper()
	p, err := models.Asset(rel)
	require.NoError(t, err)
	return p
}

// readAll reads a source to its end (bounded) and returns the frames' numbers,
// sizes and timestamps, releasing every frame.
func readAll(t *testing.T, src pipeline.Source, limit int) (numbers []int64, pts []time.Duration, w, h int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < limit; i++ {
		f, err := src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfStream) {
			return
		}
		require.NoError(t, err)
		numbers = append(numbers, f.Number)
		pts = append(pts, f.PTS)
		w, h = f.Image.Cols(), f.Image.Rows()
		assert.False(t, f.Captured.IsZero())
		f.Release()
	}
	return
}

func TestFileSource(t *testing.T) {
	before := pipelinetest.MatCount()
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	cases := []struct {
		name   string
		uri    string
		opts   Options
		frames int
	}{
		{"path", clip, Options{}, 56},
		{"file URI", "file://" + clip, Options{}, 56},
		{"repeat", clip, Options{Repeat: 3}, 168},
		{"gif", asset(t, "media/video/face-demographics-walking-and-pause.gif"), Options{}, 41},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(tc.uri, tc.opts)
			require.NoError(t, err)
			info := src.Info()
			assert.False(t, info.Live)
			assert.InDelta(t, 12, info.FPS, 0.5)
			numbers, pts, w, h := readAll(t, src, 1000)
			require.NoError(t, src.Close())
			require.Len(t, numbers, tc.frames)
			assert.Equal(t, [2]int{480, 270}, [2]int{w, h})
			for i := range numbers {
				assert.EqualValues(t, i, numbers[i])
				if i > 0 {
					assert.Greater(t, pts[i], pts[i-1], "timestamps increase, across repeats too")
				}
			}
			assert.Empty(t, src.(pipeline.Warner).Warnings())
		})
	}
	assert.Equal(t, before, pipelinetest.MatCount(), "Mats balanced")
}

func TestTruncatedFileProcessesWhatItCan(t *testing.T) {
	data, err := os.ReadFile(asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"))
	require.NoError(t, err)
	// The mp4 keeps its index (moov) at the end: cutting the tail loses it,
	// so cut an MPEG-TS copy instead, which streams frame by frame.
	dir := t.TempDir()
	ts := filepath.Join(dir, "clip.ts")
	require.NoError(t, remux(t, data, ts))
	full, err := os.ReadFile(ts)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.ts")
	require.NoError(t, os.WriteFile(cut, full[:len(full)/2], 0o644))

	src, err := Open(cut, Options{})
	require.NoError(t, err)
	numbers, _, _, _ := readAll(t, src, 1000)
	require.NoError(t, src.Close())
	assert.Greater(t, len(numbers), 5)
	assert.Less(t, len(numbers), 56)
}

func TestBadFileInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mp4")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	corrupt := filepath.Join(dir, "corrupt.mp4")
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(corrupt, junk, 0o644))
	emptyDir := t.TempDir()

	cases := []struct{ uri, want string }{
		{filepath.Join(dir, "missing.mp4"), "no such file"},
		{empty, "file is empty"},
		{corrupt, "cannot open as a video"},
		{emptyDir, "no images found"},
		{filepath.Join(dir, "*.png"), "no images found"},
		{"ftp://example.com/x", `unknown scheme "ftp"`},
		{"v4l2:///dev/video99", "no such camera /dev/video99"},
		{"v4l2:///dev/null?fourcc=MJPEG", "fourcc"},
		{"gst://videotestsrc", "must end in appsink"},
		{"pattern://?width=5", "width"},
		{"", "empty source"},
	}
	for _, tc := range cases {
		t.Run(tc.uri, func(t *testing.T) {
			src, err := Open(tc.uri, Options{})
			require.Error(t, err)
			assert.Nil(t, src)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestImageFolderAndGlob(t *testing.T) {
	before := pipelinetest.MatCount()
	dir := filepath.Dir(asset(t, "media/eval/dlib_faces/training.xml"))
	for _, uri := range []string{dir, filepath.Join(dir, "*.jpg"), "file://" + dir} {
		t.Run(uri, func(t *testing.T) {
			src, err := Open(uri, Options{Repeat: 2})
			require.NoError(t, err)
			assert.Equal(t, 8, src.Info().Frames)
			numbers, _, _, _ := readAll(t, src, 100)
			require.NoError(t, src.Close())
			assert.Len(t, numbers, 8)
		})
	}
	// An unreadable file in the folder is skipped and reported.
	tmp := t.TempDir()
	img, err := os.ReadFile(asset(t, "media/images/gocv_face.jpg"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "a.jpg"), img, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "b.jpg"), []byte("not a jpeg"), 0o644))
	src, err := Open(tmp, Options{})
	require.NoError(t, err)
	numbers, _, w, h := readAll(t, src, 100)
	assert.Len(t, numbers, 1)
	assert.Equal(t, [2]int{640, 480}, [2]int{w, h})
	require.Len(t, src.(pipeline.Warner).Warnings(), 1)
	assert.Contains(t, src.(pipeline.Warner).Warnings()[0], "b.jpg")
	assert.Equal(t, before, pipelinetest.MatCount())
}

func TestPattern(t *testing.T) {
	src, err := Open("pattern://?width=320&height=240&fps=0&frames=10", Options{})
	require.NoError(t, err)
	assert.False(t, src.Info().Live)
	numbers, _, w, h := readAll(t, src, 100)
	assert.Len(t, numbers, 10)
	assert.Equal(t, [2]int{320, 240}, [2]int{w, h})

	live, err := Open("pattern://?fps=200&frames=5", Options{})
	require.NoError(t, err)
	assert.True(t, live.Info().Live)
	start := time.Now()
	numbers, _, _, _ = readAll(t, live, 100)
	assert.Len(t, numbers, 5)
	assert.GreaterOrEqual(t, time.Since(start), 15*time.Millisecond, "a live pattern is paced at its fps")
}

func TestGStreamerCaptureString(t *testing.T) {
	before := pipelinetest.MatCount()
	src, err := Open("gst://videotestsrc num-buffers=12 ! video/x-raw,width=320,height=240 ! videoconvert ! video/x-raw,format=BGR ! appsink", Options{})
	require.NoError(t, err)
	assert.True(t, src.Info().Live)
	// A GStreamer source that ends is a dropped camera: it tries to reopen,
	// each reopen gives 12 more frames; bound the read.
	numbers, _, w, h := readAll(t, src, 12)
	require.NoError(t, src.Close())
	assert.Len(t, numbers, 12)
	assert.Equal(t, [2]int{320, 240}, [2]int{w, h})
	assert.Equal(t, before, pipelinetest.MatCount())
}

func TestUnreachableRTSPRetriesThenFails(t *testing.T) {
	// A port with nothing listening: connection refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	uri := fmt.Sprintf("rtsp://user:secret@%s/stream", addr)
	start := time.Now()
	src, err := Open(uri, Options{Reconnect: 2, Backoff: 10 * time.Millisecond})
	require.Error(t, err)
	assert.Nil(t, src)
	assert.Contains(t, err.Error(), "gave up after 3 attempts")
	assert.NotContains(t, err.Error(), "secret", "no password in errors")
	assert.Contains(t, err.Error(), "xxxxx")
	assert.Less(t, time.Since(start), 20*time.Second)
}

func TestRegisteredScheme(t *testing.T) {
	Register("test-scheme", func(uri string, opts Options) (pipeline.Source, error) {
		return nil, fmt.Errorf("opened %s", uri)
	})
	_, err := Open("test-scheme://x", Options{})
	require.ErrorContains(t, err, "opened test-scheme://x")
	assert.Contains(t, Schemes(), "test-scheme")
}
