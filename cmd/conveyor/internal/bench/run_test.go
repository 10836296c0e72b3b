package bench

import (
	"context"
	"encoding/json"
	"os"
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
		})
	}
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
