package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

// running is a line with the web server, run in the background.
type running struct {
	srv    *Server
	line   *pipeline.Line
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	token  string // sent by do, when set
}

// startLine runs a line of pattern sources (URIs), a stage that draws a
// box, and the server's sink.
func startLine(t *testing.T, o Options, uris ...string) *running {
	t.Helper()
	line := openLine(t, uris...)
	line.AddStage("draw", pipeline.LinkOptions{}, pipeline.ProcessorFunc(func(_ context.Context, f *pipeline.Frame) error {
		gocv.Rectangle(&f.Image, image.Rect(20, 20, 120, 100), color.RGBA{0, 0, 255, 0}, 3)
		return nil
	}))
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	return serve(t, line, o)
}

// openLine makes a line of sources opened from URIs.
func openLine(t *testing.T, uris ...string) *pipeline.Line {
	t.Helper()
	line := pipeline.New()
	for _, u := range uris {
		src, err := camera.Open(u, camera.Options{})
		require.NoError(t, err)
		line.AddSource(src, pipeline.LinkOptions{})
	}
	return line
}

// serve starts a server on line, adds its sink and runs the line in the
// background; the test's cleanup stops both.
func serve(t *testing.T, line *pipeline.Line, o Options) *running {
	t.Helper()
	srv, err := New(line, o)
	if err != nil {
		_ = line.Close()
		require.NoError(t, err)
	}
	line.AddSink(srv.Sink())
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, line: line, cancel: cancel, done: make(chan error, 1), client: &http.Client{Timeout: 10 * time.Second}}
	go func() { r.done <- line.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		r.client.CloseIdleConnections()
		require.NoError(t, srv.Close())
	})
	return r
}

// stop cancels the line and waits for Run (once).
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if r.done == nil {
		return
	}
	select {
	case err := <-r.done:
		require.NoError(t, err)
		r.done = nil
	case <-time.After(30 * time.Second):
		t.Fatal("the line did not stop")
	}
}

// wait waits for the line to end by itself.
func (r *running) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		require.NoError(t, err)
		r.done = nil
	case <-time.After(60 * time.Second):
		t.Fatal("the line did not end")
	}
}

func (r *running) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := r.client.Get("http://" + r.srv.Addr() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func (r *running) health(t *testing.T) (int, Health) {
	t.Helper()
	code, body := r.get(t, "/healthz")
	var h Health
	require.NoError(t, json.Unmarshal([]byte(body), &h), body)
	return code, h
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape parses /metrics.
func (r *running) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := r.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return fams
}

// value finds the metric of a family with the given labels (name=value
// pairs) and returns its counter, gauge or histogram count.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "metric %s missing", name)
next:
	for _, m := range fam.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("metric %s%v missing", name, labels)
	return 0
}

func TestMetricsAfterRun(t *testing.T) {
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "conveyor_test_extra_total", Help: "A collector of another package."})
	extra.Add(7)
	r := startLine(t, Options{Collectors: []prometheus.Collector{extra}},
		"pattern://?width=320&height=240&fps=0&frames=60",
		"pattern://?width=160&height=120&fps=0&frames=25")
	later := prometheus.NewGauge(prometheus.GaugeOpts{Name: "conveyor_test_later", Help: "Registered after New."})
	require.NoError(t, r.srv.Register(later))
	require.Error(t, r.srv.Register(later), "twice")
	r.wait(t)

	fams := r.scrape(t)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"conveyor_stage_frames_in_total", []string{"stage", "draw"}, 85},
		{"conveyor_stage_frames_out_total", []string{"stage", "draw"}, 85},
		{"conveyor_stage_frames_out_total", []string{"stage", "source"}, 60},
		{"conveyor_stage_frames_out_total", []string{"stage", "source1"}, 25},
		{"conveyor_stage_frames_in_total", []string{"stage", "sink"}, 85},
		{"conveyor_stage_frames_dropped_total", []string{"stage", "draw"}, 0},
		{"conveyor_stage_frames_skipped_total", []string{"stage", "draw"}, 0},
		{"conveyor_stage_workers", []string{"stage", "draw"}, 1},
		{"conveyor_stage_queue_depth", []string{"stage", "draw"}, 0},
		{"conveyor_line_frames_total", nil, 85},
		{"conveyor_stage_duration_seconds", []string{"stage", "draw"}, 85},
		{"conveyor_stage_duration_seconds", []string{"stage", "sink"}, 85},
		{"conveyor_frame_latency_seconds", nil, 85},
		{"conveyor_web_viewers", nil, 0},
		{"conveyor_web_frames_encoded_total", nil, 0}, // nobody watched
		{"conveyor_test_extra_total", nil, 7},
		{"conveyor_test_later", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name+fmt.Sprint(tc.labels), func(t *testing.T) {
			assert.Equal(t, tc.want, value(t, fams, tc.name, tc.labels...))
		})
	}
	assert.Greater(t, value(t, fams, "conveyor_stage_busy_seconds_total", "stage", "draw"), 0.0)
	assert.Greater(t, value(t, fams, "conveyor_line_fps"), 0.0)
	assert.Greater(t, value(t, fams, "conveyor_line_latency_quantile_seconds", "quantile", "0.99"), 0.0)
	assert.GreaterOrEqual(t, value(t, fams, "conveyor_stage_process_quantile_seconds", "stage", "draw", "quantile", "0.99"),
		value(t, fams, "conveyor_stage_process_quantile_seconds", "stage", "draw", "quantile", "0.5"))
	assert.Greater(t, value(t, fams, "go_goroutines"), 0.0)
	assert.Greater(t, value(t, fams, "process_resident_memory_bytes"), 0.0)
	assert.Equal(t, dto.MetricType_HISTOGRAM, fams["conveyor_stage_duration_seconds"].GetType())
	// Both sources have ended: their per-source series went with them
	// (TestSourceMetricsFollowSources sees them while they run).
	assert.NotContains(t, fams, "conveyor_source_frames_total")

	// The line has ended: unhealthy, and /stats still answers.
	code, h := r.health(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "the line has stopped", h.Reason)
	assert.Equal(t, int64(85), h.Frames)
	code, body := r.get(t, "/stats")
	require.Equal(t, http.StatusOK, code)
	var st StatsReply
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, int64(85), st.Line.Frames)
	require.Len(t, st.Sources, 2)
	assert.Equal(t, SourceStats{ID: 0, Name: "pattern://?width=320&height=240&fps=0&frames=60", State: meta.SourceEnded, Frames: 60}, st.Sources[0])
	assert.Equal(t, int64(25), st.Sources[1].Frames, "the final count")
	assert.Equal(t, meta.SourceEnded, st.Sources[1].State)
	assert.False(t, st.API)
}

