package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
)

// Tuning is how the line is laid out on this machine: the inference
// workers and OpenCV's threads, each set by the user or chosen here from
// the cores and the measured cost of the stages (machineDefaults).
type Tuning struct {
	// Cores are the cores this process may use (its CPU affinity, e.g.
	// taskset, and its cgroup's CPU limit).
	Cores int `json:"cores"`
	// Workers is the inference workers; Threads OpenCV's thread count.
	Workers int `json:"infer_workers"`
	Threads int `json:"threads"`
	// InferMs and PreprocessMs are the CPU milliseconds one frame costs in
	// inference and in preprocessing on one thread, measured at start on
	// a frame of the first source's size (0: not measured).
	InferMs      float64 `json:"infer_ms,omitempty"`
	PreprocessMs float64 `json:"preprocess_ms,omitempty"`
	// Chosen names what was chosen here rather than set by the user.
	Chosen []string `json:"chosen,omitempty"`
}

// restFactor estimates what a frame costs outside inference from its
// preprocessing: source decode, preprocess, decode, blur and encode cost
// 4.7× preprocess at 480×270 and 8–15× at 1080p on the machine measured
// (docs/BENCHMARKS.md, "Machine-derived defaults"). Erring low only gives
// inference more workers than it needs, which costs a network's memory
// each, not CPU; erring high would starve it.
const restFactor = 4

// machineDefaults chooses what opts leaves at 0 (infer-workers, threads)
// for this machine, and sets OpenCV's thread count:
//
//   - OpenCV threads: 1. The line's stages and workers already run in
//     parallel; OpenCV's own pool spins on every core and competes with
//     them (measured: docs/BENCHMARKS.md).
//   - inference workers: enough that inference is never the bottleneck when
//     every core is busy: ceil(cores × infer / (infer + rest)), measured on
//     a frame of the source's size (w×h), at most one per core. With
//     TensorRT, one: the GPU serializes a worker's frames anyway (batches
//     are the lever there).
//
// A value the user set is kept as it is.
func machineDefaults(opts infer.Options, model *infer.Model, backend infer.Backend, w, h int) (Tuning, error) {
	t := Tuning{Cores: usableCores(), Workers: opts.Workers, Threads: opts.Threads}
	if t.Threads == 0 {
		t.Threads = 1
		t.Chosen = append(t.Chosen, "threads")
	}
	if err := infer.SetNumThreads(t.Threads); err != nil {
		return t, err
	}
	if t.Workers > 0 {
		return t, nil
	}
	t.Chosen = append(t.Chosen, "infer-workers")
	if backend == infer.TensorRTBackend || t.Cores == 1 {
		t.Workers = 1
		return t, nil
	}
	if w <= 0 || h <= 0 {
		w, h = 1280, 720 // no source yet (--api): a common camera's size
	}
	pre, inf, err := measureStages(model, w, h)
	if err != nil {
		return t, err
	}
	t.PreprocessMs, t.InferMs = pre, inf
	t.Workers = workersFor(t.Cores, inf, pre*restFactor)
	return t, nil
}

// workersFor is ceil(cores × infer / (infer + rest)), from 1 to cores.
func workersFor(cores int, inferMs, restMs float64) int {
	if inferMs <= 0 {
		return 1
	}
	n := int(math.Ceil(float64(cores)*inferMs/(inferMs+restMs) - 1e-9))
	return min(max(n, 1), cores)
}

// usableCores is the cores this process may run on: its affinity
// (runtime.NumCPU) and its cgroup's limit (GOMAXPROCS follows it).
func usableCores() int {
	return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0)))
}

// measureStages times preprocessing and inference of one w×h frame on this
// thread, in CPU time (so another process's load does not count): the best
// of three after a warm-up pass, with OpenCV on one thread.
func measureStages(model *infer.Model, w, h int) (preMs, inferMs float64, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pre, err := model.NewPreprocess()
	if err != nil {
		return 0, 0, err
	}
	defer pre.Close()
	inf, err := model.NewInfer()
	if err != nil {
		return 0, 0, err
	}
	defer inf.Close()
	img := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	preMs, inferMs = math.Inf(1), math.Inf(1)
	ctx := context.Background()
	for i := range 4 {
		f := &pipeline.Frame{Image: img.Clone()}
		a := threadCPU()
		err := pre.Process(ctx, f)
		b := threadCPU()
		if err == nil {
			err = inf.Process(ctx, f)
		}
		c := threadCPU()
		f.Release()
		if err != nil {
			return 0, 0, fmt.Errorf("measuring the detector: %w", err)
		}
		if i > 0 { // the first pass allocates the network's buffers
			preMs = min(preMs, ms64(b-a))
			inferMs = min(inferMs, ms64(c-b))
		}
	}
	return preMs, inferMs, nil
}

// threadCPU is this OS thread's CPU time, to the nanosecond.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func ms64(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String is the summary's line: "2 inference workers, 1 OpenCV thread
// (chosen for 2 cores: inference 14.2 ms, preprocess 1.1 ms per frame)".
func (t Tuning) String() string {
	s := fmt.Sprintf("%d inference worker%s, %d OpenCV thread%s", t.Workers, plural(t.Workers), t.Threads, plural(t.Threads))
	if len(t.Chosen) == 0 {
		return s + " (as set)"
	}
	why := fmt.Sprintf("%s chosen for %d core%s", strings.Join(t.Chosen, " and "), t.Cores, plural(t.Cores))
	if t.InferMs > 0 {
		why += fmt.Sprintf(": inference %.1f ms, preprocess %.1f ms per frame", t.InferMs, t.PreprocessMs)
	}
	return s + " (" + why + ")"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
