package web

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/camera/cameratest"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// apiLine is a KeepAlive line that starts with no source, served with the
// source API on (or off), and counts the sources it opened and the line
// closed.
type apiLine struct {
	*running
	opened, closed atomic.Int64
	attempts       atomic.Int64 // calls of open, failed ones included
}

// closeCounter counts Close calls on a source.
type closeCounter struct {
	pipeline.Source
	n *atomic.Int64
}

func (c *closeCounter) Close() error { c.n.Add(1); return c.Source.Close() }

// open opens a URI as --source does, paced at the file's frame rate so that
// a viewer can watch a file.
func (a *apiLine) open(_ context.Context, uri string) (pipeline.Source, pipeline.LinkOptions, error) {
	a.attempts.Add(1)
	src, err := camera.Open(uri, camera.Options{Realtime: true})
	if err != nil {
		return nil, pipeline.LinkOptions{}, err
	}
	a.opened.Add(1)
	return &closeCounter{Source: src, n: &a.closed}, pipeline.LinkOptions{}, nil
}

// testToken is the token of the test servers with the source API on.
const testToken = "0123456789abcdef-test-token"

// startAPI serves a KeepAlive line of uris with the source API on (with
// testToken, allowed to open pattern:// and the assets' media folder) or
// off.
func startAPI(t *testing.T, on bool, uris ...string) *apiLine {
	t.Helper()
	return startAPIWith(t, on, Options{}, uris...)
}

func startAPIWith(t *testing.T, on bool, o Options, uris ...string) *apiLine {
	t.Helper()
	a := &apiLine{}
	line := openLine(t, uris...)
	line.KeepAlive = true
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.StreamFPS == 0 {
		o.StreamFPS = 30
	}
	if on {
		o.OpenSource = a.open
		if o.Token == "" {
			o.Token = testToken
		}
		if o.APIAllow == nil {
			o.APIAllow = []string{"pattern://", "rtsp://*", mediaFolder(t)}
		}
	}
	a.running = serve(t, line, o)
	a.token = o.Token
	return a
}

// mediaFolder is the assets' media folder, where the test clips are.
func mediaFolder(t *testing.T) string {
	t.Helper()
	clip, err := models.Asset("media/video/face-demographics-walking-and-pause.mp4")
	require.NoError(t, err)
	return filepath.Dir(filepath.Dir(clip))
}

// do sends a request with a body of the given content type ("" for none)
// and extra header name/value pairs, and returns the code and the body.
func (r *running) do(t *testing.T, method, path, contentType, body string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+r.srv.Addr()+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := r.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// add POSTs a URI and wants 201.
func (r *running) add(t *testing.T, uri string) pipeline.SourceStatus {
	t.Helper()
	body, err := json.Marshal(AddSourceRequest{URI: uri})
	require.NoError(t, err)
	code, reply, h := r.do(t, http.MethodPost, "/api/sources", "application/json; charset=utf-8", string(body))
	require.Equal(t, http.StatusCreated, code, reply)
	var st pipeline.SourceStatus
	require.NoError(t, json.Unmarshal([]byte(reply), &st))
	assert.Equal(t, "/api/sources/"+strconv.Itoa(st.ID), h.Get("Location"))
	return st
}

// jpegSize decodes a JPEG with OpenCV and returns its size.
func jpegSize(t *testing.T, b []byte) image.Point {
	t.Helper()
	img, err := gocv.IMDecode(b, gocv.IMReadColor)
	require.NoError(t, err)
	defer img.Close()
	require.False(t, img.Empty(), "part decodes as JPEG")
	return image.Pt(img.Cols(), img.Rows())
}

// feedCount is the number of source feeds the sink holds, retired ones
// included (the tiled view's excluded).
func (s *Sink) feedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.retired)
	for id := range s.feeds {
		if id != tiledID {
			n++
		}
	}
	return n
}

func (r *running) list(t *testing.T) []pipeline.SourceStatus {
	t.Helper()
	code, body, _ := r.do(t, http.MethodGet, "/api/sources", "", "")
	require.Equal(t, http.StatusOK, code)
	var sts []pipeline.SourceStatus
	require.NoError(t, json.Unmarshal([]byte(body), &sts), body)
	return sts
}

func (r *running) stats(t *testing.T) StatsReply {
	t.Helper()
	code, body := r.get(t, "/stats")
	require.Equal(t, http.StatusOK, code)
	var st StatsReply
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	return st
}

// stream is an open MJPEG stream.
type stream struct {
	resp   *http.Response
	parts  *multipart.Reader
	cancel context.CancelFunc
}

