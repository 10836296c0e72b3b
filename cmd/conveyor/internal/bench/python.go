package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/post"
)

// baselineScript is the seed-style Python + OpenCV loop, embedded so that
// --python-baseline works from an installed binary, away from the
// checkout (scripts/baseline.py is a link to the same file).
//
//go:embed baseline.py
var baselineScript []byte

// PythonOptions say where the baseline's interpreter and script are.
type PythonOptions struct {
	// Interpreter is a python3 to use; "" tries "python3" on PATH, then
	// /usr/bin/python3, and takes the first that imports cv2 and numpy.
	Interpreter string
	// Script is a baseline script to run instead of the embedded one.
	Script string
	// Threads is the baseline's OpenCV thread count (cv2.setNumThreads);
	// 0 leaves OpenCV's default (all cores), as a seed-style app does,
	// whatever the Go modes use.
	Threads int
	// Timeout bounds the baseline's run (0: 10 minutes).
	Timeout time.Duration
}

// FindPython returns the first interpreter that imports cv2 and numpy, and
// its versions, or an error that says what each candidate lacked.
func FindPython(ctx context.Context, explicit string) (path, versions string, err error) {
	cands := []string{"python3", "/usr/bin/python3"}
	if explicit != "" {
		cands = []string{explicit}
	}
	var why []string
	for _, c := range cands {
		p, err := exec.LookPath(c)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: not found", c))
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, p, "-c",
			"import sys, cv2, numpy; print('python %s, opencv %s, numpy %s' % (sys.version.split()[0], cv2.__version__, numpy.__version__))").CombinedOutput()
		cancel()
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %s", p, lastLine(string(out), err)))
			continue
		}
		return p, strings.TrimSpace(string(out)), nil
	}
	return "", "", fmt.Errorf("no python3 with cv2 and numpy (install python3-opencv): %s", strings.Join(why, "; "))
}

// FindScript returns the baseline script to run: explicit if given (it
// must be a file), else the embedded one written into dir. The second
// result removes what it wrote.
func FindScript(explicit, dir string) (string, func(), error) {
	if explicit != "" {
		if st, err := os.Stat(explicit); err != nil || st.IsDir() {
			return "", nil, fmt.Errorf("baseline script %s: not a file", explicit)
		}
		return explicit, func() {}, nil
	}
	f, err := os.CreateTemp(dir, "baseline-*.py")
	if err != nil {
		return "", nil, fmt.Errorf("baseline script: %w", err)
	}
	_, err = f.Write(baselineScript)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("baseline script: %w", err)
	}
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

func lastLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}

// pythonOut is what baseline.py prints.
type pythonOut struct {
	OK        bool               `json:"ok"`
	Error     string             `json:"error"`
	Python    string             `json:"python"`
	OpenCV    string             `json:"opencv"`
	NumPy     string             `json:"numpy"`
	Threads   int                `json:"threads"`
	Codec     string             `json:"codec"`
	Input     []int              `json:"input"`
	Frames    int                `json:"frames"`
	WallS     float64            `json:"wall_s"`
	FPS       float64            `json:"fps"`
	Latencies []float64          `json:"latencies_ms"`
	Busy      map[string]float64 `json:"busy_s"`
	CPUUser   float64            `json:"cpu_user_s"`
	CPUSys    float64            `json:"cpu_system_s"`
	PeakRSSKB float64            `json:"peak_rss_kb"`
	Timeline  []struct {
		Frame int64    `json:"frame"`
		Spans [][3]any `json:"spans"`
	} `json:"timeline"`
}

// pythonStages are the baseline's steps, named as the Go stages.
var pythonStages = []string{"source", "preprocess", "infer", "decode", "blur", "sink"}

