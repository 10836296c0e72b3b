package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
	"golang.org/x/net/html"

	"github.com/conveyor-vision/conveyor/cmd/conveyor/internal/bench"
)

// benchApp is the app with the bench command, whether or not app.go lists
// it yet.
func benchApp() *cli.App {
	app := newApp()
	for _, c := range app.Commands {
		if c.Name == "bench" {
			return app
		}
	}
	app.Commands = append(app.Commands, benchCommand())
	return app
}

// conveyorBench runs `conveyor bench args…` in-process and returns its
// stdout, stderr and error.
func conveyorBench(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := benchApp()
	app.Writer, app.ErrWriter = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- app.Run(append([]string{"conveyor", "bench"}, args...)) }()
	select {
	case err := <-done:
		return stdout.String(), stderr.String(), err
	case <-time.After(3 * time.Minute):
		t.Fatal("conveyor bench did not finish within 3 minutes")
		return "", "", nil
	}
}

// svgIDs parses an HTML report and returns the ids of its svg elements,
// failing on anything that would need the network or run code.
func svgIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	doc, err := html.Parse(f)
	require.NoError(t, err)
	ids := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			assert.NotEqual(t, "script", n.Data)
			for _, a := range n.Attr {
				assert.NotContains(t, []string{"src", "href"}, a.Key, "<%s> must fetch nothing", n.Data)
				if n.Data == "svg" && a.Key == "id" {
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return ids
}

func TestBenchCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "bench")
	stdout, stderr, err := conveyorBench(t,
		"--source", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"),
		"--frames", "12", "--warmup", "2", "--input-size", "320",
		"--modes", "sequential,pipelined,pipelined-2", "--python-baseline",
		"--timeline-frames", "10", "--report", dir)
	require.NoError(t, err, stderr)

	for _, mode := range []string{"sequential", "pipelined", "pipelined-2", "python"} {
		assert.Regexp(t, `(?m)^\s*`+mode+`\s`, stdout, "the table has a row for %s", mode)
	}
	assert.Contains(t, stderr, "wrote "+filepath.Join(dir, "report.json"))

	var rep bench.Report
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Modes, 4)
	assert.Equal(t, 12, rep.Frames)
	assert.Equal(t, 320, rep.InputW)
	for _, m := range rep.Modes[:3] {
		var names []string
		for _, st := range m.Stages {
			names = append(names, st.Name)
		}
		assert.Equal(t, []string{"source", "preprocess", "infer", "decode", "refine", "track", "blur", "sink"}, names,
			"%s: the Go modes are conveyor run's default line (small-face pass, tracking)", m.Name)
		assert.Equal(t, 12, m.Frames, m.Name)
		assert.Positive(t, m.FPS, m.Name)
		if m.Name != "sequential" {
			require.NotNil(t, m.Agreement, m.Name)
			assert.InDelta(t, 100, m.Agreement.SameCountPct, 1e-9, m.Name)
		}
	}
	py := rep.Modes[3]
	if py.Skipped != "" {
		assert.Contains(t, py.Skipped, "cv2", "the only reason to skip here is a missing cv2")
	} else {
		assert.Equal(t, 12, py.Frames)
		require.NotNil(t, py.Agreement)
		assert.GreaterOrEqual(t, py.Agreement.SameCountPct, 90.0)
	}

	ids := svgIDs(t, filepath.Join(dir, "report.html"))
	for _, id := range []string{"fps-chart", "latency-chart", "timeline-0", "timeline-1", "timeline-2"} {
		assert.True(t, ids[id], "report.html has the svg %s", id)
	}
	text, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	require.NoError(t, err)
	assert.Equal(t, stdout, string(text), "report.txt is the terminal table")
}

func TestBenchBadInput(t *testing.T) {
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"unknown mode", []string{"--source", clip, "--modes", "sequential,warp"}, `unknown mode "warp"`},
		{"too few frames", []string{"--source", clip, "--frames", "3"}, "3 measured frames are too few to measure: want at least 10"},
		{"negative warm-up", []string{"--source", clip, "--warmup", "-1"}, "warmup: -1"},
		{"no source", []string{"--frames", "20"}, "source: bench takes one video file, not 0 sources"},
		{"two sources", []string{"--source", clip, "--source", clip}, "bench takes one video file, not 2 sources"},
		{"zero rounds", []string{"--source", clip, "--rounds", "0"}, "rounds: 0: want 1 to 20"},
		{"unknown replay", []string{"--source", clip, "--replay", "tape"}, `replay: "tape"`},
		{"missing model", []string{"--source", clip, "--model", "/nonexistent/m.onnx"}, "m.onnx"},
		{"missing video", []string{"--source", "/nonexistent/v.mp4"}, "v.mp4"},
		{"bad input size", []string{"--source", clip, "--input-size", "7"}, "input-size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "r")
			_, stderr, err := conveyorBench(t, append(tc.args, "--report", dir)...)
			require.Error(t, err, stderr)
			assert.Contains(t, oneLine(err), tc.err)
			assert.NoFileExists(t, filepath.Join(dir, "report.json"), "nothing is written on bad input")
		})
	}
}

func TestBenchPythonMissing(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, err := conveyorBench(t,
		"--source", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"),
		"--frames", "10", "--warmup", "0", "--input-size", "160", "--modes", "sequential", "--python-baseline", "--rounds", "3",
		"--python", filepath.Join(dir, "python3"), "--report", dir)
	require.NoError(t, err, "a baseline that cannot run does not fail the bench: %s", stderr)
	assert.Contains(t, stdout, "python: skipped: no python3 with cv2 and numpy")
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep bench.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Modes, 2)
	assert.Equal(t, 10, rep.Modes[0].Frames)
	assert.Equal(t, 3, rep.Rounds)
	assert.Len(t, rep.Modes[0].RoundsFPS, 3, "sequential ran three rounds")
	assert.Contains(t, rep.Modes[0].RoundsFPS, rep.Modes[0].FPS, "the figures are one round's")
	assert.Empty(t, rep.Modes[1].RoundsFPS, "a skipped mode is not tried again")
	assert.True(t, strings.HasPrefix(rep.Modes[1].Skipped, "no python3 with cv2"), rep.Modes[1].Skipped)
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "skipped: no python3 with cv2")
}
