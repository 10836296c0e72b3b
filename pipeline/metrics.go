package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// StageMetrics counts what one stage of the line did. The line keeps one per
// stage (the sources and the sink stage included); read a consistent copy
// with Snapshot. All methods are safe for concurrent use and allocate nothing.
type stageMetrics struct {
	name    string
	workers int

	in      atomic.Int64 // frames received
	out     atomic.Int64 // frames passed on
	dropped atomic.Int64 // frames dropped by the link into this stage (queue full)
	skipped atomic.Int64 // frames this stage could not process (ErrSkipFrame)
	probed  atomic.Int64 // frames dropped by a probe
	busy    atomic.Int64 // nanoseconds spent inside Process, summed over workers
	maxQ    atomic.Int64 // deepest queue seen in front of this stage

	mu  sync.Mutex
	lat *hdrhistogram.Histogram // per-frame processing time, microseconds

	kind  string
	input atomic.Pointer[link] // the link in front of the stage, set by Run

	batches *BatchSizes // batch stages only

	// onTime is Line.OnStageTime, for stages and the sink; set by Run.
	onTime func(stage string, took time.Duration)
}

// The latency histogram covers 1 µs to 10 min with 3 significant digits.
const (
	histMin = 1
	histMax = int64(10 * time.Minute / time.Microsecond)
)

func newStageMetrics(name, kind string, workers int) *stageMetrics {
	return &stageMetrics{
		name:    name,
		kind:    kind,
		workers: workers,
		lat:     hdrhistogram.New(histMin, histMax, 3),
	}
}

// queue is the number of frames waiting in front of the stage.
func (m *stageMetrics) queue() int {
	if l := m.input.Load(); l != nil {
		return len(l.ch)
	}
	return 0
}

func (m *stageMetrics) observe(d time.Duration) {
	if m.onTime != nil {
		m.onTime(m.name, d)
	}
	m.busy.Add(int64(d))
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	m.mu.Lock()
	_ = m.lat.RecordValue(us) // values above histMax are clamped by the error path: ignore
	m.mu.Unlock()
}

func (m *stageMetrics) sampleQueue() {
	q := int64(m.queue())
	for {
		old := m.maxQ.Load()
		if q <= old || m.maxQ.CompareAndSwap(old, q) {
			return
		}
	}
}

// StageStats is a point-in-time copy of a stage's metrics.
type StageStats struct {
	Name string `json:"name"`
	// Kind is "source", "stage" or "sink".
	Kind    string `json:"kind"`
	Workers int    `json:"workers"`
	// In counts frames that reached the stage, Out frames it passed on.
	In  int64 `json:"in"`
	Out int64 `json:"out"`
	// Dropped counts frames the link into the stage threw away because the
	// stage was busy (drop-oldest policy).
	Dropped int64 `json:"dropped"`
	// Skipped counts frames the stage could not process (ErrSkipFrame).
	Skipped int64 `json:"skipped"`
	// Probed counts frames a probe dropped.
	Probed int64 `json:"probed"`
	// Busy is the time spent inside Process, summed over workers.
	Busy time.Duration `json:"busy_ns"`
	// Queue is the number of frames waiting in front of the stage now, and
	// MaxQueue the most seen.
	Queue    int `json:"queue"`
	MaxQueue int `json:"max_queue"`
	// P50, P90, P99 and Max are per-frame processing times.
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
	// BatchSizes counts batches by size (index = size) for a batch stage;
	// nil for other stages.
	BatchSizes []int64 `json:"batch_sizes,omitempty"`
}

// snapshot copies the metrics.
func (m *stageMetrics) snapshot() StageStats {
	s := StageStats{
		Name:     m.name,
		Kind:     m.kind,
		Workers:  m.workers,
		In:       m.in.Load(),
		Out:      m.out.Load(),
		Dropped:  m.dropped.Load(),
		Skipped:  m.skipped.Load(),
		Probed:   m.probed.Load(),
		Busy:     time.Duration(m.busy.Load()),
		Queue:    m.queue(),
		MaxQueue: int(m.maxQ.Load()),
	}
	if m.batches != nil {
		s.BatchSizes = m.batches.Snapshot()
	}
	m.mu.Lock()
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if m.lat.TotalCount() > 0 {
		s.P50 = us(m.lat.ValueAtQuantile(50))
		s.P90 = us(m.lat.ValueAtQuantile(90))
		s.P99 = us(m.lat.ValueAtQuantile(99))
		s.Max = us(m.lat.Max())
		s.Mean = time.Duration(m.lat.Mean() * float64(time.Microsecond))
	}
	m.mu.Unlock()
	return s
}

// Utilization is the fraction of wall time the stage's workers were busy,
// between 0 and 1, over a run that lasted wall.
func (s StageStats) Utilization(wall time.Duration) float64 {
	if wall <= 0 || s.Workers == 0 {
		return 0
	}
	return float64(s.Busy) / float64(wall) / float64(s.Workers)
}

// LatencyRecorder collects end-to-end latencies (capture to output) for the
// run summary. Safe for concurrent use.
type latencyRecorder struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// NewLatencyRecorder makes an empty recorder.
func newLatencyRecorder() *latencyRecorder {
	return &latencyRecorder{h: hdrhistogram.New(histMin, histMax, 3)}
}

// Record adds one latency.
func (r *latencyRecorder) Record(d time.Duration) {
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	r.mu.Lock()
	_ = r.h.RecordValue(us)
	r.mu.Unlock()
}

// Quantile returns the q-th percentile (0–100).
func (r *latencyRecorder) Quantile(q float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.h.ValueAtQuantile(q)) * time.Microsecond
}

// Count is the number of latencies recorded.
func (r *latencyRecorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.h.TotalCount()
}

// Stats is a snapshot of a line's metrics.
type Stats struct {
	// Stages lists the sources, then the stages in order, then "sink".
	Stages []StageStats `json:"stages"`
	// Frames counts frames that left the line through the sinks.
	Frames int64 `json:"frames"`
	// Wall is the time from the start of Run to its end (or to now while it
	// runs).
	Wall time.Duration `json:"wall_ns"`
	// FPS is Frames / Wall.
	FPS float64 `json:"fps"`
	// Latency percentiles, capture to the last sink.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP90 time.Duration `json:"latency_p90_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

// Stats returns the line's metrics so far; safe to call while it runs.
func (l *Line) Stats() Stats {
	var st Stats
	l.mu.Lock()
	for _, s := range l.sources {
		st.Stages = append(st.Stages, s.statsLocked())
	}
	l.mu.Unlock()
	for _, n := range l.stages {
		st.Stages = append(st.Stages, n.metrics.snapshot())
	}
	sink := l.sinkNode().metrics.snapshot()
	st.Stages = append(st.Stages, sink)
	st.Frames = sink.Out
	l.mu.Lock()
	start, end := l.started, l.ended
	l.mu.Unlock()
	if !start.IsZero() {
		if end.IsZero() {
			end = clock()
		}
		st.Wall = end.Sub(start)
	}
	if st.Wall > 0 {
		st.FPS = float64(st.Frames) / st.Wall.Seconds()
	}
	st.LatencyP50 = l.latency.Quantile(50)
	st.LatencyP90 = l.latency.Quantile(90)
	st.LatencyP99 = l.latency.Quantile(99)
	return st
}