// runPython runs the baseline. It never fails the bench: anything that
// stops it is the result's Skipped reason.
func (r *runner) runPython(ctx context.Context, m Mode) *Result {
	res := &Result{Mode: m}
	reason, out := r.python(ctx)
	if reason != "" {
		res.Skipped = reason
		return res
	}
	res.Info = map[string]string{"versions": fmt.Sprintf("python %s, opencv %s, numpy %s", out.Python, out.OpenCV, out.NumPy),
		"opencv_threads": strconv.Itoa(out.Threads), "codec": out.Codec}
	res.Frames, res.WallS, res.FPS = out.Frames, out.WallS, out.FPS
	res.Mode.Threads = out.Threads
	res.setLatency(out.Latencies)
	total := out.CPUUser + out.CPUSys
	if out.Frames > 0 && out.WallS > 0 {
		res.CPU = &CPUFigures{UserS: out.CPUUser, SystemS: out.CPUSys, TotalS: total, Cores: total / out.WallS, PerFrameMs: 1000 * total / float64(out.Frames)}
	}
	res.PeakRSSMB = out.PeakRSSKB / 1024
	for _, s := range pythonStages {
		res.Stages = append(res.Stages, stageFigures(s, 1, out.Busy[s], out.Frames, out.WallS))
	}
	for _, tf := range out.Timeline {
		f := TimelineFrame{Frame: tf.Frame}
		for _, sp := range tf.Spans {
			name, _ := sp[0].(string)
			a, _ := sp[1].(float64)
			b, _ := sp[2].(float64)
			f.Spans = append(f.Spans, Span{Stage: name, StartMs: a, EndMs: b})
		}
		res.Timeline = append(res.Timeline, f)
	}
	dets, err := readPythonDets(filepath.Join(r.o.Dir, "python-detections.json"), r.o.Warmup)
	if err != nil {
		res.Info["agreement"] = err.Error()
	}
	res.dets = dets
	return res
}

// python checks that the baseline can do the same work, runs it, and
// returns its output or the reason it could not run.
func (r *runner) python(ctx context.Context) (string, *pythonOut) {
	o, rep := r.o, r.report
	if rep.Spec != "yunet-2022mar" {
		return fmt.Sprintf("baseline.py decodes YuNet 2022mar only, the model is %s", rep.Spec), nil
	}
	if o.Blur.Mode != post.Gaussian || o.Blur.Shape != post.Ellipse {
		return fmt.Sprintf("baseline.py blurs with an elliptical Gaussian only, the bench's blur is %s", rep.Blur), nil
	}
	script, remove, err := FindScript(o.Python.Script, o.Dir)
	if err != nil {
		return err.Error(), nil
	}
	defer remove()
	py, _, err := FindPython(ctx, o.Python.Interpreter)
	if err != nil {
		return err.Error(), nil
	}
	timeout := o.Python.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{script,
		"--source", o.Source, "--model", o.Model.Path,
		"--frames", strconv.Itoa(o.Frames), "--warmup", strconv.Itoa(o.Warmup),
		"--input", fmt.Sprintf("%dx%d", rep.InputW, rep.InputH),
		"--score", fmt.Sprint(rep.Score), "--nms", fmt.Sprint(rep.NMS),
		"--blur-pad", fmt.Sprint(o.Blur.Pad), "--strength", fmt.Sprint(o.Blur.Strength),
		"--threads", strconv.Itoa(o.Python.Threads), "--replay", o.Replay,
		"--timeline-frames", strconv.Itoa(o.TimelineFrames),
		"--out", filepath.Join(o.Dir, "python.mp4"),
		"--detections", filepath.Join(o.Dir, "python-detections.json"),
	}
	cmd := exec.CommandContext(cctx, py, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out pythonOut
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	jsonErr := json.Unmarshal([]byte(lines[len(lines)-1]), &out)
	switch {
	case jsonErr == nil && !out.OK:
		return "baseline.py: " + out.Error, nil
	case runErr != nil:
		return fmt.Sprintf("%s %s: %s", py, script, lastLine(stderr.String(), runErr)), nil
	case jsonErr != nil:
		return fmt.Sprintf("%s %s: output is not JSON: %v", py, script, jsonErr), nil
	}
	return "", &out
}

// readPythonDets reads the baseline's detections of the measured frames.
func readPythonDets(path string, warm int) ([][]Box, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("python detections: %w", err)
	}
	var raw [][][5]float32
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("python detections %s: %w", path, err)
	}
	if len(raw) < warm {
		return nil, errors.New("python detections: fewer frames than the warm-up")
	}
	out := make([][]Box, 0, len(raw)-warm)
	for _, fr := range raw[warm:] {
		b := make([]Box, len(fr))
		for i, v := range fr {
			b[i] = Box{X: v[0], Y: v[1], W: v[2], H: v[3], Score: v[4]}
		}
		out = append(out, b)
	}
	return out, nil
}
