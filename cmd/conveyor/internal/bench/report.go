package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one bench run measured; report.json is its JSON.
type Report struct {
	Created time.Time `json:"created"`
	Host    Host      `json:"host"`
	// Source is the video, Replay how its frames were fed ("memory": decoded
	// once into memory and replayed, repeating the clip as needed; "file":
	// read from the file in every mode).
	Source string `json:"source"`
	Replay string `json:"replay"`
	// ClipFrames is the clip's length (-1 unknown); Decoded is how many of
	// its frames memory replay held.
	ClipFrames int `json:"clip_frames"`
	Decoded    int `json:"decoded,omitempty"`
	FrameW     int `json:"frame_w"`
	FrameH     int `json:"frame_h"`
	// Frames are measured per mode, after Warmup frames that are not.
	Frames int `json:"frames"`
	Warmup int `json:"warmup"`
	Rounds int `json:"rounds"`

	Model     string  `json:"model"`
	Spec      string  `json:"spec"`
	InputSize string  `json:"input_size"`
	InputW    int     `json:"input_w"`
	InputH    int     `json:"input_h"`
	Score     float32 `json:"score"`
	NMS       float32 `json:"nms"`
	Backend   string  `json:"backend"`
	Blur      string  `json:"blur"`
	Queue     int     `json:"queue"`

	Modes   []*Result `json:"modes"`
	Ceiling Ceiling   `json:"ceiling"`
	Notes   []string  `json:"notes,omitempty"`
	// Verdict says whether the machine was quiet enough for the modes'
	// FPS and ratios to mean something (Meaningful), and why.
	Verdict    string `json:"verdict"`
	Meaningful bool   `json:"meaningful"`
}

// BusyShare is the share of the machine other processes may use, on
// average over a mode, before the FPS comparison is called meaningless:
// a tenth of the cores (0.2 of a core on 2 cores).
const BusyShare = 0.1

// verdict judges the load the modes ran under.
func (r *Report) verdict() {
	r.Meaningful = false
	worst, from := -1.0, ""
	for _, m := range r.Modes {
		if m.Skipped == "" && m.OthersCores > worst {
			worst, from = m.OthersCores, m.Name
		}
	}
	limit := BusyShare * float64(r.Host.CPUs)
	switch {
	case worst < 0:
		r.Verdict = "unknown: /proc/stat unreadable, the load of other processes was not measured"
	case worst > limit:
		r.Verdict = fmt.Sprintf("NOT MEANINGFUL: other processes kept %.2f of %d cores busy during %s (more than %.2f): FPS and the ratios between modes are skewed; CPU ms per frame still holds; re-run on a quiet machine", worst, r.Host.CPUs, from, limit)
	default:
		r.Meaningful = true
		r.Verdict = fmt.Sprintf("meaningful: other processes used at most %.2f of %d cores during any mode (limit %.2f)", worst, r.Host.CPUs, limit)
	}
}

// Host describes the machine and its load while the bench ran.
type Host struct {
	CPUs int    `json:"cpus"`
	OS   string `json:"os"`
	Go   string `json:"go"`
	// OpenCVThreads is OpenCV's thread pool size in the Go modes.
	OpenCVThreads int `json:"opencv_threads"`
	// LoadBefore and LoadAfter are the 1-minute load averages.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
}

