package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

// buildConveyor builds the binary for tests that must kill it or run two.
func buildConveyor(t *testing.T) (bin string, env []string) {
	t.Helper()
	bin = filepath.Join(t.TempDir(), "conveyor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	env = append(os.Environ(), "CONVEYOR_ASSETS="+filepath.Dir(filepath.Dir(filepath.Dir(asset(t, models.DefaultModel)))))
	return bin, env
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(data)
}

// copyClip copies the two-person clip into dir.
func copyClip(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"))
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// TestOutputsNeverClobbered: an output that is an input or another output
// is refused before anything is written, and a run that fails to start
// leaves existing outputs as they were.
func TestOutputsNeverClobbered(t *testing.T) {
	dir := t.TempDir()
	in := copyClip(t, dir, "in.mp4")
	inSum := sum(t, in)
	events := filepath.Join(dir, "events.jsonl")
	require.NoError(t, os.WriteFile(events, []byte("{\"earlier\":1}\n"), 0o644))
	eventsSum := sum(t, events)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"out is the input", []string{"-s", in, "--out", in}, "source 0 " + in + " is also the video output: refusing to overwrite an input"},
		{"out is the input by another name", []string{"-s", "file://" + in, "--out", filepath.Join(dir, ".", "in.mp4")}, "is also the video output: refusing to overwrite an input"},
		{"jsonl is the input", []string{"-s", in, "--jsonl", in}, "is also the events file: refusing to overwrite an input"},
		{"second source is an output", []string{"-s", copyClip(t, dir, "a.mp4"), "-s", in, "--out", in}, "source 1 " + in + " is also the video output"},
		{"out is jsonl", []string{"-s", in, "--out", filepath.Join(dir, "x.mp4"), "--jsonl", filepath.Join(dir, "x.mp4")}, "is also the video output"},
		{"depth-out is out", []string{"-s", in, "--out", filepath.Join(dir, "y.mp4"), "--depth-out", filepath.Join(dir, "y.mp4")}, "is also the video output"},
		{"failing start", []string{"-s", filepath.Join(dir, "missing.mp4"), "--jsonl", events, "--out", filepath.Join(dir, "z.mp4")}, "no such file"},
		{"failing model", []string{"-s", in, "--jsonl", events, "--model", filepath.Join(dir, "nope.onnx")}, "nope.onnx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conveyor(t, append([]string{"run"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, oneLine(err), tc.want)
			assert.Equal(t, inSum, sum(t, in), "the input is untouched")
			assert.Equal(t, eventsSum, sum(t, events), "the existing events file is untouched")
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"in.mp4", "a.mp4", "events.jsonl"}, names, "nothing else written, no lock left")
}

// TestTwoRunsOnOneOutput: a second conveyor on the output a first one is
// writing is refused, naming the first; the first finishes its file.
func TestTwoRunsOnOneOutput(t *testing.T) {
	bin, env := buildConveyor(t)
	dir := t.TempDir()
	out, events := filepath.Join(dir, "o.mp4"), filepath.Join(dir, "e.jsonl")
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	first := exec.Command(bin, "run", "-s", clip, "--realtime", "--repeat", "2", "--out", out, "--jsonl", events)
	first.Env = env
	var stderr bytes.Buffer
	first.Stderr = &stderr
	require.NoError(t, first.Start())
	defer func() { _ = first.Process.Kill(); _ = first.Wait() }()
	waitLines(t, events, 5, first)

	for _, args := range [][]string{
		{"-s", clip, "--out", out},
		{"-s", clip, "--jsonl", events},
	} {
		_, err := conveyor(t, append([]string{"run"}, args...)...)
		require.Error(t, err)
		assert.Contains(t, oneLine(err), fmt.Sprintf("is being written by another process (pid %d", first.Process.Pid))
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("the first run did not finish")
	}
	assert.Contains(t, stderr.String(), "wrote "+out+" (112 frames")
	frames := decodeAll(t, out)
	defer closeAll(frames)
	assert.Len(t, frames, 112)
}

