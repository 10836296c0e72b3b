package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/camera/cameratest"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
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
	j, err := NewJSONL(path, nil)
	require.NoError(t, err)
	s := NewMessages(j, AllFrames)
	for i := int64(0); i < 3; i++ {
		f := frame(0, i, 32, 24)
		if i == 1 {
			f.Objects = []meta.Object{{Label: "face", Score: 0.95, Box: meta.Rect{X: 1, Y: 2, W: 3, H: 4}, Distance: 1.5}}
		}
		require.NoError(t, s.Write(context.Background(), f))
		f.Release()
	}
	left := meta.TrackEvent{Kind: meta.TrackLeft, TrackID: 4, Label: "face", Frames: 2}
	require.NoError(t, s.EndSource(context.Background(), &pipeline.SourceEnd{
		SourceName: "cam", State: meta.SourceEnded, NextFrame: 3, Ended: time.Now(), Events: []meta.TrackEvent{left},
	}))
	assert.Equal(t, MessageCounts{Frames: 3, Ends: 1}, s.Counts())
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(data))
	var events []meta.Message
	for sc.Scan() {
		var ev meta.Message
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		events = append(events, ev)
	}
	require.Len(t, events, 4, "three frames and the source's end")
	assert.Nil(t, events[2].End)
	end := events[3]
	assert.Equal(t, &meta.End{State: meta.SourceEnded}, end.End)
	assert.Equal(t, meta.Schema, end.Schema)
	assert.EqualValues(t, 3, end.Frame)
	assert.Equal(t, "cam", end.Source)
	assert.Equal(t, []meta.TrackEvent{left}, end.Events)
	assert.NotNil(t, end.Objects)
	assert.Empty(t, end.Objects)
	assert.Equal(t, meta.Schema, events[0].Schema)
	assert.Empty(t, events[0].Objects)
	assert.NotNil(t, events[0].Objects, `"objects": [] rather than null`)
	assert.Equal(t, float32(1.5), events[1].Objects[0].Distance)
	assert.Equal(t, 32, events[2].Width)

	var buf bytes.Buffer
	j, err = NewJSONL("-", &buf)
	require.NoError(t, err)
	s = NewMessages(j, WithObjects)
	f := frame(0, 0, 8, 8)
	require.NoError(t, s.Write(context.Background(), f))
	f.Objects = []meta.Object{{Label: "face"}}
	require.NoError(t, s.Write(context.Background(), f))
	f.Release()
	assert.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "stdout is flushed per line; empty frames skipped")
	require.NoError(t, s.EndSource(context.Background(), &pipeline.SourceEnd{State: meta.SourceStopped}))
	assert.Equal(t, 2, bytes.Count(buf.Bytes(), []byte("\n")), "the end is written even when empty frames are skipped")
	require.NoError(t, s.Close())

	assert.Equal(t, MessageCounts{Frames: 1, Ends: 1, Skipped: 1}, s.Counts())
	require.NoError(t, s.Close())

	_, err = NewJSONL(filepath.Join(t.TempDir(), "no", "x.jsonl"), nil)
	require.ErrorContains(t, err, "does not exist")
	_, err = NewJSONL("", nil)
	require.ErrorContains(t, err, "empty path")
}

func TestFilter(t *testing.T) {
	tests := []struct {
		filter           Filter
		name             string
		empty, obj, evts bool // kept: no object; an object; no object but a tracker event
	}{
		{AllFrames, "all", true, true, true},
		{WithObjects, "objects", false, true, true},
		{TrackChanges, "track-changes", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.name, tt.filter.String())
			var f Filter
			require.NoError(t, f.UnmarshalText([]byte(tt.name)))
			assert.Equal(t, tt.filter, f)
			assert.Equal(t, tt.empty, f.keeps(0, 0))
			assert.Equal(t, tt.obj, f.keeps(1, 0))
			assert.Equal(t, tt.evts, f.keeps(0, 1))
		})
	}
	var f Filter
	assert.ErrorContains(t, f.UnmarshalText([]byte("some")), "want all, objects or track-changes")
}

func TestWindowNeedsADisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, err := NewWindow("x", false, nil)
	require.ErrorContains(t, err, "no display")
}

// xvfb starts an X server on a free display for the test and sets
// DISPLAY.
func xvfb(t *testing.T) {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Fatal("Xvfb (Debian's xvfb package) is needed by this test")
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	// -displayfd: Xvfb picks a free display and writes its number to fd 3
	// once it accepts connections.
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // not left behind if the test is killed
	err = cmd.Start()
	w.Close()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // lets it remove its socket and lock
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	require.NoError(t, r.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(r).ReadString('\n')
	require.NoError(t, err, "Xvfb did not start")
	t.Setenv("DISPLAY", ":"+strings.TrimSpace(line))
}

// windowCaseEnv names the window test that TestWindowCase runs.
const windowCaseEnv = "CONVEYOR_WINDOW_CASE"

// TestWindowUnderXvfb runs each window test in a test process of its own
// (TestWindowCase), on one X server: HighGUI binds itself to the first
// thread and display a process uses, so a process holds one Window.
func TestWindowUnderXvfb(t *testing.T) {
	xvfb(t)
	for _, c := range []string{"shows frames", "end source", "end source tiled"} {
		t.Run(c, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWindowCase$", "-test.v", "-test.timeout=80s")
			cmd.Env = append(os.Environ(), windowCaseEnv+"="+c)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "--- PASS: TestWindowCase", "%s", out)
		})
	}
}

