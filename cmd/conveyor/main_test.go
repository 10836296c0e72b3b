package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"net"
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
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

func asset(t *testing.T, rel string) string {
	t.Helper()
	p, err := models.Asset(rel)
	require.NoError(t, err)
	return p
}

// conveyor runs the CLI in-process and returns its stderr and error.
func conveyor(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	app := newApp()
	app.ErrWriter = &stderr
	app.Writer = &stderr
	done := make(chan error, 1)
	go func() { done <- app.Run(append([]string{"conveyor"}, args...)) }()
	select {
	case err := <-done:
		return stderr.String(), err
	case <-time.After(2 * time.Minute):
		t.Fatal("conveyor did not finish within 2 minutes")
		return "", nil
	}
}

// readEvents returns the frame events of an events file, in file order
// (readEventsAndEnds checks the sources' end events too).
func readEvents(t *testing.T, path string) []meta.Message {
	t.Helper()
	frames, _ := readEventsAndEnds(t, path)
	return frames
}

// readEventsAndEnds reads an events file: the frame events in file order,
// and each source's end event by source id. It checks that a source's end
// comes once, after all its frames.
func readEventsAndEnds(t *testing.T, path string) (frames []meta.Message, ends map[int]meta.Message) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	ends = map[int]meta.Message{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev meta.Message
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		_, ended := ends[ev.SourceID]
		require.False(t, ended, "nothing of source %d after its end: %s", ev.SourceID, sc.Bytes())
		if ev.End != nil {
			ends[ev.SourceID] = ev
			continue
		}
		frames = append(frames, ev)
	}
	require.NoError(t, sc.Err())
	return frames, ends
}

// decodeAll reads every frame of a video into memory (small clips only).
func decodeAll(t *testing.T, path string) []gocv.Mat {
	t.Helper()
	src, err := camera.Open(path, camera.Options{})
	require.NoError(t, err)
	defer src.Close()
	var out []gocv.Mat
	for {
		f, err := src.Read(context.Background())
		if errors.Is(err, pipeline.ErrEndOfStream) {
			return out
		}
		require.NoError(t, err)
		out = append(out, f.Image.Clone())
		f.Release()
	}
}

func closeAll(ms []gocv.Mat) {
	for _, m := range ms {
		m.Close()
	}
}

// sharpness is the variance of the Laplacian inside r.
func sharpness(img gocv.Mat, r image.Rectangle) float64 {
	region := img.Region(r)
	defer region.Close()
	gray, lap, mean, std := gocv.NewMat(), gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer lap.Close()
	defer mean.Close()
	defer std.Close()
	gocv.CvtColor(region, &gray, gocv.ColorBGRToGray)
	gocv.Laplacian(gray, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderDefault)
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s
}

func TestRunBlursEveryFaceAndKeepsEveryFrame(t *testing.T) {
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	dir := t.TempDir()
	out, events := filepath.Join(dir, "blurred.mp4"), filepath.Join(dir, "events.jsonl")
	stderr, err := conveyor(t, "run", "--source", clip, "--out", out, "--jsonl", events, "--summary-json", filepath.Join(dir, "s.json"))
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "56 frames")

	evs, ends := readEventsAndEnds(t, events)
	require.Len(t, evs, 56, "one event per input frame")
	require.Len(t, ends, 1)
	assert.Equal(t, &meta.End{State: meta.SourceEnded}, ends[0].End, "the last line says the file ended")
	assert.EqualValues(t, 56, ends[0].Frame)
	assert.Contains(t, stderr, "(56 frame messages, 1 end-of-source)")
	in, got := decodeAll(t, clip), decodeAll(t, out)
	defer closeAll(in)
	defer closeAll(got)
	require.Len(t, got, 56, "every input frame comes out")

	var ratios []float64
	var faces int
	for i, ev := range evs {
		assert.EqualValues(t, i, ev.Frame)
		assert.Len(t, ev.Objects, 2, "frame %d: both people's faces found", i)
		mask := image.Rect(0, 0, 480, 270)
		for _, o := range ev.Objects {
			r := image.Rect(int(o.Box.X), int(o.Box.Y), int(o.Box.X+o.Box.W), int(o.Box.Y+o.Box.H)).Intersect(mask)
			inner := r.Inset(r.Dx() / 5) // well inside the ellipse
			before, after := sharpness(in[i], inner), sharpness(got[i], inner)
			ratios = append(ratios, before/(after+1e-9))
			faces++
		}
	}
	for i, r := range ratios {
		assert.Greater(t, r, 8.0, "face %d: sharpness drops by a large factor", i)
	}
	// Away from the faces the picture is the input up to encoding noise: a
	// strip at the bottom of the frame, below both faces.
	for i := range got {
		assert.Less(t, pipelinetest.MeanAbsDiff(in[i], got[i], image.Rect(0, 230, 480, 270)), 4.0, "frame %d", i)
	}
	var s Summary
	data, err := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &s))
	assert.EqualValues(t, 56, s.Stats.Frames)
	assert.Equal(t, 56, s.Outputs[out])
	t.Logf("%d faces; sharpness ratio min %.0f", faces, minOf(ratios))
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func TestNoFaceClipHasNoDetections(t *testing.T) {
	events := filepath.Join(t.TempDir(), "e.jsonl")
	stderr, err := conveyor(t, "run", "--source", asset(t, "media/video/gocv_small_noface.mp4"), "--jsonl", events, "--infer-workers", "2")
	require.NoError(t, err, stderr)
	evs := readEvents(t, events)
	require.Len(t, evs, 166)
	for _, ev := range evs {
		assert.Empty(t, ev.Objects, "frame %d", ev.Frame)
	}
}

