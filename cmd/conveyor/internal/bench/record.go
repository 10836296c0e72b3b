package bench

import (
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// unset marks a timestamp slot nothing wrote.
const unset = time.Duration(-1)

// recorder keeps, for one mode, when each frame entered and left each
// stage, when it was captured and put out, and what was found in it.
// Frames are indexed by Frame.Number (0 .. total-1); each slot is written by
// exactly one goroutine (the stage's, or the worker that had the frame) and
// read after the run.
type recorder struct {
	t0     time.Time
	warm   int
	stages []string
	start  [][]time.Duration // [stage][frame], since t0
	end    [][]time.Duration
	capt   []time.Duration // f.Captured, since t0
	out    []time.Duration // when the frame left the last sink
	dets   [][]Box

	// Written only by the output goroutine (the sink stage).
	winStart, winEnd time.Duration
	cpuStart, cpuEnd cpuSample // this process
	childStart       cpuSample // child processes (the encoder) at the window's start
	cpuStartSet      bool

	// stageCPU is each stage's CPU time over the measured frames, and how
	// many frames that is: only the sequential mode fills it (one stage
	// runs at a time, so the process's CPU time while a stage runs is the
	// stage's, the library threads it hands work to included).
	stageCPU    []time.Duration
	stageFrames []int
	perStageCPU bool
}

func newRecorder(stages []string, total, warm int) *recorder {
	r := &recorder{t0: time.Now(), warm: warm, stages: stages,
		capt: filled(total), out: filled(total), dets: make([][]Box, total)}
	for range stages {
		r.start = append(r.start, filled(total))
		r.end = append(r.end, filled(total))
	}
	r.stageCPU, r.stageFrames = make([]time.Duration, len(stages)), make([]int, len(stages))
	if warm == 0 {
		r.cpuStart, r.childStart, r.cpuStartSet = selfCPU(), childrenCPU(), true
	}
	return r
}

// stageTime adds a measured frame's CPU time in stage s (sequential mode).
func (r *recorder) stageTime(s int, n int64, d time.Duration) {
	if int(n) >= r.warm && r.ok(n) {
		r.stageCPU[s] += d
		r.stageFrames[s]++
	}
}

func filled(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = unset
	}
	return s
}

func (r *recorder) ok(n int64) bool { return n >= 0 && n < int64(len(r.out)) }

// begin and finish mark frame n entering and leaving stage s.
func (r *recorder) begin(s int, n int64) {
	if r.ok(n) {
		r.start[s][n] = time.Since(r.t0)
	}
}

func (r *recorder) finish(s int, n int64) {
	if r.ok(n) {
		r.end[s][n] = time.Since(r.t0)
	}
}

// output marks f leaving the line (after the last sink) and copies its
// detections. Frames leave in order, so the last warm-up frame to leave
// opens the measured window and the last frame closes it.
func (r *recorder) output(f *pipeline.Frame) {
	n := f.Number
	if !r.ok(n) {
		return
	}
	now := time.Since(r.t0)
	r.out[n] = now
	if !f.Captured.IsZero() {
		r.capt[n] = f.Captured.Sub(r.t0)
	}
	r.dets[n] = boxesOf(f.Objects)
	cpu := selfCPU()
	if int(n) < r.warm {
		r.winStart, r.cpuStart, r.cpuStartSet = now, cpu, true
		if int(n) == r.warm-1 {
			r.childStart = childrenCPU() // once: it reads /proc
		}
		return
	}
	r.winEnd, r.cpuEnd = now, cpu
}