// TestWindowCase is one window test, in a process started by
// TestWindowUnderXvfb; run by itself it has nothing to do.
func TestWindowCase(t *testing.T) {
	switch c := os.Getenv(windowCaseEnv); c {
	case "":
	case "shows frames":
		testWindowShowsFrames(t)
	case "end source":
		testWindowEndSource(t, false)
	case "end source tiled":
		testWindowEndSource(t, true)
	default:
		t.Fatalf("unknown window case %q", c)
	}
}

func testWindowShowsFrames(t *testing.T) {
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

func TestVideoEndSourceFinalizesThatFileAtOnce(t *testing.T) {
	before := pipelinetest.MatCount()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{25, 25, 25}, SourceFPS: func(id int) float64 { return float64(id * 10) }})
	require.NoError(t, err)
	ctx := context.Background()
	a := cameratest.ClipFrames(t, "media/video/gocv_small_noface.mp4", 0, 12)
	b := cameratest.ClipFrames(t, "media/video/face-demographics-walking-and-pause.mp4", 1, 7)
	require.Len(t, a, 12)
	require.Len(t, b, 7)
	for i := range 12 {
		require.NoError(t, v.Write(ctx, a[i]))
		if i < len(b) {
			require.NoError(t, v.Write(ctx, b[i]))
		}
	}
	require.NoError(t, v.EndSource(ctx, &pipeline.SourceEnd{SourceID: 1}))
	require.NoError(t, v.EndSource(ctx, &pipeline.SourceEnd{SourceID: 2}), "a source that sent nothing has nothing to finalize")

	partial := func(p string) string {
		ext := filepath.Ext(p)
		return filepath.Join(filepath.Dir(p), "."+strings.TrimSuffix(filepath.Base(p), ext)+".partial"+ext)
	}
	// Source 1 is final and playable now, while source 0 is still being
	// written.
	n, w, h := countFrames(t, v.PathFor(1))
	assert.Equal(t, 7, n)
	assert.Equal(t, [2]int{b[0].Image.Cols(), b[0].Image.Rows()}, [2]int{w, h})
	assert.NoFileExists(t, partial(v.PathFor(1)))
	assert.NoFileExists(t, out, "source 0's final name is not taken before Close")
	assert.FileExists(t, partial(out))
	assert.Equal(t, map[string]int{v.PathFor(1): 7}, v.Files())
	c, err := gocv.VideoCaptureFile(v.PathFor(1))
	require.NoError(t, err)
	assert.InDelta(t, 10, c.Get(gocv.VideoCaptureFPS), 0.01, "SourceFPS")
	require.NoError(t, c.Close())

	// A frame of a source that ended would overwrite its file: an error.
	require.ErrorContains(t, v.Write(ctx, b[0]), "after the source ended")

	require.NoError(t, v.Close())
	for _, f := range append(a, b...) {
		f.Release()
	}
	n, _, _ = countFrames(t, out)
	assert.Equal(t, 12, n)
	c, err = gocv.VideoCaptureFile(out)
	require.NoError(t, err)
	assert.InDelta(t, 25, c.Get(gocv.VideoCaptureFPS), 0.01, "SourceFPS 0: FPS")
	require.NoError(t, c.Close())
	n, _, _ = countFrames(t, v.PathFor(1))
	assert.Equal(t, 7, n, "Close leaves the ended source's file alone")
	assert.Equal(t, map[string]int{out: 12, v.PathFor(1): 7}, v.Files())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no partial files left")
	require.NoError(t, v.EndSource(ctx, &pipeline.SourceEnd{SourceID: 0}), "after Close: nothing left to do")
	assert.Equal(t, before, pipelinetest.MatCount(), "every Mat closed")
}