// Result is one mode's figures over its measured frames.
type Result struct {
	Mode
	// Skipped says why the mode did not run (the Python baseline without
	// python3 or cv2); the figures are then zero.
	Skipped string `json:"skipped,omitempty"`
	// Frames put out in the measured window, and the window's length.
	Frames int     `json:"frames"`
	WallS  float64 `json:"wall_s"`
	FPS    float64 `json:"fps"`
	// RoundsFPS is every round's FPS when the bench ran several rounds;
	// the figures are those of the median round. Load is the 1-minute load
	// average at the end of that round.
	RoundsFPS []float64 `json:"rounds_fps,omitempty"`
	Load      float64   `json:"load"`
	// OthersCores is how many cores other processes kept busy, on average,
	// while the mode ran (from /proc/stat: the machine's busy time less
	// this process tree's); -1 when unknown.
	OthersCores float64 `json:"others_cores"`
	// Speedup is FPS over the sequential mode's FPS (0 without sequential);
	// VsPython over the Python baseline's (0 without it).
	Speedup  float64 `json:"speedup"`
	VsPython float64 `json:"vs_python,omitempty"`
	// Latency is capture to output, in milliseconds; LatencySorted holds up
	// to 200 evenly spaced values of the sorted latencies, for the chart.
	Latency       LatencyFigures `json:"latency_ms"`
	LatencySorted []float64      `json:"latency_sorted_ms,omitempty"`
	Stages        []StageFigures `json:"stages"`
	CPU           *CPUFigures    `json:"cpu,omitempty"`
	PeakRSSMB     float64        `json:"peak_rss_mb"`
	// Dropped counts frames that did not come out: link drops, skips and
	// probe drops.
	Dropped int64 `json:"dropped"`
	// Slowest is the stage with the lowest throughput of its own in this
	// run (workers / mean time per frame), and Efficiency FPS over that.
	Slowest    string  `json:"slowest_stage,omitempty"`
	SlowestFPS float64 `json:"slowest_stage_fps,omitempty"`
	Efficiency float64 `json:"efficiency,omitempty"`
	// IsolatedBound is what the slowest stage could do alone, from the
	// sequential mode's stage times (no other stage competing for the
	// CPU), with this mode's workers; OfIsolated is FPS over it.
	IsolatedBound float64 `json:"isolated_bound_fps,omitempty"`
	OfIsolated    float64 `json:"of_isolated_bound,omitempty"`
	// OfCeiling is FPS over Ceiling.FPS.
	OfCeiling float64 `json:"of_ceiling,omitempty"`
	// Agreement with the reference mode (nil for the reference itself).
	Agreement *Agreement `json:"agreement,omitempty"`
	// Timeline is each stage's start and end for the first measured frames.
	Timeline []TimelineFrame `json:"timeline,omitempty"`
	// Info holds what the mode says about itself (the Python baseline's
	// interpreter and library versions).
	Info map[string]string `json:"info,omitempty"`

	dets [][]Box // measured frames' detections, nil where a frame never came out
}

// LatencyFigures are latency percentiles in milliseconds.
type LatencyFigures struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// StageFigures are one stage's figures over the measured window.
type StageFigures struct {
	Name    string `json:"name"`
	Workers int    `json:"workers"`
	// Frames is the measured frames the stage finished and MeanMs their
	// mean time in it; BusyS is the time inside the stage during the
	// measured window, summed over workers.
	Frames int     `json:"frames"`
	BusyS  float64 `json:"busy_s"`
	MeanMs float64 `json:"mean_ms"`
	// Utilization is BusyS / (wall × workers); OwnFPS is what the stage
	// alone could pass: workers / mean time.
	Utilization float64 `json:"utilization"`
	OwnFPS      float64 `json:"own_fps"`
	// CPUMs is the process's CPU time per frame while the stage ran, the
	// library threads it hands work to (OpenCV's pool) included: measured
	// in the sequential mode only, where one stage runs at a time. The
	// encoder process's time is CPUFigures.ChildrenPerFrameMs.
	CPUMs float64 `json:"cpu_ms,omitempty"`
}

// CPUFigures are CPU time over the measured window for the whole process
// tree: every thread of this process (getrusage) and its child processes,
// the video encoder (ffmpeg and x264's threads) above all.
type CPUFigures struct {
	UserS   float64 `json:"user_s"`
	SystemS float64 `json:"system_s"`
	TotalS  float64 `json:"total_s"`
	// ChildrenS is the child processes' share of TotalS, and per frame.
	ChildrenS          float64 `json:"children_s"`
	ChildrenPerFrameMs float64 `json:"children_per_frame_ms"`
	// Cores is CPU time over wall time: how many cores were kept busy.
	Cores      float64 `json:"cores"`
	PerFrameMs float64 `json:"per_frame_ms"`
}

// TimelineFrame is one frame's passage through the stages.
type TimelineFrame struct {
	Frame int64  `json:"frame"`
	Spans []Span `json:"spans"`
}

// Span is a frame's time inside one stage, in milliseconds since the first
// frame of the timeline was read.
type Span struct {
	Stage   string  `json:"stage"`
	StartMs float64 `json:"start_ms"`
	EndMs   float64 `json:"end_ms"`
}

