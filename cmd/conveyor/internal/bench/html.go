package bench

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"os"
	"sort"
	"strings"
)

// modeColors colour the modes in every chart, in report order.
var modeColors = []string{"#5b6b8c", "#2e9e5b", "#1f8a9e", "#e07b22", "#8e5bb5", "#c2413b", "#7a7a2e", "#3b6fc2"}

// frameColors colour a frame's spans in the timeline, by frame number.
var frameColors = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"}

func esc(s string) string { return html.EscapeString(s) }

// niceStep picks a tick step (1, 2 or 5 times a power of ten) giving about
// n ticks over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", math.Round(v*100)/100)
}

// fpsChart draws FPS per mode as horizontal bars, with the ratio to the
// sequential mode and, when known, the ceiling as a dashed line.
func fpsChart(rep *Report) string {
	const left, right, row, width = 120, 190, 30, 860
	h := row*len(rep.Modes) + 40
	maxV := rep.Ceiling.FPS
	for _, m := range rep.Modes {
		maxV = math.Max(maxV, m.FPS)
	}
	if maxV <= 0 {
		maxV = 1
	}
	scale := float64(width-left-right) / maxV
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="fps-chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="frames per second by mode">`, width, h, width, h)
	step := niceStep(maxV, 6)
	for v := 0.0; v <= maxV+1e-9; v += step {
		x := left + v*scale
		fmt.Fprintf(&b, `<line x1="%.1f" y1="8" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x, x, h-22, x, h-8, fmtNum(v))
	}
	for i, m := range rep.Modes {
		y := 10 + i*row
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, left-8, y+18, esc(m.Name))
		if m.Skipped != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="skip">skipped: %s</text>`, left+4, y+18, esc(trim(m.Skipped, 110)))
			continue
		}
		w := m.FPS * scale
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.1f FPS</title></rect>`, left, y+2, w, row-8, modeColors[i%len(modeColors)], esc(m.Name), m.FPS)
		label := fmt.Sprintf("%.1f FPS", m.FPS)
		if m.Speedup > 0 {
			label += fmt.Sprintf("  ×%.2f", m.Speedup)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, left+w+6, y+18, esc(label))
	}
	if c := rep.Ceiling.FPS; c > 0 {
		x := left + c*scale
		fmt.Fprintf(&b, `<line x1="%.1f" y1="4" x2="%.1f" y2="%d" stroke="#c2413b" stroke-dasharray="5,4"><title>ceiling %.1f FPS</title></line><text x="%.1f" y="%d" class="ceiling" text-anchor="middle">ceiling %.0f</text>`, x, x, h-22, c, x, h-24, c)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// latencyChart draws each mode's latency distribution as a cumulative
// curve: the share of frames (y) put out within x milliseconds.
func latencyChart(rep *Report) string {
	const left, top, width, height, bottom = 60, 14, 860, 300, 40
	maxX := 0.0
	for _, m := range rep.Modes {
		maxX = math.Max(maxX, m.Latency.P99)
	}
	if maxX <= 0 {
		maxX = 1
	}
	maxX *= 1.1
	pw, ph := float64(width-left-20), float64(height-top-bottom)
	X := func(v float64) float64 { return left + math.Min(v, maxX)/maxX*pw }
	Y := func(p float64) float64 { return top + (1-p)*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="latency-chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="latency distribution">`, width, height, width, height)
	step := niceStep(maxX, 8)
	for v := 0.0; v <= maxX+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/><text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, X(v), top, X(v), Y(0), X(v), Y(0)+16, fmtNum(v))
	}
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 0.95, 1} {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" class="tick" text-anchor="end">%.0f%%</text>`, left, Y(p), X(maxX), Y(p), left-6, Y(p)+4, 100*p)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">latency, capture → output (ms); curves clipped at %.1f ms</text>`, left+pw/2, height-4, maxX)
	// The legend goes bottom right, where cumulative curves never are.
	shown := 0
	for _, m := range rep.Modes {
		if m.Skipped == "" && len(m.LatencySorted) > 0 {
			shown++
		}
	}
	ly := int(Y(0)) - 10 - 16*(shown-1)
	for i, m := range rep.Modes {
		if m.Skipped != "" || len(m.LatencySorted) == 0 {
			continue
		}
		col := modeColors[i%len(modeColors)]
		var pts []string
		n := len(m.LatencySorted)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", X(m.LatencySorted[0]), Y(0)))
		for k, v := range m.LatencySorted {
			p := float64(k+1) / float64(n)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", X(v), Y(p)))
		}
		fmt.Fprintf(&b, `<polyline class="cdf" fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms</title></polyline>`,
			col, strings.Join(pts, " "), esc(m.Name), m.Latency.P50, m.Latency.P95, m.Latency.P99)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="3"/><text x="%.1f" y="%d" class="legend">%s  p50 %.1f · p99 %.1f ms</text>`,
			X(maxX)-250, ly, X(maxX)-230, ly, col, X(maxX)-224, ly+4, esc(m.Name), m.Latency.P50, m.Latency.P99)
		ly += 16
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// timelineSpan is the longest timeline of the report, so that every
// mode's chart is drawn at the same scale.
func timelineSpan(rep *Report) float64 {
	maxMs := 0.0
	for _, m := range rep.Modes {
		for _, f := range m.Timeline {
			for _, s := range f.Spans {
				maxMs = math.Max(maxMs, s.EndMs)
			}
		}
	}
	return maxMs
}