// waitLines waits until path has n lines (a running conveyor's events).
func waitLines(t *testing.T, path string, n int, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if bytes.Count(data, []byte("\n")) >= n {
			return
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("no %d events in %s after 60s", n, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKillMidRunKeepsTheVideo: SIGKILL in the middle of a run loses
// seconds, not the video: the killed run's file plays, its events end with
// a whole line, and the next run on the same output recovers the file and
// says where it is.
func TestKillMidRunKeepsTheVideo(t *testing.T) {
	bin, env := buildConveyor(t)
	dir := t.TempDir()
	out, events := filepath.Join(dir, "o.mp4"), filepath.Join(dir, "e.jsonl")
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	run := exec.Command(bin, "run", "-s", clip, "--realtime", "--repeat", "5", "--out", out, "--jsonl", events)
	run.Env = env
	require.NoError(t, run.Start())
	waitLines(t, events, 40, run)
	require.NoError(t, run.Process.Kill())
	_ = run.Wait()

	data, err := os.ReadFile(events)
	require.NoError(t, err)
	require.Equal(t, byte('\n'), data[len(data)-1], "the events end with a whole line")
	lines := bytes.Count(data, []byte("\n"))
	evs := readEvents(t, events) // every line parses

	// The next run on the same output: it waits for nothing (the killed
	// run's encoder has finished the file when it lets go of the lock),
	// recovers the file and says so.
	var stderr string
	deadline := time.Now().Add(30 * time.Second)
	for {
		stderr, err = conveyor(t, "run", "-s", clip, "--max-frames", "5", "--out", out)
		if err == nil || !strings.Contains(err.Error(), "being written") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, stderr)
	matches, _ := filepath.Glob(filepath.Join(dir, "o.recovered-*.mp4"))
	require.Len(t, matches, 1, stderr)
	assert.Contains(t, stderr, "recovered "+matches[0])
	frames := decodeAll(t, matches[0])
	defer closeAll(frames)
	assert.GreaterOrEqual(t, len(frames), len(evs)-10, "the frames written before the kill (%d events, %d lines)", len(evs), lines)
	probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", matches[0]).Output()
	require.NoError(t, err)
	assert.NotEqual(t, "N/A", strings.TrimSpace(string(probe)), "ffprobe reads it")
	now := decodeAll(t, out)
	defer closeAll(now)
	assert.Len(t, now, 5, "the new run's own file")
}

// TestDiskFullFailsTheRun: with the outputs on a disk that fills, the run
// fails with the reason, and does not say it wrote them.
func TestDiskFullFailsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		args func(dir string) []string
	}{
		{"video", 300 << 10, func(dir string) []string { return []string{"--out", filepath.Join(dir, "o.mp4")} }},
		{"events", 64 << 10, func(dir string) []string { return []string{"--jsonl", filepath.Join(dir, "e.jsonl")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", tc.size)); err != nil {
				t.Skipf("cannot mount a small tmpfs here (%v): this test needs root with CAP_SYS_ADMIN", err)
			}
			defer func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) }()
			clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
			args := append([]string{"run", "-s", clip, "--repeat", "10", "--blur", "none"}, tc.args(dir)...)
			stderr, err := conveyor(t, args...)
			require.Error(t, err, stderr)
			msg := oneLine(err)
			assert.True(t, strings.Contains(msg, "No space left on device") || strings.Contains(msg, "disk full"), msg)
			assert.NotContains(t, stderr, "wrote ", "nothing claims success")
		})
	}
}

// TestBadEncoderAndDecoder: a misspelt encoder or decoder, or one this
// machine lacks, is one clear line, before anything is written.
func TestBadEncoderAndDecoder(t *testing.T) {
	dir := t.TempDir()
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	out := filepath.Join(dir, "o.mp4")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown encoder", []string{"--encoder", "h265"}, `unknown encoder "h265": want auto, libx264`},
		{"unknown preset", []string{"--encoder-preset", "quick"}, `unknown preset "quick"`},
		{"crf out of range", []string{"--encoder-crf", "60"}, "encoder-crf: 60 is out of range"},
		{"unknown decoder", []string{"--decoder", "gpu"}, `unknown decoder "gpu": want auto, software`},
		{"encoder for avi", []string{"--encoder", "libx264", "--out", filepath.Join(dir, "o.avi")}, "encoder libx264 writes .mp4"},
	}
	if sink.ProbeEncoder(sink.EncoderVAAPI) != nil {
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"missing encoder", []string{"--encoder", "vaapi"}, "encoder h264_vaapi: no GPU render node (/dev/dri/renderD*) (found: "})
	}
	if camera.ProbeDecoder(camera.DecoderVAAPI) != nil {
		cases = append(cases, struct {
			name string
			args []string
			want string
		}{"missing decoder", []string{"--decoder", "vaapi"}, "decoder vaapi: no GPU render node (/dev/dri/renderD*) (found: "})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conveyor(t, append([]string{"run", "-s", clip, "--out", out}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, oneLine(err), tc.want)
		})
	}
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing written")
}

// TestSummarySaysHowTheLineRuns: the summary names the encoder and the
// workers and threads, and which of them were chosen for the machine.
func TestSummarySaysHowTheLineRuns(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.mp4")
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	stderr, err := conveyor(t, "run", "-s", clip, "--out", out, "--max-frames", "10") // no tuning flag
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "wrote "+out+" (10 frames, libx264 ultrafast crf 23)")
	sc := bufio.NewScanner(strings.NewReader(stderr))
	found := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "inference worker") {
			found = true
			assert.Contains(t, sc.Text(), "1 OpenCV thread (threads and infer-workers chosen for ")
			assert.Contains(t, sc.Text(), "ms per frame")
		}
	}
	assert.True(t, found, stderr)
	stderr, err = conveyor(t, "run", "-s", clip, "--max-frames", "3", "--infer-workers", "2", "--threads", "2")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "2 inference workers, 2 OpenCV threads (as set)")
}