// Ceiling is the best any schedule of this work could do on this machine:
// every core busy all the time with the least CPU time per frame any Go
// mode needed.
type Ceiling struct {
	Cores      int     `json:"cores"`
	PerFrameMs float64 `json:"cpu_per_frame_ms"`
	From       string  `json:"from_mode"`
	FPS        float64 `json:"fps"`
}

// Files are the report's outputs.
const (
	JSONFile = "report.json"
	HTMLFile = "report.html"
	TextFile = "report.txt"
)

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: report: %w", err)
	}
	return nil
}

// Result returns the result of the mode named name, or nil.
func (r *Report) Result(name string) *Result {
	for _, m := range r.Modes {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// WriteTable writes the terminal table: one row per mode, then the notes.
func (r *Report) WriteTable(w io.Writer) error {
	rounds := ""
	if r.Rounds > 1 {
		rounds = fmt.Sprintf(", median of %d rounds", r.Rounds)
	}
	fmt.Fprintf(w, "bench: %s, %d measured frames after %d warm-up (%s replay%s), %dx%d, model %s at %dx%d, %d CPUs, load %.2f → %.2f\n",
		r.Source, r.Frames, r.Warmup, r.Replay, rounds, r.FrameW, r.FrameH, r.Spec, r.InputW, r.InputH, r.Host.CPUs, r.Host.LoadBefore, r.Host.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tw×t\tFPS\t×seq\t×py\tp50 ms\tp95 ms\tp99 ms\tCPU ms/frame\tencoder\tcores\tpeak RSS MB\tdropped\tslowest stage\tefficiency\tsame count\tmean IoU\tload\tothers\t")
	for _, m := range r.Modes {
		if m.Skipped != "" {
			fmt.Fprintf(tw, "%s\t\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", m.Name)
			continue
		}
		cpu, enc, cores := "-", "-", "-"
		if m.CPU != nil {
			cpu, enc, cores = fmt.Sprintf("%.2f", m.CPU.PerFrameMs), fmt.Sprintf("%.2f", m.CPU.ChildrenPerFrameMs), fmt.Sprintf("%.2f", m.CPU.Cores)
		}
		threads := strconv.Itoa(m.Threads)
		if m.Threads < 0 {
			threads = "all"
		}
		py := "-"
		if m.VsPython > 0 {
			py = fmt.Sprintf("%.2f", m.VsPython)
		}
		same, iou := "ref", "ref"
		if m.Agreement != nil {
			same, iou = fmt.Sprintf("%.1f%%", m.Agreement.SameCountPct), fmt.Sprintf("%.3f", m.Agreement.MeanIoU)
		}
		speed := "-"
		if m.Speedup > 0 {
			speed = fmt.Sprintf("%.2f", m.Speedup)
		}
		fmt.Fprintf(tw, "%s\t%d×%s\t%.1f\t%s\t%s\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.0f\t%d\t%s %.0f FPS\t%.0f%%\t%s\t%s\t%.2f\t%.2f\t\n",
			m.Name, m.Workers, threads, m.FPS, speed, py, m.Latency.P50, m.Latency.P95, m.Latency.P99, cpu, enc, cores, m.PeakRSSMB, m.Dropped,
			m.Slowest, m.SlowestFPS, 100*m.Efficiency, same, iou, m.Load, m.OthersCores)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Ceiling.FPS > 0 {
		fmt.Fprintf(w, "ceiling: %d cores / %.2f ms CPU per frame (%s) = %.1f FPS\n", r.Ceiling.Cores, r.Ceiling.PerFrameMs, r.Ceiling.From, r.Ceiling.FPS)
	}
	for _, m := range r.Modes {
		if m.Skipped != "" {
			fmt.Fprintf(w, "%s: skipped: %s\n", m.Name, m.Skipped)
		}
		if len(m.RoundsFPS) > 1 {
			fmt.Fprintf(w, "%s: FPS of each round:", m.Name)
			for _, v := range m.RoundsFPS {
				fmt.Fprintf(w, " %.1f", v)
			}
			fmt.Fprintln(w)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if r.Verdict != "" {
		fmt.Fprintf(w, "verdict: %s\n", r.Verdict)
	}
	return nil
}

// table returns WriteTable's text.
func (r *Report) table() string {
	var b strings.Builder
	_ = r.WriteTable(&b)
	return b.String()
}