// stallSource gives n frames, then blocks until cancelled.
type stallSource struct {
	n, i int
}

func (s *stallSource) Read(ctx context.Context) (*pipeline.Frame, error) {
	if s.i >= s.n {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	s.i++
	return &pipeline.Frame{Number: int64(s.i - 1), Captured: time.Now(), Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)}, nil
}
func (s *stallSource) Info() pipeline.SourceInfo { return pipeline.SourceInfo{Name: "stall"} }
func (s *stallSource) Close() error              { return nil }

func TestHealthz(t *testing.T) {
	line := pipeline.New()
	line.AddSource(&stallSource{n: 5}, pipeline.LinkOptions{})
	srv, err := New(line, Options{Addr: "127.0.0.1:0", Stale: 300 * time.Millisecond})
	require.NoError(t, err)
	line.AddSink(srv.Sink())
	r := &running{srv: srv, line: line, client: &http.Client{Timeout: 10 * time.Second}}
	defer func() { r.client.CloseIdleConnections(); require.NoError(t, srv.Close()) }()

	code, h := r.health(t)
	assert.Equal(t, http.StatusServiceUnavailable, code, "not started")
	assert.Equal(t, "no frame has left the line yet", h.Reason)
	assert.Equal(t, -1.0, h.LastFrameAge)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- line.Run(ctx) }()
	eventually(t, 10*time.Second, "frames", func() bool { return srv.Health().Frames == 5 })
	code, h = r.health(t)
	if h.LastFrameAge < 0.3 { // racing the clock is fine: only check when fresh
		assert.Equal(t, http.StatusOK, code, "%+v", h)
		assert.Equal(t, "ok", h.Status)
	}
	eventually(t, 10*time.Second, "stale", func() bool { return srv.Health().LastFrameAge > 0.3 })
	code, h = r.health(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, h.Reason, "no frame for")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("line did not stop")
	}
	code, h = r.health(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "the line has stopped", h.Reason)
}

func TestHealthyWhileRunning(t *testing.T) {
	r := startLine(t, Options{}, "pattern://?width=160&height=120&fps=30&frames=-1")
	eventually(t, 10*time.Second, "healthy", func() bool { return r.srv.Health().Status == "ok" })
	code, h := r.health(t)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", h.Status)
	assert.Greater(t, h.Frames, int64(0))
}

// readParts reads n JPEG parts of an MJPEG stream and decodes them.
func readParts(t *testing.T, resp *http.Response, n int) []image.Point {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/x-mixed-replace", mt)
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var sizes []image.Point
	for range n {
		p, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "image/jpeg", p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		img, err := gocv.IMDecode(b, gocv.IMReadColor)
		require.NoError(t, err)
		require.False(t, img.Empty(), "part decodes as JPEG")
		sizes = append(sizes, image.Pt(img.Cols(), img.Rows()))
		require.NoError(t, img.Close())
	}
	return sizes
}