func (r *running) openStream(t *testing.T, path string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.srv.Addr()+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	s := &stream{resp: resp, cancel: cancel}
	t.Cleanup(s.close)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	s.parts = multipart.NewReader(resp.Body, params["boundary"])
	return s
}

func (s *stream) close() { s.cancel(); _ = s.resp.Body.Close() }

// next reads the next part and returns the JPEG's size; io.EOF once the
// server ended the stream with its closing boundary. The stream's context
// bounds the wait.
func (s *stream) next(t *testing.T) (image.Point, error) {
	t.Helper()
	p, err := s.parts.NextPart()
	if err != nil {
		return image.Point{}, err
	}
	b, err := io.ReadAll(p)
	require.NoError(t, err)
	return jpegSize(t, b), nil
}

func (s *stream) waitEnd(t *testing.T) {
	t.Helper()
	for {
		_, err := s.next(t)
		if errors.Is(err, io.EOF) {
			return
		}
		require.NoError(t, err, "the stream ends cleanly, with its closing boundary")
	}
}

// has says whether the family has a metric with those labels.
func has(fams map[string]*dto.MetricFamily, name string, labels ...string) bool {
	fam, ok := fams[name]
	if !ok {
		return false
	}
next:
	for _, m := range fam.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		return true
	}
	return false
}

func stateOf(sts []pipeline.SourceStatus, id int) meta.SourceState {
	for _, st := range sts {
		if st.ID == id {
			return st.State
		}
	}
	return ""
}

// TestSourceAPI adds and removes sources of a running KeepAlive line over
// HTTP: a live pattern and a real video file.
func TestSourceAPI(t *testing.T) {
	clip, err := models.Asset("media/video/face-demographics-walking-and-pause.mp4") // 41 frames of 480×270 at 12 fps
	require.NoError(t, err)
	a := startAPI(t, true)

	assert.Empty(t, a.list(t))
	code, body, _ := a.do(t, http.MethodGet, "/api/sources", "", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "[]\n", body, "an empty array, not null")

	// A live source: its frames reach the web sink (its stream shows them),
	// and the Prometheus collector and the observer pick it up.
	st := a.add(t, "pattern://?width=320&height=240&fps=30&frames=-1")
	assert.Equal(t, pipeline.SourceStatus{ID: 0, Name: "pattern://?width=320&height=240&fps=30&frames=-1", Live: true, FPS: 30, State: meta.SourceRunning, Frames: st.Frames}, st)
	live := a.openStream(t, "/stream/0")
	for range 2 {
		sz, err := live.next(t)
		require.NoError(t, err)
		assert.Equal(t, image.Pt(320, 240), sz)
	}
	eventually(t, 10*time.Second, "source 0's figures", func() bool {
		fams := a.scrape(t)
		return has(fams, "conveyor_source_frames_total", "source_id", "0") && value(t, fams, "conveyor_source_frames_total", "source_id", "0") > 0 &&
			value(t, fams, "conveyor_stage_frames_out_total", "stage", "source") > 0
	})

	// A file: it plays to its end, its stream ends cleanly, and it leaves
	// with its final figures.
	st = a.add(t, clip)
	require.Equal(t, 1, st.ID)
	file := a.openStream(t, "/stream/1")
	sz, err := file.next(t)
	require.NoError(t, err)
	assert.Equal(t, image.Pt(480, 270), sz)
	file.waitEnd(t)
	eventually(t, 10*time.Second, "source 1 ended", func() bool { return stateOf(a.list(t), 1) == meta.SourceEnded })
	code, _ = a.get(t, "/stream/1")
	assert.Equal(t, http.StatusGone, code, "the stream of a source that ended")
	stats := a.stats(t)
	assert.True(t, stats.API)
	require.Len(t, stats.Sources, 2)
	assert.Equal(t, SourceStats{ID: 1, Name: clip, State: meta.SourceEnded, Frames: 41}, stats.Sources[1])
	assert.Equal(t, meta.SourceRunning, stats.Sources[0].State)
	assert.Greater(t, stats.Sources[0].FPS, 0.0)
	fams := a.scrape(t)
	assert.False(t, has(fams, "conveyor_source_frames_total", "source_id", "1"), "an ended source's series go")
	assert.Equal(t, 41.0, value(t, fams, "conveyor_stage_frames_out_total", "stage", "source1"))

	// Remove the live source: it stops, and so does its stream.
	code, body, _ = a.do(t, http.MethodDelete, "/api/sources/0", "", "")
	assert.Equal(t, http.StatusAccepted, code)
	assert.JSONEq(t, `{"id": 0}`, body)
	live.waitEnd(t)
	eventually(t, 10*time.Second, "source 0 stopped", func() bool { return stateOf(a.list(t), 0) == meta.SourceStopped })
	code, _, _ = a.do(t, http.MethodDelete, "/api/sources/0", "", "")
	assert.Equal(t, http.StatusAccepted, code, "removing a stopped source again does nothing")
	eventually(t, 10*time.Second, "sources closed", func() bool { return a.closed.Load() == 2 })
	assert.Equal(t, int64(2), a.opened.Load())
	assert.Equal(t, 0, a.srv.Sink().feedCount(), "the ended sources' feeds are gone")

	// The line runs on with no source (KeepAlive), and takes a new one.
	st = a.add(t, "pattern://?width=64&height=48&fps=0&frames=5")
	assert.Equal(t, 2, st.ID)
	eventually(t, 10*time.Second, "source 2 ended", func() bool { return stateOf(a.list(t), 2) == meta.SourceEnded })
}

