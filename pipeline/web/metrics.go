package web

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// durationBuckets cover 100 µs to about 13 s in 18 steps of 2x: a face
// detector's stage on a Jetson (a few ms) and a stuck RTSP read alike.
var durationBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

// observer exports the line's timings: per-stage duration histograms (from
// the line's own measurement, Line.OnStageTime), the end-to-end latency
// histogram and the per-source frame meters (the sink's Out probe, after
// every sink wrote).
//
// A source's meter goes when the source ends (the Sink's EndSource calls
// end, after the source's last frame went through the sink's Out probe), so
// that /metrics has no series of sources long gone; only its final count
// stays, for /stats.
type observer struct {
	stage   *prometheus.HistogramVec
	latency prometheus.Histogram

	started   atomic.Bool  // a source produced a frame: Run's setup is done
	lastFrame atomic.Int64 // unix ns of the last frame out of the line
	frames    atomic.Int64

	mu     sync.Mutex
	meters map[int]*meter
	final  map[int]int64 // frames out of the line of each ended source
}

func newObserver(*Sink) *observer {
	return &observer{
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "conveyor_stage_duration_seconds",
			Help:    "Time a stage spent on one frame (a batch stage: one batch); the sink stage covers every sink's Write. The line's own measurement (pipeline.Line.OnStageTime).",
			Buckets: durationBuckets,
		}, []string{"stage"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "conveyor_frame_latency_seconds",
			Help:    "End-to-end latency: from capture to the last sink.",
			Buckets: durationBuckets,
		}),
		meters: map[int]*meter{},
		final:  map[int]int64{},
	}
}

// end drops source id's meter, keeping its final count.
func (o *observer) end(id int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := o.meters[id]; m != nil {
		o.final[id] = m.count
		pipeline.ForgetEnded(o.final)
		delete(o.meters, id)
	}
}

// finalCount is the frames of an ended source that left the line.
func (o *observer) finalCount(id int) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, ok := o.final[id]
	return n, ok
}

// attach takes the line's own stage timings (Line.OnStageTime) and adds
// the probes: the sources' Out (the line runs) and the sink's Out (latency
// and the per-source meters).
func (o *observer) attach(line *pipeline.Line) error {
	byStage := map[string]prometheus.Observer{}
	for _, ss := range line.Stats().Stages {
		if ss.Kind != "source" {
			byStage[ss.Name] = o.stage.WithLabelValues(ss.Name)
		}
	}
	line.OnStageTime = func(stage string, took time.Duration) {
		if obs := byStage[stage]; obs != nil { // read-only once Run starts
			obs.Observe(took.Seconds())
		}
	}
	if err := line.Probe("source", pipeline.Out, func(*pipeline.Frame) bool {
		o.started.Store(true)
		return true
	}); err != nil {
		return err
	}
	return line.Probe("sink", pipeline.Out, func(f *pipeline.Frame) bool {
		now := time.Now()
		if !f.Captured.IsZero() {
			o.latency.Observe(now.Sub(f.Captured).Seconds())
		}
		o.lastFrame.Store(now.UnixNano())
		o.frames.Add(1)
		o.mu.Lock()
		m := o.meters[f.SourceID]
		if m == nil {
			m = &meter{id: f.SourceID, name: meta.RedactURI(f.SourceName)}
			o.meters[f.SourceID] = m
		}
		m.add(now)
		o.mu.Unlock()
		return true
	})
}

// running is true once the line's sources produce frames: from then on
// Line.Stats may be read while Run runs (Run's setup happened before).
func (o *observer) running() bool { return o.started.Load() }

// SourceStats is one source's figures on /stats.
type SourceStats struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// State is the source's meta.SourceState, and Error why it failed.
	State meta.SourceState `json:"state,omitempty"`
	Error string           `json:"error,omitempty"`
	Live  bool             `json:"live,omitempty"`
	// Frames counts the source's frames that left the line, FPS their rate
	// over the last 5 s (0 once the source has ended).
	Frames int64   `json:"frames"`
	FPS    float64 `json:"fps"`
	// Dropped counts its frames dropped by its own link (drop-oldest).
	Dropped int64 `json:"dropped"`
}

