package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
)

const clip = "media/video/head-pose-face-detection-female-and-male.mp4" // 56 frames, 480x270

func asset(t *testing.T, rel string) string {
	t.Helper()
	p, err := models.Asset(rel)
	require.NoError(t, err)
	return p
}

func options(t *testing.T, modes string) Options {
	t.Helper()
	m, err := ParseModes(modes)
	require.NoError(t, err)
	model, err := infer.Open(infer.Options{Input: models.InputSize{Long: 320}})
	require.NoError(t, err)
	return Options{
		Source: asset(t, clip), Frames: 12, Warmup: 2, Modes: m, Model: model, Backend: "opencv",
		Blur: post.DefaultBlurOptions(), Dir: t.TempDir(), TimelineFrames: 8,
	}
}

func run(t *testing.T, o Options) (*Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Run(ctx, o)
}

func TestRunModes(t *testing.T) {
	o := options(t, "sequential,pipelined-2,python")
	o.Python.Interpreter = filepath.Join(t.TempDir(), "no-python3")
	rep, err := run(t, o)
	require.NoError(t, err)

	assert.Equal(t, 56, rep.ClipFrames)
	assert.Equal(t, 320, rep.InputW)
	assert.Equal(t, 180, rep.InputH)
	require.Len(t, rep.Modes, 3)
	for _, m := range rep.Modes[:2] {
		t.Run(m.Name, func(t *testing.T) {
			assert.Empty(t, m.Skipped)
			assert.Equal(t, 12, m.Frames, "every measured frame came out")
			assert.Zero(t, m.Dropped)
			assert.Positive(t, m.FPS)
			assert.Positive(t, m.Latency.P50)
			assert.GreaterOrEqual(t, m.Latency.P99, m.Latency.P50)
			require.NotNil(t, m.CPU)
			assert.Positive(t, m.CPU.TotalS)
			assert.Positive(t, m.PeakRSSMB)
			names := []string{}
			for _, s := range m.Stages {
				names = append(names, s.Name)
				assert.Equal(t, 12, s.Frames, s.Name)
				assert.Positive(t, s.MeanMs, s.Name)
				assert.LessOrEqual(t, s.Utilization, 1.0+1e-9, s.Name)
			}
			assert.Equal(t, []string{"source", "preprocess", "infer", "decode", "blur", "sink"}, names)
			require.Len(t, m.Timeline, 8)
			assert.Equal(t, int64(2), m.Timeline[0].Frame, "the timeline starts at the first measured frame")
			for _, f := range m.Timeline {
				require.Len(t, f.Spans, 6)
				for _, s := range f.Spans {
					assert.GreaterOrEqual(t, s.EndMs, s.StartMs)
				}
			}
			assert.FileExists(t, filepath.Join(o.Dir, m.Name+".mp4"))
			// The encoder is a child process: its CPU time is counted.
			assert.Positive(t, m.CPU.ChildrenS, "the encoder process's CPU time")
			assert.InDelta(t, m.CPU.TotalS, m.CPU.UserS+m.CPU.SystemS, 1e-9)
			assert.GreaterOrEqual(t, m.OthersCores, 0.0)
		})
	}
	// The sequential loop gives each stage's CPU time, OpenCV's threads
	// included; it runs OpenCV on every core, as the seeds' loop.
	for _, st := range rep.Modes[0].Stages {
		assert.Positive(t, st.CPUMs, st.Name)
	}
	assert.Equal(t, -1, rep.Modes[0].Threads)
	assert.Equal(t, 1, rep.Modes[1].Threads, "pipelined modes: Tune's threads (1 without Tune)")
	assert.NotEmpty(t, rep.Verdict)
	seq, pip := rep.Modes[0], rep.Modes[1]
	assert.Nil(t, seq.Agreement, "sequential is the reference")
	assert.InDelta(t, 1, seq.Speedup, 1e-9)
	require.NotNil(t, pip.Agreement)
	assert.Equal(t, "sequential", pip.Agreement.Reference)
	assert.Equal(t, 12, pip.Agreement.Frames)
	assert.InDelta(t, 100, pip.Agreement.SameCountPct, 1e-9, "the same faces in every frame")
	assert.Positive(t, pip.Agreement.Matched)
	assert.Greater(t, pip.Agreement.MeanIoU, 0.99)
	assert.Equal(t, 2, pip.Stages[2].Workers, "pipelined-2 has two inference workers")
	assert.Positive(t, pip.IsolatedBound)

	py := rep.Modes[2]
	assert.Contains(t, py.Skipped, "no python3 with cv2 and numpy")
	assert.Contains(t, py.Skipped, "no-python3: not found")
	assert.Positive(t, rep.Ceiling.FPS)

	// The files.
	var back Report
	data, err := os.ReadFile(filepath.Join(o.Dir, JSONFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, rep.Modes[1].FPS, back.Modes[1].FPS)
	parseReport(t, filepath.Join(o.Dir, HTMLFile))
	assert.FileExists(t, filepath.Join(o.Dir, TextFile))
}

// TestPipelinedIsTuned: "pipelined" runs with the workers and threads
// Tune chooses for the frame size, as `conveyor run` would.
func TestPipelinedIsTuned(t *testing.T) {
	o := options(t, "sequential,pipelined")
	var asked [2]int
	o.Tune = func(w, h int) (Tuned, error) {
		asked = [2]int{w, h}
		return Tuned{Workers: 3, Threads: 1, Note: "3 inference workers, 1 OpenCV thread (chosen)"}, nil
	}
	rep, err := run(t, o)
	require.NoError(t, err)
	assert.Equal(t, [2]int{480, 270}, asked)
	p := rep.Result("pipelined")
	require.NotNil(t, p)
	assert.Equal(t, 3, p.Workers)
	assert.Equal(t, 1, p.Threads)
	assert.Equal(t, 3, p.Stages[2].Workers)
	assert.Contains(t, rep.Notes, "pipelined: 3 inference workers, 1 OpenCV thread (chosen)")
	assert.Equal(t, -1, rep.Result("sequential").Threads)
}

// TestVerdict: the report says when others' load makes the comparison
// meaningless.
func TestVerdict(t *testing.T) {
	rep := &Report{Host: Host{CPUs: 2}, Modes: []*Result{{Mode: Mode{Name: "a"}, OthersCores: 0.05}, {Mode: Mode{Name: "b"}, OthersCores: 0.15}}}
	rep.verdict()
	assert.True(t, rep.Meaningful)
	assert.Contains(t, rep.Verdict, "meaningful: other processes used at most 0.15 of 2 cores")
	rep.Modes = append(rep.Modes, &Result{Mode: Mode{Name: "c"}, OthersCores: 0.9})
	rep.verdict()
	assert.False(t, rep.Meaningful)
	assert.Contains(t, rep.Verdict, "NOT MEANINGFUL: other processes kept 0.90 of 2 cores busy during c")
	rep.Modes = []*Result{{OthersCores: -1}}
	rep.verdict()
	assert.Contains(t, rep.Verdict, "unknown")
}

// TestChildrenCPU: a child process's CPU time counts while it runs and
// after it has been waited for.
func TestChildrenCPU(t *testing.T) {
	before := childrenCPU()
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; sleep 30")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "done\n", line)
	running := childrenCPU().sub(before).total()
	assert.Greater(t, running, 50*time.Millisecond, "the running child's CPU time")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	reaped := childrenCPU().sub(before).total()
	assert.GreaterOrEqual(t, reaped, running, "and once it has exited")
}

// TestBaselineIsEmbedded: the Python baseline comes with the binary; the
// copy in scripts/ is the same file.
func TestBaselineIsEmbedded(t *testing.T) {
	dir := t.TempDir()
	path, remove, err := FindScript("", dir)
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, baselineScript, data)
	assert.True(t, bytes.HasPrefix(data, []byte("#!/usr/bin/env python3")))
	remove()
	assert.NoFileExists(t, path)
	inScripts, err := os.ReadFile("../../../../scripts/baseline.py")
	require.NoError(t, err)
	assert.Equal(t, baselineScript, inScripts)
	_, _, err = FindScript(filepath.Join(dir, "nope.py"), dir)
	require.ErrorContains(t, err, "not a file")
}

