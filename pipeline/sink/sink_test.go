package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

func frame(source int, n int64, w, h int) *pipeline.Frame {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	m.SetTo(gocv.NewScalar(float64(n*10%255), 80, 160, 0))
	return &pipeline.Frame{SourceID: source, SourceName: "test", Number: n, Image: m, Captured: time.Now()}
}

// countFrames decodes a video file with OpenCV and counts its frames.
func countFrames(t *testing.T, path string) (n, w, h int) {
	t.Helper()
	src, err := camera.Open(path, camera.Options{})
	require.NoError(t, err)
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		f, err := src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfStream) {
			return
		}
		require.NoError(t, err)
		n++
		w, h = f.Image.Cols(), f.Image.Rows()
		f.Release()
	}
}

func TestVideoIsFinalizedAndPlayable(t *testing.T) {
	for _, ext := range []string{".mp4", ".avi", ".mkv"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out"+ext)
			v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{12, 30}})
			require.NoError(t, err)
			for i := int64(0); i < 20; i++ {
				f := frame(0, i, 160, 120)
				require.NoError(t, v.Write(context.Background(), f))
				f.Release()
				if i < 5 {
					g := frame(1, i, 64, 48)
					require.NoError(t, v.Write(context.Background(), g))
					g.Release()
				}
			}
			// A frame of another size (a camera that reconnected) is scaled.
			f := frame(0, 20, 320, 240)
			require.NoError(t, v.Write(context.Background(), f))
			f.Release()

			_, err = os.Stat(out)
			assert.True(t, os.IsNotExist(err), "no file under the final name before Close")
			require.NoError(t, v.Close())
			require.NoError(t, v.Close(), "Close is idempotent")

			n, w, h := countFrames(t, out)
			assert.Equal(t, 21, n)
			assert.Equal(t, [2]int{160, 120}, [2]int{w, h})
			n, _, _ = countFrames(t, filepath.Join(dir, "out-1"+ext))
			assert.Equal(t, 5, n)
			entries, _ := os.ReadDir(dir)
			assert.Len(t, entries, 2, "no partial files left")
			assert.Equal(t, map[string]int{out: 21, filepath.Join(dir, "out-1"+ext): 5}, v.Files())
		})
	}
}

func TestVideoPlaysInFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe (Debian's ffmpeg package) is needed by this test")
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{10}})
	require.NoError(t, err)
	for i := int64(0); i < 10; i++ {
		f := frame(0, i, 64, 64)
		require.NoError(t, v.Write(context.Background(), f))
		f.Release()
	}
	require.NoError(t, v.Close())
	got, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
	require.NoError(t, err)
	assert.Equal(t, "10", string(bytes.TrimSpace(got)))
}

func TestVideoBadOutput(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	require.NoError(t, os.Mkdir(ro, 0o500))
	cases := []struct {
		opts VideoOptions
		want string
	}{
		{VideoOptions{Path: ""}, "empty path"},
		{VideoOptions{Path: filepath.Join(dir, "nope", "x.mp4")}, "does not exist"},
		{VideoOptions{Path: filepath.Join(dir, "x.gif")}, "unknown extension"},
		{VideoOptions{Path: filepath.Join(dir, "x.mp4"), Codec: "h264x"}, "FOURCC"},
		{VideoOptions{Path: dir + "/"}, "unknown extension"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		cases = append(cases, struct {
			opts VideoOptions
			want string
		}{VideoOptions{Path: filepath.Join(ro, "x.mp4")}, "cannot write"})
	}
	for _, tc := range cases {
		_, err := NewVideo(tc.opts)
		require.Error(t, err, tc.opts.Path)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	s, err := NewJSONL(JSONLOptions{Path: path})
	require.NoError(t, err)
	for i := int64(0); i < 3; i++ {
		f := frame(0, i, 32, 24)
		if i == 1 {
			f.Objects = []pipeline.Object{{Label: "face", Score: 0.95, Box: pipeline.Rect{X: 1, Y: 2, W: 3, H: 4}, Distance: 1.5}}
		}
		require.NoError(t, s.Write(context.Background(), f))
		f.Release()
	}
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(data))
	var events []pipeline.FrameEvent
	for sc.Scan() {
		var ev pipeline.FrameEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		events = append(events, ev)
	}
	require.Len(t, events, 3)
	assert.Equal(t, pipeline.EventSchema, events[0].Schema)
	assert.Empty(t, events[0].Objects)
	assert.NotNil(t, events[0].Objects, `"objects": [] rather than null`)
	assert.Equal(t, float32(1.5), events[1].Objects[0].Distance)
	assert.Equal(t, 32, events[2].Width)

	var buf bytes.Buffer
	s, err = NewJSONL(JSONLOptions{Path: "-", Stdout: &buf, SkipEmpty: true})
	require.NoError(t, err)
	f := frame(0, 0, 8, 8)
	require.NoError(t, s.Write(context.Background(), f))
	f.Objects = []pipeline.Object{{Label: "face"}}
	require.NoError(t, s.Write(context.Background(), f))
	f.Release()
	assert.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "stdout is flushed per line; empty frames skipped")
	require.NoError(t, s.Close())

	_, err = NewJSONL(JSONLOptions{Path: filepath.Join(t.TempDir(), "no", "x.jsonl")})
	require.ErrorContains(t, err, "does not exist")
	_, err = NewJSONL(JSONLOptions{})
	require.ErrorContains(t, err, "empty path")
}

func TestWindowNeedsADisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, err := NewWindow("x", false, nil)
	require.ErrorContains(t, err, "no display")
}

func TestWindowShowsFramesUnderXvfb(t *testing.T) {
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Fatal("Xvfb (Debian's xvfb package) is needed by this test")
	}
	cmd := exec.Command(xvfb, ":97", "-screen", "0", "640x480x24", "-nolisten", "tcp")
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	t.Setenv("DISPLAY", ":97")
	// Wait for the X socket.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat("/tmp/.X11-unix/X97"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "Xvfb did not start")
		time.Sleep(50 * time.Millisecond)
	}
	w, err := NewWindow("test", true, nil)
	require.NoError(t, err)
	for i := int64(0); i < 5; i++ {
		f := frame(0, i, 64, 48)
		require.NoError(t, w.Write(context.Background(), f))
		f.Release()
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	assert.GreaterOrEqual(t, w.Shown(), 1)
}

func TestTilerPutsEverySourceInItsCell(t *testing.T) {
	tl := NewTiler(80, 60)
	defer tl.Close()
	var grid gocv.Mat
	for id := 0; id < 3; id++ {
		f := frame(id, 0, 160+id*40, 120)
		f.Image.SetTo(gocv.NewScalar(float64(50*(id+1)), 0, 0, 0))
		grid = tl.Put(f)
		f.Release()
	}
	require.Equal(t, 120, grid.Rows(), "3 sources: a 2×2 grid")
	require.Equal(t, 160, grid.Cols())
	// The centre of each cell holds that source's colour (blue channel).
	for id, p := range []image.Point{{40, 30}, {120, 30}, {40, 90}} {
		v := grid.GetVecbAt(p.Y, p.X)
		assert.EqualValues(t, 50*(id+1), v[0], "source %d", id)
	}
	v := grid.GetVecbAt(90, 120)
	assert.EqualValues(t, 0, v[0], "the empty cell stays black")
}