// measured returns the figures of the measured window. workers gives the
// number of workers of each stage; childEnd is the child processes' CPU
// time once the mode has finished (its encoder has exited then: its CPU
// from the window's start to its end is counted, the flush of the last
// frames and the final rewrite of the file included).
func (r *recorder) measured(res *Result, workers []int, timeline int, childEnd cpuSample) {
	total := len(r.out)
	var lat []float64
	for n := r.warm; n < total; n++ {
		if r.out[n] == unset {
			continue
		}
		res.Frames++
		if r.capt[n] != unset {
			lat = append(lat, ms(r.out[n]-r.capt[n]))
		}
	}
	wall := r.winEnd - r.winStart
	res.WallS = wall.Seconds()
	if wall > 0 {
		res.FPS = float64(res.Frames) / wall.Seconds()
	}
	res.setLatency(lat)
	if r.cpuStartSet && res.Frames > 0 {
		res.CPU = cpuFigures(r.cpuEnd.sub(r.cpuStart), childEnd.sub(r.childStart), wall, res.Frames)
	}
	for s, name := range r.stages {
		// The mean is over the measured frames' whole spans; busy time is
		// what falls inside the window, from any frame, so that
		// utilization stays a share of the window even in short runs
		// where measured frames were already in a stage before it opened.
		var sum, busy time.Duration
		count := 0
		for n := 0; n < total; n++ {
			a, b := r.start[s][n], r.end[s][n]
			if a == unset || b == unset {
				continue
			}
			if n >= r.warm {
				sum += b - a
				count++
			}
			if a, b = max(a, r.winStart), min(b, r.winEnd); b > a {
				busy += b - a
			}
		}
		st := stageFigures(name, workers[s], busy.Seconds(), count, wall.Seconds())
		if count > 0 {
			st.MeanMs = ms(sum) / float64(count)
			st.OwnFPS = float64(workers[s]) * 1000 / st.MeanMs
		}
		if r.stageFrames[s] > 0 {
			st.CPUMs = ms(r.stageCPU[s]) / float64(r.stageFrames[s])
		}
		res.Stages = append(res.Stages, st)
	}
	// The timeline: the first measured frames, times since the first one
	// was read.
	if r.warm < total && r.start[0][r.warm] != unset {
		base := r.start[0][r.warm]
		for n := r.warm; n < min(total, r.warm+timeline); n++ {
			tf := TimelineFrame{Frame: int64(n)}
			for s, name := range r.stages {
				if r.start[s][n] == unset || r.end[s][n] == unset {
					continue
				}
				tf.Spans = append(tf.Spans, Span{Stage: name, StartMs: ms(r.start[s][n] - base), EndMs: ms(r.end[s][n] - base)})
			}
			res.Timeline = append(res.Timeline, tf)
		}
	}
	res.dets = r.dets[r.warm:]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cpuFigures(self, children cpuSample, wall time.Duration, frames int) *CPUFigures {
	all := self.add(children)
	c := &CPUFigures{
		UserS:     all.user.Seconds(),
		SystemS:   all.sys.Seconds(),
		ChildrenS: children.total().Seconds(),
	}
	c.TotalS = c.UserS + c.SystemS
	c.ChildrenPerFrameMs = 1000 * c.ChildrenS / float64(frames)
	if wall > 0 {
		c.Cores = c.TotalS / wall.Seconds()
	}
	c.PerFrameMs = 1000 * c.TotalS / float64(frames)
	return c
}

func stageFigures(name string, workers int, busyS float64, count int, wallS float64) StageFigures {
	st := StageFigures{Name: name, Workers: workers, BusyS: busyS, Frames: count}
	if count > 0 {
		st.MeanMs = 1000 * busyS / float64(count)
	}
	if st.MeanMs > 0 {
		st.OwnFPS = float64(workers) * 1000 / st.MeanMs
	}
	if wallS > 0 && workers > 0 {
		st.Utilization = busyS / wallS / float64(workers)
	}
	return st
}

// setLatency fills the percentiles and a downsampled sorted copy for the
// distribution chart.
func (res *Result) setLatency(lat []float64) {
	if len(lat) == 0 {
		return
	}
	s := append([]float64(nil), lat...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(0, min(len(s)-1, i))]
	}
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	res.Latency = LatencyFigures{P50: q(50), P95: q(95), P99: q(99), Mean: sum / float64(len(s)), Max: s[len(s)-1]}
	const points = 200
	if len(s) <= points {
		res.LatencySorted = s
		return
	}
	for i := range points {
		res.LatencySorted = append(res.LatencySorted, s[i*(len(s)-1)/(points-1)])
	}
}

// resetPeakRSS resets the kernel's peak RSS of this process (VmHWM), so
// that the next mode's peak is its own. It reports whether that worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSSMB reads VmHWM from /proc/self/status, falling back to getrusage's
// ru_maxrss (the peak over the whole process's life).
func peakRSSMB() float64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
						return kb / 1024
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}