func TestRunFileReplay(t *testing.T) {
	o := options(t, "pipelined")
	o.Replay = ReplayFile
	o.Frames = 60 // more than the clip: it is read again
	rep, err := run(t, o)
	require.NoError(t, err)
	assert.Equal(t, 60, rep.Modes[0].Frames)
	assert.Contains(t, rep.Notes[0], "read")
}

func TestPythonBaseline(t *testing.T) {
	py, _, err := FindPython(context.Background(), "")
	if err != nil {
		// The reason must say what is missing; the Go modes cover the rest.
		assert.Contains(t, err.Error(), "cv2")
		t.Skipf("no python3 with cv2 here: %v", err)
	}
	o := options(t, "sequential,python")
	o.Python.Interpreter = py
	rep, err := run(t, o)
	require.NoError(t, err)
	p := rep.Result("python")
	require.NotNil(t, p)
	require.Empty(t, p.Skipped)
	assert.Equal(t, 12, p.Frames)
	assert.Positive(t, p.FPS)
	require.NotNil(t, p.Agreement)
	assert.Equal(t, 12, p.Agreement.Frames)
	assert.GreaterOrEqual(t, p.Agreement.SameCountPct, 90.0, "the Python loop finds the same faces")
	assert.Greater(t, p.Agreement.MeanIoU, 0.95)
	assert.Len(t, p.Timeline, 8)
	assert.FileExists(t, filepath.Join(o.Dir, "python.mp4"))
}

func TestRunBadInput(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *Options)
		err  string
	}{
		{"too few frames", func(o *Options) { o.Frames = 5 }, "5 measured frames are too few to measure: want at least 10"},
		{"negative warm-up", func(o *Options) { o.Warmup = -1 }, "warmup: -1"},
		{"unknown replay", func(o *Options) { o.Replay = "disk" }, `replay: "disk"`},
		{"no modes", func(o *Options) { o.Modes = nil }, "no mode"},
		{"missing source", func(o *Options) { o.Source = filepath.Join(t.TempDir(), "none.mp4") }, "no such file"},
		{"source is a folder", func(o *Options) { o.Source = t.TempDir() }, "is a folder"},
		{"bad blur", func(o *Options) { o.Blur.Pad = 9 }, "blur-pad"},
		{"too many rounds", func(o *Options) { o.Rounds = 21 }, "rounds: 21"},
		{"no report folder", func(o *Options) { o.Dir = "" }, "report: a folder is needed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, "sequential")
			tc.edit(&o)
			_, err := run(t, o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestMedian(t *testing.T) {
	r := func(fps float64) *Result { return &Result{FPS: fps} }
	one := r(5)
	assert.Same(t, one, median([]*Result{one}))
	assert.Nil(t, one.RoundsFPS)
	a, b, c := r(30), r(10), r(20)
	m := median([]*Result{a, b, c})
	assert.Same(t, c, m)
	assert.Equal(t, []float64{30, 10, 20}, m.RoundsFPS, "in the order they ran")
	d, e := r(40), r(50)
	assert.Same(t, d, median([]*Result{e, d}), "the lower middle of an even count")
}

func TestRunCancelled(t *testing.T) {
	o := options(t, "sequential,pipelined")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, o)
	require.ErrorIs(t, err, context.Canceled)
}