// timelineChart draws one mode's Gantt chart: a row per stage, a bar per
// frame from its start to its end in that stage, coloured by frame.
// Overlapping bars in one stage (several workers) are stacked in lanes.
func timelineChart(m *Result, maxMs float64, idx int) string {
	const left, width, lane, gap = 96, 860, 11, 8
	var stages []string
	seen := map[string]bool{}
	for _, f := range m.Timeline {
		for _, s := range f.Spans {
			if !seen[s.Stage] {
				seen[s.Stage] = true
				stages = append(stages, s.Stage)
			}
		}
	}
	type bar struct {
		frame int64
		s     Span
		lane  int
	}
	rows := make([][]bar, len(stages))
	lanes := make([]int, len(stages))
	for si, st := range stages {
		var bars []bar
		for _, f := range m.Timeline {
			for _, s := range f.Spans {
				if s.Stage == st {
					bars = append(bars, bar{frame: f.Frame, s: s})
				}
			}
		}
		sort.SliceStable(bars, func(a, b int) bool { return bars[a].s.StartMs < bars[b].s.StartMs })
		var laneEnd []float64
		for k := range bars {
			placed := false
			for l, e := range laneEnd {
				if bars[k].s.StartMs >= e {
					bars[k].lane, laneEnd[l], placed = l, bars[k].s.EndMs, true
					break
				}
			}
			if !placed {
				bars[k].lane = len(laneEnd)
				laneEnd = append(laneEnd, bars[k].s.EndMs)
			}
		}
		rows[si], lanes[si] = bars, max(1, len(laneEnd))
	}
	if maxMs <= 0 {
		maxMs = 1
	}
	pw := float64(width - left - 16)
	X := func(v float64) float64 { return left + v/maxMs*pw }
	h := 44
	for _, l := range lanes {
		h += l*lane + gap
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart timeline" id="timeline-%d" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="stage timeline of %s">`, idx, width, h, width, h, esc(m.Name))
	step := niceStep(maxMs, 10)
	for v := 0.0; v <= maxMs+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="4" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, X(v), X(v), h-34, X(v), h-20, fmtNum(v))
	}
	y := 6
	for si, st := range stages {
		rh := lanes[si] * lane
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y-2, pw, rh+4, []string{"#f7f7f7", "#fdfdfd"}[si%2])
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, left-6, y+rh/2+4, esc(st))
		for _, br := range rows[si] {
			x0, x1 := X(br.s.StartMs), X(br.s.EndMs)
			w := math.Max(x1-x0, 0.8)
			fmt.Fprintf(&b, `<rect class="span" x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>frame %d, %s: %.2f–%.2f ms (%.2f ms)</title></rect>`,
				x0, y+br.lane*lane, w, lane-2, frameColors[int(br.frame)%len(frameColors)], br.frame, esc(st), br.s.StartMs, br.s.EndMs, br.s.EndMs-br.s.StartMs)
			if w > 16 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="fn" text-anchor="middle">%d</text>`, x0+w/2, y+br.lane*lane+8, br.frame)
			}
		}
		y += rh + gap
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="end">ms since frame %d was read</text>`, X(maxMs), h-6, firstFrame(m))
	b.WriteString(`</svg>`)
	return b.String()
}

func firstFrame(m *Result) int64 {
	if len(m.Timeline) == 0 {
		return 0
	}
	return m.Timeline[0].Frame
}

// pageData feeds the HTML template.
type pageData struct {
	R         *Report
	Table     string
	FPS       template.HTML
	Latency   template.HTML
	Timelines []timelineData
	WindowMs  float64
}