// TestVideoEndSourceInALine: in a running line, a file source that ends
// has its video finalized by the line's end-of-source marker while another
// source still runs.
func TestVideoEndSourceInALine(t *testing.T) {
	clip, err := models.Asset("media/video/gocv_small_noface.mp4")
	require.NoError(t, err)
	dir := t.TempDir()
	out := filepath.Join(dir, "out-{source_id}.avi")
	line := pipeline.New()
	// Each file at its source's frame rate, as cmd wires it.
	fps := func(id int) float64 {
		for _, st := range line.Sources() {
			if st.ID == id {
				return st.FPS
			}
		}
		return 0
	}
	v, err := NewVideo(VideoOptions{Path: out, SourceFPS: fps})
	require.NoError(t, err)
	short, err := camera.Open(clip, camera.Options{})
	require.NoError(t, err)
	endless, err := camera.Open("pattern://?width=160&height=120&fps=50&frames=-1", camera.Options{})
	require.NoError(t, err)

	line.AddSource(endless, pipeline.LinkOptions{})
	line.AddSource(pipeline.Limit(short, 9), pipeline.LinkOptions{})
	line.AddSink(v)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- line.Run(ctx) }()

	final := v.PathFor(1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(final); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the line ended (%v) before source 1's file was finalized", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "source 1's file was not finalized while the line ran")
		time.Sleep(20 * time.Millisecond)
	}
	_, err = os.Stat(v.PathFor(0))
	assert.True(t, os.IsNotExist(err), "source 0 still runs: its file is not final")
	n, _, _ := countFrames(t, final)
	assert.Equal(t, 9, n)
	c, err := gocv.VideoCaptureFile(final)
	require.NoError(t, err)
	assert.InDelta(t, 30, c.Get(gocv.VideoCaptureFPS), 0.01, "the clip's frame rate")
	require.NoError(t, c.Close())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the line did not stop")
	}
	n, _, _ = countFrames(t, v.PathFor(0))
	assert.Greater(t, n, 0)
	assert.Len(t, v.Files(), 2)
}

func TestTilerForgetShrinksTheGrid(t *testing.T) {
	tl := NewTiler(80, 60)
	defer tl.Close()
	put := func(id int) gocv.Mat {
		f := frame(id, 0, 160, 120)
		f.Image.SetTo(gocv.NewScalar(float64(50*(id+1)), 0, 0, 0))
		defer f.Release()
		return tl.Put(f)
	}
	blue := func(grid gocv.Mat, p image.Point) uint8 { return grid.GetVecbAt(p.Y, p.X)[0] }
	for id := range 4 {
		put(id)
	}
	require.Equal(t, 4, tl.Len())

	tests := []struct {
		forget     int
		put        int
		rows, cols int
		cells      []uint8 // blue of each cell, row by row
	}{
		// 3 sources still need 2×2: the forgotten source's cell is blanked,
		// the others move up in id order.
		{forget: 1, put: 0, rows: 120, cols: 160, cells: []uint8{50, 150, 200, 0}},
		// 2 sources: one row of 2.
		{forget: 3, put: 2, rows: 60, cols: 160, cells: []uint8{50, 150}},
		{forget: 0, put: 2, rows: 60, cols: 80, cells: []uint8{150}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("forget %d", tc.forget), func(t *testing.T) {
			tl.Forget(tc.forget)
			tl.Forget(tc.forget) // twice: nothing more
			grid := put(tc.put)
			require.Equal(t, [2]int{tc.rows, tc.cols}, [2]int{grid.Rows(), grid.Cols()})
			for i, want := range tc.cells {
				x, y := (i%(tc.cols/80))*80+40, (i/(tc.cols/80))*60+30
				assert.Equal(t, want, blue(grid, image.Pt(x, y)), "cell %d", i)
			}
		})
	}
}

func testWindowEndSource(t *testing.T, tiled bool) {
	w, err := NewWindow("test", tiled, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, w.Close()) }()
	ctx := context.Background()
	open := func() (int, int) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.open.windows, w.open.tiles
	}
	waitOpen := func(windows, tiles int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			gw, gt := open()
			if gw == windows && gt == tiles {
				return
			}
			require.True(t, time.Now().Before(deadline), "windows, tiles = %d, %d, want %d, %d", gw, gt, windows, tiles)
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Show each source until the loop has it (Write may replace a
	// picture that was not shown yet).
	for id := range 3 {
		deadline := time.Now().Add(10 * time.Second)
		for {
			f := frame(id, 0, 64, 48)
			require.NoError(t, w.Write(ctx, f))
			f.Release()
			time.Sleep(10 * time.Millisecond)
			gw, gt := open()
			if (tiled && gt == id+1) || (!tiled && gw == id+1) {
				break
			}
			require.True(t, time.Now().Before(deadline), "source %d never shown", id)
		}
	}
	// A picture of source 1 still queued when it ends is dropped.
	f := frame(1, 1, 64, 48)
	require.NoError(t, w.Write(ctx, f))
	f.Release()
	require.NoError(t, w.EndSource(ctx, &pipeline.SourceEnd{SourceID: 1}))
	if tiled {
		waitOpen(1, 2)
	} else {
		waitOpen(2, 0)
	}
	require.NoError(t, w.EndSource(ctx, &pipeline.SourceEnd{SourceID: 0}))
	if tiled {
		waitOpen(1, 1)
	} else {
		waitOpen(1, 0)
	}
}