func TestSourceAPIErrors(t *testing.T) {
	a := startAPI(t, true)
	const js = "application/json"
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		header       []string
		code         int
		err          string
	}{
		{"form post", "POST", "/api/sources", "application/x-www-form-urlencoded", "uri=x", nil, 415, "must be JSON"},
		{"multipart", "POST", "/api/sources", "multipart/form-data; boundary=x", "--x--", nil, 415, "must be JSON"},
		{"text/plain", "POST", "/api/sources", "text/plain", `{"uri":"x"}`, nil, 415, "must be JSON"},
		{"no content type", "POST", "/api/sources", "", `{"uri":"x"}`, nil, 415, "must be JSON"},
		{"bad json", "POST", "/api/sources", js, `{"uri":`, nil, 400, "bad JSON"},
		{"not an object", "POST", "/api/sources", js, `["x"]`, nil, 400, "bad JSON"},
		{"unknown field", "POST", "/api/sources", js, `{"url":"x"}`, nil, 400, "unknown field"},
		{"two objects", "POST", "/api/sources", js, `{"uri":"a"} {"uri":"b"}`, nil, 400, "one object"},
		{"missing uri", "POST", "/api/sources", js, `{}`, nil, 400, `missing "uri"`},
		{"blank uri", "POST", "/api/sources", js, `{"uri":"  "}`, nil, 400, `missing "uri"`},
		{"too big", "POST", "/api/sources", js, `{"uri":"` + strings.Repeat("a", 5000) + `"}`, nil, 413, "larger than"},
		{"cannot open", "POST", "/api/sources", js, `{"uri":"` + mediaFolder(t) + `/nonexistent.mp4"}`, nil, 422, "no such file"},
		{"unknown scheme", "POST", "/api/sources", js, `{"uri":"nope://x"}`, nil, 403, "may not open nope://"},
		{"password redacted", "POST", "/api/sources", js, `{"uri":"nope://user:secret@host/x"}`, nil, 403, "open nope://user:xxxxx@host/x"},
		{"password redacted in an open error", "POST", "/api/sources", js, `{"uri":"rtsp://user:se#cret@127.0.0.1:1/x"}`, nil, 422, "open rtsp://user:xxxxx@127.0.0.1:1/x"},
		{"another site", "POST", "/api/sources", js, `{"uri":"pattern://"}`, []string{"Origin", "http://evil.example"}, 403, "cross-origin"},
		{"delete another site", "DELETE", "/api/sources/0", "", "", []string{"Origin", "http://evil.example"}, 403, "cross-origin"},
		{"id not a number", "DELETE", "/api/sources/x", "", "", nil, 400, "must be a number"},
		{"negative id", "DELETE", "/api/sources/-1", "", "", nil, 400, "must be a number"},
		{"no such source", "DELETE", "/api/sources/99", "", "", nil, 404, "no such source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, h := a.do(t, tc.method, tc.path, tc.ctype, tc.body, tc.header...)
			assert.Equal(t, tc.code, code, body)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e.Error, tc.err)
			assert.NotContains(t, e.Error, "secret")
		})
	}
	code, _, _ := a.do(t, http.MethodPost, "/api/sources", js, `{"uri":"pattern://"}`, "Origin", "http://"+a.srv.Addr())
	assert.Equal(t, http.StatusCreated, code, "the page's own origin")
	code, _, _ = a.do(t, http.MethodPut, "/api/sources/0", js, `{}`)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Len(t, a.list(t), 1, "no failed request added a source")

	// Once the line has stopped, a source cannot join: 409, and the
	// source opened for it is closed.
	a.stop(t)
	opened, closed := a.opened.Load(), a.closed.Load()
	code, body, _ := a.do(t, http.MethodPost, "/api/sources", js, `{"uri":"pattern://"}`)
	assert.Equal(t, http.StatusConflict, code, body)
	assert.Contains(t, body, "line has stopped")
	assert.Equal(t, opened+1, a.opened.Load())
	assert.Equal(t, closed+1, a.closed.Load(), "the refused source is closed")
}