type timelineData struct {
	M     *Result
	Color string
	SVG   template.HTML
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2":  func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f3":  func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"pct": pct,
	"w": func(v float64) string { // a CSS width for a utilization bar
		return fmt.Sprintf("%.0f%%", 100*math.Max(0, math.Min(v, 1)))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>conveyor bench: {{.R.Source}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:940px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px} h3{font-size:14px;margin:14px 0 2px}
.meta{color:#555} table{border-collapse:collapse;font-size:13px;margin:6px 0} td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right} th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.chart{display:block;max-width:100%;height:auto} .tick{font-size:11px;fill:#666} .label{font-size:12px;fill:#222} .value{font-size:12px;fill:#222;font-weight:600} .skip{font-size:12px;fill:#a33}
.axis{font-size:12px;fill:#444} .legend{font-size:12px;fill:#222} .fn{font-size:8px;fill:#fff} .ceiling{font-size:11px;fill:#c2413b}
.util{background:#eee;width:120px;height:10px;display:inline-block;vertical-align:middle} .util i{display:block;height:10px;background:#4e79a7}
pre{overflow-x:auto;font-size:11px;background:#f8f8f8;padding:6px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:5px} .note{color:#444} .skipped{color:#a33}
</style></head><body>
<h1>conveyor bench</h1>
<p class="meta">{{.R.Source}} · {{.R.FrameW}}×{{.R.FrameH}} · {{.R.Frames}} measured frames after {{.R.Warmup}} warm-up{{if gt .R.Rounds 1}}, median of {{.R.Rounds}} rounds{{end}} · frames replayed from <b>{{.R.Replay}}</b><br>
model {{.R.Spec}} ({{.R.Model}}) at input {{.R.InputW}}×{{.R.InputH}} ({{.R.InputSize}}), score {{.R.Score}}, NMS {{.R.NMS}}, backend {{.R.Backend}}, blur {{.R.Blur}}<br>
{{.R.Host.CPUs}} CPUs, {{.R.Host.OS}}, {{.R.Host.Go}}, OpenCV threads {{.R.Host.OpenCVThreads}}, load average {{f2 .R.Host.LoadBefore}} before, {{f2 .R.Host.LoadAfter}} after · {{.R.Created.Format "2006-01-02 15:04 UTC"}}</p>

<h2>Throughput</h2>
{{.FPS}}
<table><tr><th>mode</th><th>workers × threads</th><th>FPS</th><th>× sequential</th><th>× python</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>CPU ms/frame</th><th>of it, encoder process</th><th>cores busy</th><th>peak RSS MB</th><th>dropped</th><th>slowest stage (own FPS)</th><th>FPS / slowest</th><th>FPS / ceiling</th><th>load</th><th>others' cores</th></tr>
{{range .R.Modes}}{{if .Skipped}}<tr><td>{{.Name}}</td><td colspan="17" class="skipped">skipped: {{.Skipped}}</td></tr>{{else}}<tr><td>{{.Name}}</td><td>{{.Workers}} × {{if lt .Threads 0}}all{{else}}{{.Threads}}{{end}}</td><td>{{f1 .FPS}}</td><td>{{f2 .Speedup}}</td><td>{{if .VsPython}}{{f2 .VsPython}}{{else}}–{{end}}</td><td>{{f2 .Latency.P50}}</td><td>{{f2 .Latency.P95}}</td><td>{{f2 .Latency.P99}}</td><td>{{with .CPU}}{{f2 .PerFrameMs}}</td><td>{{f2 .ChildrenPerFrameMs}}</td><td>{{f2 .Cores}}{{else}}–</td><td>–</td><td>–{{end}}</td><td>{{f1 .PeakRSSMB}}</td><td>{{.Dropped}}</td><td>{{.Slowest}} ({{f1 .SlowestFPS}})</td><td>{{pct .Efficiency}}</td><td>{{if .OfCeiling}}{{pct .OfCeiling}}{{else}}–{{end}}</td><td>{{f2 .Load}}</td><td>{{f2 .OthersCores}}</td></tr>{{end}}
{{end}}</table>
<p class="note"><b>Verdict:</b> {{.R.Verdict}}</p>
{{if gt .R.Rounds 1}}<p class="note">Each mode ran {{.R.Rounds}} times, round-robin; the figures are each mode's median round. FPS of every round:{{range .R.Modes}}{{if .RoundsFPS}} {{.Name}} {{range $i, $v := .RoundsFPS}}{{if $i}}, {{end}}{{f1 $v}}{{end}};{{end}}{{end}}</p>{{end}}
{{if .R.Ceiling.FPS}}<p class="note">Ceiling: {{.R.Ceiling.Cores}} cores ÷ {{f2 .R.Ceiling.PerFrameMs}} ms of CPU per frame (the least any Go mode needed, {{.R.Ceiling.From}}) = <b>{{f1 .R.Ceiling.FPS}} FPS</b>: no schedule of this work can beat it on this machine.</p>{{end}}

<h2>Same answers</h2>
<table><tr><th>mode</th><th>vs</th><th>frames compared</th><th>same face count</th><th>matched boxes</th><th>missing</th><th>extra</th><th>mean IoU</th><th>min IoU</th></tr>
{{range .R.Modes}}{{$m := .}}{{with .Agreement}}<tr><td>{{$m.Name}}</td><td>{{.Reference}}</td><td>{{.Frames}}</td><td>{{.SameCount}} ({{f1 .SameCountPct}}%)</td><td>{{.Matched}}</td><td>{{.Missing}}</td><td>{{.Extra}}</td><td>{{f3 .MeanIoU}}</td><td>{{f3 .MinIoU}}</td></tr>{{end}}{{end}}
</table>

<h2>Latency distribution</h2>
{{.Latency}}

<h2>Timeline of the first measured frames</h2>
<p class="note">Each row is a stage, each bar one frame's time inside it (colour and number: the frame), on the same time scale for every mode ({{f1 .WindowMs}} ms across). In the sequential loop a frame enters a stage only when the previous frame has left the last one: the bars form one staircase. In the pipelined line, while one frame is in inference, the next is being preprocessed and the previous one blurred and encoded: the bars of different stages overlap in time, and with N inference workers the infer row holds N lanes.</p>
{{range .Timelines}}<h3><span class="swatch" style="background:{{.Color}}"></span>{{.M.Name}}{{if .M.Skipped}} (skipped){{end}}</h3>{{.SVG}}{{end}}

<h2>Stages</h2>
{{range .R.Modes}}{{if not .Skipped}}<h3>{{.Name}}</h3>
<table><tr><th>stage</th><th>workers</th><th>frames</th><th>mean ms</th><th>CPU ms (library threads included)</th><th>busy s</th><th>utilization</th><th>own FPS</th></tr>
{{range .Stages}}<tr><td>{{.Name}}</td><td>{{.Workers}}</td><td>{{.Frames}}</td><td>{{f2 .MeanMs}}</td><td>{{if .CPUMs}}{{f2 .CPUMs}}{{else}}–{{end}}</td><td>{{f2 .BusyS}}</td><td><span class="util"><i style="width:{{w .Utilization}}"></i></span> {{pct .Utilization}}</td><td>{{f1 .OwnFPS}}</td></tr>
{{end}}{{with .CPU}}{{if .ChildrenPerFrameMs}}<tr><td>encoder process</td><td></td><td></td><td></td><td>{{f2 .ChildrenPerFrameMs}}</td><td></td><td></td><td></td></tr>{{end}}{{end}}</table>{{with .Info}}<p class="note">{{range $k, $v := .}}{{$k}}: {{$v}}. {{end}}</p>{{end}}{{end}}{{end}}

<h2>Notes</h2>
<ul>{{range .R.Notes}}<li>{{.}}</li>{{end}}
<li>Latency is from the frame's capture (the source's read) to the end of the last sink; FPS counts the measured frames over the time from the last warm-up frame's output to the last frame's output. CPU time is the whole process tree's over that window: every thread of conveyor (getrusage) and its child processes, the video encoder (ffmpeg, x264's threads) whose time is also shown on its own. A stage's CPU ms (sequential mode only, where one stage runs at a time) includes the work it hands to library threads.</li>
<li>Utilization is a stage's busy time over wall time and workers; "own FPS" is what the stage alone could pass at the per-frame time it had in that run.</li></ul>
<pre>{{.Table}}</pre>
</body></html>
`))

// WriteHTML writes the self-contained HTML report: inline SVG and CSS, no
// script, nothing fetched.
func (r *Report) WriteHTML(path string) error {
	d := pageData{R: r, Table: r.table(), FPS: template.HTML(fpsChart(r)), Latency: template.HTML(latencyChart(r)), WindowMs: timelineSpan(r)}
	for i, m := range r.Modes {
		if len(m.Timeline) == 0 {
			continue
		}
		d.Timelines = append(d.Timelines, timelineData{M: m, Color: modeColors[i%len(modeColors)], SVG: template.HTML(timelineChart(m, d.WindowMs, i))})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		return fmt.Errorf("bench: html report: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: html report: %w", err)
	}
	return nil
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