// sources lists the meters: the sources that have not ended, by id.
func (o *observer) sources() []SourceStats {
	now := time.Now()
	o.mu.Lock()
	out := make([]SourceStats, 0, len(o.meters))
	for _, m := range o.meters {
		out = append(out, SourceStats{ID: m.id, Name: m.name, Frames: m.count, FPS: m.rate(now)})
	}
	o.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// meter counts one source's frames and its recent rate: samples of the
// count every 250 ms, over the last 5 s.
type meter struct {
	id      int
	name    string
	count   int64
	samples [24]sample
	next    int
}

type sample struct {
	at    time.Time
	count int64
}

const meterWindow = 5 * time.Second

func (m *meter) add(now time.Time) {
	m.count++
	last := m.samples[(m.next+len(m.samples)-1)%len(m.samples)]
	if !last.at.IsZero() && now.Sub(last.at) < meterWindow/20 {
		return
	}
	m.samples[m.next] = sample{at: now, count: m.count}
	m.next = (m.next + 1) % len(m.samples)
}

// rate is frames a second since the oldest sample of the window; 0 when
// the source sent nothing for the whole window.
func (m *meter) rate(now time.Time) float64 {
	var oldest sample
	for _, s := range m.samples {
		if s.at.IsZero() || now.Sub(s.at) > meterWindow {
			continue
		}
		if oldest.at.IsZero() || s.at.Before(oldest.at) {
			oldest = s
		}
	}
	d := now.Sub(oldest.at).Seconds()
	if oldest.at.IsZero() || d <= 0 {
		return 0
	}
	// The oldest sample's own frame is inside the window's start.
	return float64(m.count-oldest.count+1) / d
}

// lineCollector reads Line.Stats at scrape time.
type lineCollector struct {
	line *pipeline.Line
	obs  *observer
	sink *Sink
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	dIn       = desc("conveyor_stage_frames_in_total", "Frames that reached the stage.", "stage")
	dOut      = desc("conveyor_stage_frames_out_total", "Frames the stage passed on.", "stage")
	dDropped  = desc("conveyor_stage_frames_dropped_total", "Frames the link into the stage dropped because the stage was busy (drop-oldest).", "stage")
	dSkipped  = desc("conveyor_stage_frames_skipped_total", "Frames the stage could not process (skipped).", "stage")
	dProbed   = desc("conveyor_stage_frames_probe_dropped_total", "Frames a probe dropped at the stage.", "stage")
	dBusy     = desc("conveyor_stage_busy_seconds_total", "Time spent inside the stage's Process, summed over workers.", "stage")
	dWorkers  = desc("conveyor_stage_workers", "Workers of the stage.", "stage")
	dQueue    = desc("conveyor_stage_queue_depth", "Frames waiting in front of the stage now.", "stage")
	dMaxQueue = desc("conveyor_stage_queue_max_depth", "Most frames seen waiting in front of the stage.", "stage")
	dStageQ   = desc("conveyor_stage_process_quantile_seconds", "Per-frame processing time of the stage at a quantile, since the start.", "stage", "quantile")
	dFrames   = desc("conveyor_line_frames_total", "Frames that left the line through the sinks.")
	dFPS      = desc("conveyor_line_fps", "Frames out of the line per second, averaged since the start.")
	dWall     = desc("conveyor_line_uptime_seconds", "Time since the line started running.")
	dLatQ     = desc("conveyor_line_latency_quantile_seconds", "End-to-end latency at a quantile, since the start.", "quantile")
	dSrcN     = desc("conveyor_source_frames_total", "Frames of the source that left the line.", "source_id", "source")
	dSrcFPS   = desc("conveyor_source_fps", "Frames of the source out of the line per second, over the last 5 s.", "source_id", "source")
	dViewers  = desc("conveyor_web_viewers", "Open live stream connections.")
	dEncoded  = desc("conveyor_web_frames_encoded_total", "Frames encoded to JPEG for the live streams.")
	dEncDrop  = desc("conveyor_web_frames_dropped_total", "Frames for the live streams dropped: reason encoder (the encoder was still busy) or viewer (a viewer was too slow for a part).", "reason")
)

func (c *lineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dIn, dOut, dDropped, dSkipped, dProbed, dBusy, dWorkers, dQueue, dMaxQueue, dStageQ,
		dFrames, dFPS, dWall, dLatQ, dSrcN, dSrcFPS, dViewers, dEncoded, dEncDrop} {
		ch <- d
	}
}

func (c *lineCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	if c.obs.running() {
		st := c.line.Stats()
		for _, s := range st.Stages {
			counter(dIn, float64(s.In), s.Name)
			counter(dOut, float64(s.Out), s.Name)
			counter(dDropped, float64(s.Dropped), s.Name)
			counter(dSkipped, float64(s.Skipped), s.Name)
			counter(dProbed, float64(s.Probed), s.Name)
			counter(dBusy, s.Busy.Seconds(), s.Name)
			gauge(dWorkers, float64(s.Workers), s.Name)
			gauge(dQueue, float64(s.Queue), s.Name)
			gauge(dMaxQueue, float64(s.MaxQueue), s.Name)
			gauge(dStageQ, s.P50.Seconds(), s.Name, "0.5")
			gauge(dStageQ, s.P90.Seconds(), s.Name, "0.9")
			gauge(dStageQ, s.P99.Seconds(), s.Name, "0.99")
			gauge(dStageQ, s.Max.Seconds(), s.Name, "1")
		}
		counter(dFrames, float64(st.Frames))
		gauge(dFPS, st.FPS)
		gauge(dWall, st.Wall.Seconds())
		gauge(dLatQ, st.LatencyP50.Seconds(), "0.5")
		gauge(dLatQ, st.LatencyP90.Seconds(), "0.9")
		gauge(dLatQ, st.LatencyP99.Seconds(), "0.99")
	}
	for _, s := range c.obs.sources() {
		id := strconv.Itoa(s.ID)
		counter(dSrcN, float64(s.Frames), id, s.Name)
		gauge(dSrcFPS, s.FPS, id, s.Name)
	}
	ss := c.sink.Stats()
	gauge(dViewers, float64(ss.Viewers))
	counter(dEncoded, float64(ss.Encoded))
	counter(dEncDrop, float64(ss.EncoderDrops), "encoder")
	counter(dEncDrop, float64(ss.ViewerDrops), "viewer")
}
