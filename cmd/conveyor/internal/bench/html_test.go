package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// sampleReport is a report with a sequential and a pipelined timeline and
// a skipped mode whose reason holds markup.
func sampleReport() *Report {
	seq := &Result{Mode: Mode{Name: "sequential", Kind: Sequential, Workers: 1}, Frames: 3, FPS: 100, Speedup: 1,
		Latency: LatencyFigures{P50: 10, P95: 11, P99: 12}, LatencySorted: []float64{9, 10, 12},
		CPU:      &CPUFigures{PerFrameMs: 15, Cores: 1.5},
		Stages:   []StageFigures{{Name: "infer", Workers: 1, Frames: 3, MeanMs: 8, OwnFPS: 125, Utilization: 0.8}},
		Timeline: []TimelineFrame{{Frame: 5, Spans: []Span{{"source", 0, 1}, {"infer", 1, 9}}}, {Frame: 6, Spans: []Span{{"source", 10, 11}, {"infer", 11, 19}}}}}
	pip := &Result{Mode: Mode{Name: "pipelined-2", Kind: Pipelined, Workers: 2}, Frames: 3, FPS: 130, Speedup: 1.3,
		Latency: LatencyFigures{P50: 20, P95: 30, P99: 40}, LatencySorted: []float64{15, 20, 40},
		Agreement: &Agreement{Reference: "sequential", Frames: 3, SameCount: 3, SameCountPct: 100, Matched: 6, MeanIoU: 1, MinIoU: 1},
		// Two infer spans overlap: two lanes.
		Timeline: []TimelineFrame{{Frame: 5, Spans: []Span{{"source", 0, 1}, {"infer", 1, 9}}}, {Frame: 6, Spans: []Span{{"source", 1, 2}, {"infer", 2, 10}}}}}
	py := &Result{Mode: Mode{Name: "python", Kind: Python, Workers: 1}, Skipped: "no python3 with <b>cv2</b>"}
	return &Report{Source: "clip.mp4", Replay: ReplayMemory, Frames: 3, Host: Host{CPUs: 2},
		Modes: []*Result{seq, pip, py}, Ceiling: Ceiling{Cores: 2, PerFrameMs: 15, From: "sequential", FPS: 133.3},
		Notes: []string{"frames: replayed"}}
}

// walk calls fn on every element node.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// parseReport parses an HTML report and checks what every report must be:
// self-contained (no script, nothing fetched) with the three kinds of chart.
// It returns the svg elements by id.
func parseReport(t *testing.T, path string) map[string]*html.Node {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	doc, err := html.Parse(f)
	require.NoError(t, err)
	svgs := map[string]*html.Node{}
	walk(doc, func(n *html.Node) {
		assert.NotEqual(t, "script", n.Data, "the report must not run scripts")
		assert.NotEqual(t, "link", n.Data, "the report must not load stylesheets")
		for _, k := range []string{"src", "href"} {
			assert.Empty(t, attr(n, k), "the report must fetch nothing: <%s %s=%q>", n.Data, k, attr(n, k))
		}
		if n.Data == "svg" {
			svgs[attr(n, "id")] = n
		}
	})
	require.Contains(t, svgs, "fps-chart")
	require.Contains(t, svgs, "latency-chart")
	return svgs
}

func count(n *html.Node, tag, class string) int {
	c := 0
	walk(n, func(e *html.Node) {
		if e.Data == tag && (class == "" || attr(e, "class") == class) {
			c++
		}
	})
	return c
}

func TestWriteHTML(t *testing.T) {
	rep := sampleReport()
	path := filepath.Join(t.TempDir(), HTMLFile)
	require.NoError(t, rep.WriteHTML(path))
	svgs := parseReport(t, path)

	assert.Equal(t, 2, count(svgs["fps-chart"], "rect", "bar"), "one bar per mode that ran")
	assert.Equal(t, 2, count(svgs["latency-chart"], "polyline", "cdf"), "one curve per mode that ran")
	require.Contains(t, svgs, "timeline-0")
	require.Contains(t, svgs, "timeline-1")
	assert.NotContains(t, svgs, "timeline-2", "a skipped mode has no timeline")
	assert.Equal(t, 4, count(svgs["timeline-0"], "rect", "span"))
	assert.Equal(t, 4, count(svgs["timeline-1"], "rect", "span"))

	// The overlapping infer spans of pipelined-2 are in two lanes; the
	// sequential ones in one.
	ys := func(svg *html.Node) map[string]bool {
		out := map[string]bool{}
		walk(svg, func(n *html.Node) {
			if attr(n, "class") == "span" && n.FirstChild != nil && strings.Contains(n.FirstChild.FirstChild.Data, "infer") {
				out[attr(n, "y")] = true
			}
		})
		return out
	}
	assert.Len(t, ys(svgs["timeline-0"]), 1)
	assert.Len(t, ys(svgs["timeline-1"]), 2)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	assert.Contains(t, text, "skipped: no python3 with &lt;b&gt;cv2&lt;/b&gt;", "reasons are shown, escaped")
	assert.Contains(t, text, "ceiling 133")
	assert.Contains(t, text, "frames: replayed")
}

func TestWriteTable(t *testing.T) {
	out := sampleReport().table()
	assert.Regexp(t, `sequential\s+1×0\s+100\.0\s+1\.00`, out)
	assert.Regexp(t, `pipelined-2\s+2×0\s+130\.0\s+1\.30`, out)
	assert.Contains(t, out, "python: skipped: no python3 with <b>cv2</b>")
	assert.Contains(t, out, "ceiling: 2 cores / 15.00 ms CPU per frame (sequential) = 133.3 FPS")
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ span, want float64 }{{100, 20}, {262, 50}, {9, 2}, {0.7, 0.2}, {0, 1}} {
		assert.InDelta(t, tc.want, niceStep(tc.span, 6), 1e-9, "span %v", tc.span)
	}
}