func TestMJPEG(t *testing.T) {
	r := startLine(t, Options{StreamFPS: 30, StreamWidth: 960},
		"pattern://?width=320&height=240&fps=30&frames=-1",
		"pattern://?width=1280&height=720&fps=30&frames=-1")
	tests := []struct {
		path string
		size image.Point
	}{
		{"/stream/0", image.Pt(320, 240)},
		{"/stream/1", image.Pt(960, 540)}, // scaled to StreamWidth
		{"/stream/all", image.Pt(2*tileW, tileH)},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.srv.Addr()+tc.path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultTransport.RoundTrip(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, sz := range readParts(t, resp, 4) {
				assert.Equal(t, tc.size, sz)
			}
		})
	}
	code, _ := r.get(t, "/stream/x")
	assert.Equal(t, http.StatusNotFound, code)
	eventually(t, 5*time.Second, "viewers gone", func() bool { return r.srv.Sink().Stats().Viewers == 0 })
}

// TestSlowViewers: a viewer that never reads and one that hangs up at once
// must not slow Write, and leak nothing.
func TestSlowViewers(t *testing.T) {
	line := pipeline.New()
	line.AddSource(&stallSource{}, pipeline.LinkOptions{})
	srv, err := New(line, Options{Addr: "127.0.0.1:0", StreamFPS: 120, StreamWidth: 0, Quality: 100, ShutdownTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, line.Close()) // only the server and its sink are used
	sink := srv.Sink()
	defer func() { require.NoError(t, srv.Close()) }()

	// The stalled viewer: asks, reads the headers, then never reads again.
	stalled, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer stalled.Close()
	_, err = fmt.Fprintf(stalled, "GET /stream/0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	status, err := bufio.NewReader(stalled).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, status, "200")
	// The viewer that hangs up.
	gone, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	_, err = fmt.Fprintf(gone, "GET /stream/0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	eventually(t, 5*time.Second, "two viewers", func() bool { return sink.Stats().Viewers == 2 })
	require.NoError(t, gone.Close())

	// Noise compresses badly: big JPEGs fill the stalled socket fast.
	img := gocv.NewMatWithSize(1080, 1920, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	f := &pipeline.Frame{Image: img}
	var slowest time.Duration
	writes := 0
	deadline := time.Now().Add(20 * time.Second)
	for sink.Stats().ViewerDrops == 0 || sink.Stats().Viewers > 1 {
		require.False(t, time.Now().After(deadline), "no viewer drop within 20 s: %+v", sink.Stats())
		t0 := time.Now()
		require.NoError(t, sink.Write(context.Background(), f))
		slowest = max(slowest, time.Since(t0))
		writes++
		time.Sleep(9 * time.Millisecond)
	}
	t.Logf("%d writes, slowest %s, %+v", writes, slowest, sink.Stats())
	// Write copies a frame at most; it never waits for the stalled viewer.
	assert.Less(t, slowest, time.Second)
	assert.Equal(t, int64(1), sink.Stats().Viewers, "the viewer that hung up is gone")
	// Close ends the stalled stream (bounded by ShutdownTimeout) and
	// VerifyMain checks that no goroutine is left.
}

func TestCloseEndsStreams(t *testing.T) {
	r := startLine(t, Options{}, "pattern://?width=160&height=120&fps=30&frames=-1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.srv.Addr()+"/stream/0", nil)
	require.NoError(t, err)
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	readParts(t, resp, 1)
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	require.NoError(t, r.srv.Close())
	require.NoError(t, r.srv.Close(), "idempotent")
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end on Close")
	}
	_, err = http.Get("http://" + r.srv.Addr() + "/healthz")
	assert.Error(t, err, "the server no longer listens")
}

func TestOptions(t *testing.T) {
	line := pipeline.New()
	defer line.Close()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"bad address", Options{Addr: "nonsense"}, "http: \"nonsense\": want host:port"},
		{"fps", Options{Addr: "127.0.0.1:0", StreamFPS: -1}, "http-fps: -1 is out of range"},
		{"quality", Options{Addr: "127.0.0.1:0", Quality: 101}, "http-quality: 101 is out of range"},
		{"width", Options{Addr: "127.0.0.1:0", StreamWidth: 4}, "http-width: 4 is out of range"},
		{"width -1", Options{Addr: "127.0.0.1:0", StreamWidth: -1}, "http-width: -1 is out of range"},
		{"port in use", Options{Addr: taken.Addr().String()}, "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(line, tc.o)
			require.ErrorContains(t, err, tc.err)
			assert.Nil(t, srv)
		})
	}
	_, err = New(nil, Options{})
	require.ErrorContains(t, err, "nil line")

	o, err := Options{Addr: ":9000"}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", o.Addr, "a bare port binds to loopback")
	o, err = Options{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, DefaultAddr, o.Addr)
}

func TestPage(t *testing.T) {
	r := startLine(t, Options{Title: "test line"}, "pattern://?width=160&height=120&fps=0&frames=3")
	r.wait(t)
	code, body := r.get(t, "/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<title>conveyor</title>")
	assert.Contains(t, body, "/stats")
	assert.NotContains(t, body, "http://", "no external assets")
	assert.NotContains(t, body, "https://", "no external assets")
	code, _ = r.get(t, "/nothing")
	assert.Equal(t, http.StatusNotFound, code)
}