func TestConfigFileAndFlagsOverride(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "conveyor.yaml")
	events := filepath.Join(dir, "e.jsonl")
	require.NoError(t, os.WriteFile(cfg, []byte(`
source:
  - `+asset(t, "media/video/face-demographics-walking-and-pause.mp4")+`
jsonl: `+events+`
max-frames: 5
blur: pixelate
input-size: "320"
`), 0o644))
	stderr, err := conveyor(t, "run", "--config", cfg, "--max-frames", "7")
	require.NoError(t, err, stderr)
	assert.Len(t, readEvents(t, events), 7, "the flag overrides the file")
	assert.Contains(t, stderr, "input 320")
}

func TestBadInputGivesOneClearLine(t *testing.T) {
	dir := t.TempDir()
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	model, err := os.ReadFile(asset(t, models.DefaultModel))
	require.NoError(t, err)
	emptyModel := write("empty.onnx", nil)
	corruptModel := write("corrupt.onnx", bytes.Repeat([]byte{0xff, 0x13}, 500))
	truncModel := write("trunc.onnx", model[:len(model)/2])
	emptyVideo := write("empty.mp4", nil)
	corruptVideo := write("corrupt.mp4", bytes.Repeat([]byte("not a video "), 200))
	badYAML := write("bad.yaml", []byte("sources: [x]\n"))
	rangeYAML := write("range.yaml", []byte("source: [x.mp4]\nscore: 3\n"))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"run"}, "source: at least one source"},
		{"missing model", []string{"run", "-s", clip, "--model", filepath.Join(dir, "nope.onnx")}, "nope.onnx"},
		{"empty model", []string{"run", "-s", clip, "--model", emptyModel}, "empty"},
		{"corrupt model", []string{"run", "-s", clip, "--model", corruptModel}, "corrupt.onnx"},
		{"truncated model", []string{"run", "-s", clip, "--model", truncModel}, "trunc.onnx"},
		{"model does not match decoder", []string{"run", "-s", clip, "--model", asset(t, "models/ultraface/version-RFB-320.onnx"), "--model-type", "yunet-2022mar"}, "loc"},
		{"dynamic model", []string{"run", "-s", clip, "--model", asset(t, "models/yunet/yunet_s_dynamic.onnx")}, "dynamic"},
		{"missing video", []string{"run", "-s", filepath.Join(dir, "nope.mp4")}, "no such file"},
		{"empty video", []string{"run", "-s", emptyVideo}, "empty"},
		{"corrupt video", []string{"run", "-s", corruptVideo}, "cannot open as a video"},
		{"unknown scheme", []string{"run", "-s", "gopher://x"}, `unknown scheme "gopher"`},
		{"unwritable output", []string{"run", "-s", clip, "--out", filepath.Join(dir, "no", "such", "dir", "o.mp4")}, "does not exist"},
		{"bad output extension", []string{"run", "-s", clip, "--out", filepath.Join(dir, "o.txt")}, "unknown extension"},
		{"score out of range", []string{"run", "-s", clip, "--score", "1.5"}, "score: 1.5 is out of range"},
		{"workers out of range", []string{"run", "-s", clip, "--infer-workers", "65"}, "infer-workers: 65 is out of range"},
		{"bad blur", []string{"run", "-s", clip, "--blur", "smear"}, "blur:"},
		{"bad input size", []string{"run", "-s", clip, "--input-size", "huge"}, "input-size"},
		{"tensorrt not built", []string{"run", "-s", clip, "--backend", "tensorrt"}, "tensorrt"},
		{"unknown config key", []string{"run", "--config", badYAML}, "sources"},
		{"config out of range", []string{"run", "--config", rangeYAML}, "score: 3 is out of range"},
		{"missing config", []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conveyor(t, tc.args...)
			require.Error(t, err)
			assert.Contains(t, oneLine(err), tc.want)
			assert.NotContains(t, oneLine(err), "\n")
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".mp4") && e.Name() != "empty.mp4" && e.Name() != "corrupt.mp4", "no output left behind: %s", e.Name())
	}
}