func TestSourceAPIOff(t *testing.T) {
	a := startAPI(t, false, "pattern://?width=64&height=48&fps=30&frames=-1")
	sts := a.list(t)
	require.Len(t, sts, 1, "listing works without --api")
	assert.Equal(t, meta.SourceRunning, sts[0].State)
	for _, req := range [][3]string{
		{http.MethodPost, "/api/sources", `{"uri":"pattern://"}`},
		{http.MethodDelete, "/api/sources/0", ""},
	} {
		code, body, _ := a.do(t, req[0], req[1], "application/json", req[2])
		assert.Equal(t, http.StatusForbidden, code)
		var e apiError
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		assert.Contains(t, e.Error, "--api")
	}
	assert.False(t, a.stats(t).API)
	assert.Equal(t, meta.SourceRunning, a.list(t)[0].State, "still running")
}

// TestSinkEndSource drives the sink directly with frames of two real
// clips: when source 1 ends, its viewer's stream ends cleanly, its stream
// is gone, its Mats are freed and the tiled view shrinks to one tile; when
// source 0 ends too, the tiled view says so.
func TestSinkEndSource(t *testing.T) {
	before := pipelinetest.MatCount()
	line := pipeline.New()
	line.AddSource(&stallSource{}, pipeline.LinkOptions{}) // ids 0 and 1: streams exist only for the line's sources
	line.AddSource(&stallSource{}, pipeline.LinkOptions{})
	srv, err := New(line, Options{Addr: "127.0.0.1:0", StreamFPS: 60, ShutdownTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, line.Close()) // only the server and its sink are used
	sink := srv.Sink()
	r := &running{srv: srv, client: &http.Client{Timeout: 10 * time.Second}}

	frames := append(cameratest.ClipFrames(t, "media/video/face-demographics-walking-and-pause.mp4", 0, 5),
		cameratest.ClipFrames(t, "media/video/gocv_small_noface.mp4", 1, 5)...)
	// The line's sink goroutine, in miniature: write both sources' frames
	// until told to stop.
	stop, written := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(written)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, f := range []*pipeline.Frame{frames[i%5], frames[5+i%5]} {
				if err := sink.Write(context.Background(), f); err != nil {
					panic(err)
				}
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-written
	}()

	code, _ := r.get(t, "/stream/2")
	assert.Equal(t, http.StatusNotFound, code, "no such source")
	one := r.openStream(t, "/stream/1")
	sz, err := one.next(t)
	require.NoError(t, err)
	assert.Equal(t, image.Pt(560, 320), sz)
	tiled := r.openStream(t, "/stream/all")
	// tileSize reads the tiled view until it has the wanted size.
	tileSize := func(want image.Point) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			sz, err := tiled.next(t)
			require.NoError(t, err)
			if sz == want {
				return
			}
			require.True(t, time.Now().Before(deadline), "tiled view is %v, want %v", sz, want)
		}
	}
	tileSize(image.Pt(2*tileW, tileH))
	require.Equal(t, 2, sink.feedCount())

	require.NoError(t, sink.EndSource(context.Background(), &pipeline.SourceEnd{SourceID: 1}))
	one.waitEnd(t)
	code, body := r.get(t, "/stream/1")
	assert.Equal(t, http.StatusGone, code)
	assert.Contains(t, body, "source has ended")
	tileSize(image.Pt(tileW, tileH))
	eventually(t, 5*time.Second, "source 1's feed freed", func() bool { return sink.feedCount() == 1 })
	require.NoError(t, sink.EndSource(context.Background(), &pipeline.SourceEnd{SourceID: 1}), "twice")

	close(stop)
	<-written
	require.NoError(t, sink.EndSource(context.Background(), &pipeline.SourceEnd{SourceID: 0}))
	sz, err = tiled.next(t) // "no source"
	require.NoError(t, err)
	assert.Equal(t, image.Pt(tileW, tileH), sz)
	eventually(t, 5*time.Second, "every feed freed", func() bool { return sink.feedCount() == 0 })
	require.NoError(t, sink.Write(context.Background(), frames[0]), "a frame of an ended source is ignored")
	assert.Equal(t, 0, sink.feedCount())

	tiled.close()
	one.close()
	r.client.CloseIdleConnections()
	require.NoError(t, srv.Close())
	require.NoError(t, sink.EndSource(context.Background(), &pipeline.SourceEnd{SourceID: 2}), "after Close")
	for _, f := range frames {
		f.Release()
	}
	assert.Equal(t, before, pipelinetest.MatCount(), "every Mat closed")
}