func TestTruncatedVideoProcessesWhatItCanAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	ts := filepath.Join(dir, "clip.ts")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"), "-c", "copy", "-f", "mpegts", ts)
	require.NoError(t, cmd.Run())
	data, err := os.ReadFile(ts)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.ts")
	require.NoError(t, os.WriteFile(cut, data[:len(data)*2/3], 0o644))
	out := filepath.Join(dir, "o.mp4")
	stderr, err := conveyor(t, "run", "-s", cut, "--out", out)
	require.NoError(t, err, stderr)
	frames := decodeAll(t, out)
	defer closeAll(frames)
	assert.Greater(t, len(frames), 10)
	assert.Less(t, len(frames), 56)
	assert.Contains(t, stderr, "frames")
}

// TestSIGINTDrainsAndFinalizes runs the real binary on an endless live
// source, interrupts it, and checks that it exits 0 with a playable video.
func TestSIGINTDrainsAndFinalizes(t *testing.T) {
	dir := t.TempDir()
	bin := conveyorBinary(t)

	out, events := filepath.Join(dir, "o.mp4"), filepath.Join(dir, "e.jsonl")
	cmd := exec.Command(bin, "run", "-s", "pattern://?width=320&height=240&fps=30&frames=-1", "--out", out, "--jsonl", events)
	cmd.Env = append(os.Environ(), "CONVEYOR_ASSETS="+filepath.Dir(filepath.Dir(filepath.Dir(asset(t, models.DefaultModel)))))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	// Wait until frames flow, then interrupt.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(events); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no events after 60s: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		require.NoError(t, err, stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("conveyor did not stop within 30s of SIGINT")
	}
	frames := decodeAll(t, out)
	defer closeAll(frames)
	evs := readEvents(t, events)
	assert.NotEmpty(t, frames)
	assert.Equal(t, len(evs), len(frames), "every frame that was read made it into both outputs")
	assert.Contains(t, stderr.String(), "wrote "+out)
}

// conveyorBinary builds the conveyor binary, for the tests that need a
// real process (signals, what native libraries print on stderr).
func conveyorBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "conveyor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	return bin
}

// runBinary runs the binary with args and extra environment, the native
// log variables left unset unless env sets them, and returns its stderr.
func runBinary(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); nativeLogDefaults[k] == "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CONVEYOR_ASSETS="+filepath.Dir(filepath.Dir(filepath.Dir(asset(t, models.DefaultModel)))))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// TestNativeLogsStayQuiet (issue 13): OpenCV and FFmpeg printed their own
// lines on stderr ("[ WARN:0@0.04] global cap_gstreamer.cpp …", "[tcp @
// 0x…] Connection … failed") before conveyor's one line. Now a failure is
// one line; a user who asks for OpenCV's lines still gets them.
func TestNativeLogsStayQuiet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	bin := conveyorBinary(t)
	cases := []struct {
		name, source, want string
	}{
		{"gstreamer", "gst://filesrc location=/nonexistent ! decodebin ! appsink", "cannot open"},
		{"ffmpeg", "rtsp://" + closed + "/x", "cannot open"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := runBinary(t, bin, nil, "run", "-s", tc.source, "--reconnect", "0")
			require.Error(t, err)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.True(t, strings.HasPrefix(stderr, "conveyor: source "), stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
	stderr, err := runBinary(t, bin, []string{"OPENCV_LOG_LEVEL=WARNING"}, "run", "-s", cases[0].source)
	require.Error(t, err)
	assert.Contains(t, stderr, "GStreamer warning", "the user's OPENCV_LOG_LEVEL is kept")
}

func TestOneLineSaysEachPrefixOnce(t *testing.T) {
	for in, want := range map[string]string{
		"infer: infer: infer: model m.onnx: opencv: forward: boom": "infer: model m.onnx: opencv: forward: boom",
		"source a: preprocess: frame 2x2\nsource b: infer: x":      "source a: preprocess: frame 2x2; source b: infer: x",
		"config c.yaml: 3:  score: 3 is out of range":              "config c.yaml: 3: score: 3 is out of range",
		"a: b: a: b":        "a: b: a: b",
		"x: x y: x y: z":    "x: x y: x y: z",
		"mq: mq: no broker": "mq: no broker",
	} {
		assert.Equal(t, want, oneLine(errors.New(in)), in)
	}
}

// TestBrokerPasswordNeverShows (issue 13, item 3): a broker password Go's
// URL parser rejects showed its first characters in the error
// (`invalid port ":Secr"` for Secr#t99). Now the line says how to write
// the URL, and nothing of the password.
func TestBrokerPasswordNeverShows(t *testing.T) {
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	for _, pw := range []string{"Secr#t99", "50%off!", "pa/ss"} {
		_, err := conveyor(t, "run", "-s", clip, "--max-frames", "1", "--amqp", "amqp://u:"+pw+"@127.0.0.1:1/", "--amqp-start-timeout", "300ms")
		require.Error(t, err, pw)
		line := oneLine(err)
		assert.Contains(t, line, "amqp://u:xxxxx@127.0.0.1:1/", pw)
		assert.Contains(t, line, "percent-encode", pw)
		assert.NotContains(t, line, pw[:3], pw)
	}
}
