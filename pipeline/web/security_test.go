package web

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// post POSTs a URI with the token and returns the code and the error.
func (r *running) post(t *testing.T, uri string, header ...string) (int, string) {
	t.Helper()
	body, err := json.Marshal(AddSourceRequest{URI: uri})
	require.NoError(t, err)
	code, reply, _ := r.do(t, http.MethodPost, "/api/sources", "application/json", string(body), header...)
	var e apiError
	_ = json.Unmarshal([]byte(reply), &e)
	return code, e.Error
}

// TestAPIRefusesWhatIsNotAllowed (issue 13, item 1): with the default
// allow-list the source API opens RTSP cameras only. A GStreamer pipeline
// that copies a file, local files and folders (existing or not: the same
// answer), file://, http:// to this machine (SSRF), cameras and bags of this
// machine are refused before anything is opened.
func TestAPIRefusesWhatIsNotAllowed(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("top secret"), 0o600))
	copied := filepath.Join(dir, "copy.txt")
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer target.Close()
	a := startAPIWith(t, true, Options{APIAllow: DefaultAPIAllow})

	cases := []struct{ uri, want string }{
		{"gst://videotestsrc num-buffers=5 ! videoconvert ! appsink filesrc location=" + secret + " ! filesink location=" + copied, "may not open gst://"},
		{"GST://videotestsrc ! appsink", "may not open gst://"},
		{secret, "may not open local files"},
		{"/etc/shadow", "may not open local files"},
		{"/root/x", "may not open local files"},
		{dir, "may not open local files"},
		{dir + "/*.txt", "may not open local files"},
		{"clip.mp4", "may not open local files"},
		{"../../etc/passwd", "may not open local files"},
		{"file://" + secret, "may not open local files"},
		{"file:///etc/passwd", "may not open local files"},
		{target.URL + "/internal", "may not open http://127.0.0.1"},
		{"https://169.254.169.254/latest/meta-data", "may not open https://169.254.169.254"},
		{"0", "may not open cameras of this machine"},
		{"v4l2:///dev/video0", "may not open v4l2://"},
		{"realsense:///tmp/x.bag", "may not open realsense://"},
		{"pattern://?width=8192&height=8192&fps=1000", "may not open pattern://"},
		{"rtsp://cam/x\x00y", "control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.uri, func(t *testing.T) {
			code, msg := a.post(t, tc.uri)
			assert.Equal(t, http.StatusForbidden, code, msg)
			assert.Contains(t, msg, tc.want)
			assert.Contains(t, msg, "not allowed")
		})
	}
	assert.Zero(t, a.attempts.Load(), "nothing refused was opened")
	assert.Zero(t, hits.Load(), "no request reached the HTTP server")
	assert.NoFileExists(t, copied, "the pipeline did not run")

	// The answer about a path does not say whether it exists.
	_, exists := a.post(t, "/etc/passwd")
	_, missing := a.post(t, "/etc/no-such-file")
	assert.Equal(t, strings.Replace(exists, "/etc/passwd", "X", 1), strings.Replace(missing, "/etc/no-such-file", "X", 1))

	// RTSP is allowed: it is opened (and fails: nothing listens there).
	code, msg := a.post(t, "rtsp://127.0.0.1:1/x")
	assert.Equal(t, http.StatusUnprocessableEntity, code, msg)
	assert.EqualValues(t, 1, a.attempts.Load())
}

// TestAllowList checks each kind of entry and the URIs it lets through, the
// tricks included: hosts hidden behind "@", "#" or a port, folders left by
// "..", names that start like an allowed one.
func TestAllowList(t *testing.T) {
	root := t.TempDir()
	clips := filepath.Join(root, "clips")
	require.NoError(t, os.Mkdir(clips, 0o755))
	link := filepath.Join(root, "link")
	require.NoError(t, os.Symlink(clips, link))
	a, err := parseAllow([]string{"rtsp://cam1", "rtsp://*.cams.example:554", "rtsps://[::1]", "http://video.example", link + "/", "v4l2://", "realsense://"})
	require.NoError(t, err)
	cases := []struct {
		uri string
		ok  bool
	}{
		{"rtsp://cam1/x", true},
		{"RTSP://CAM1/x", true},
		{"rtsp://admin:50%off!@cam1:8554/x", true},
		{"rtsp://cam2/x", false},
		{"rtsp://cam1.evil.example/x", false},
		{"rtsp://cam1@evil.example/x", false},
		{"rtsp://cam1:pw@evil.example/x", false},
		{"rtsp://evil.example/x?@cam1", false},
		{"rtsp://evil.example#@cam1/", false},
		{"rtsp://a.cams.example:554/x", true},
		{"rtsp://a.cams.example/x", false},
		{"rtsp://a.cams.example:555/x", false},
		{"rtsp://cams.example:554/x", false},
		{"rtsp://evilcams.example:554/x", false},
		{"rtsps://[::1]:8322/x", true},
		{"rtsp://[::1]/x", false},
		{"http://video.example/live.m3u8", true},
		{"https://video.example/live.m3u8", false},
		{"http://169.254.169.254/", false},
		{"gst://videotestsrc ! appsink", false},
		{"pattern://", false},
		{clips + "/a.mp4", true},
		{link + "/a.mp4", true},
		{clips, true},
		{clips + "/*.jpg", true},
		{"file://" + clips + "/a.mp4", true},
		{clips + "/../secret", false},
		{clips + "/sub/../../secret", false},
		{clips + "X/a.mp4", false},
		{root + "/cl*/a.jpg", false},
		{root + "/a.mp4", false},
		{"a.mp4", false},
		{"0", true},
		{"v4l2://2", true},
		{"v4l2:///dev/video2?width=640", true},
		{"v4l2:///etc/passwd", false},
		{"v4l2:///dev/video0/../../etc/passwd", false},
		{"realsense://", true},
		{"realsense://?serial=123", true},
		{"realsense:///etc/x.bag", false},
		{"realsense://" + clips + "/x.bag", true},
	}
	for _, tc := range cases {
		err := a.check(tc.uri)
		if tc.ok {
			assert.NoError(t, err, tc.uri)
		} else {
			assert.ErrorIs(t, err, errNotAllowed, tc.uri)
		}
	}

	bad := []struct{ entry, want string }{
		{"cams", "want scheme://host"},
		{"rtsp://user@cam", "no user, path or query"},
		{"rtsp://cam/path", "no user, path or query"},
		{"gst://videotestsrc", "allows the whole scheme"},
		{"rtsp://*.*.example", "want a host name"},
		{"rtsp://ca*m", "want a host name"},
		{"rtsp://cam:99999", "port"},
		{filepath.Join(root, "nope") + "/", "no such folder"},
		{filepath.Join(clips, "..", "file"), "no such folder"},
	}
	for _, tc := range bad {
		_, err := parseAllow([]string{tc.entry})
		assert.ErrorContains(t, err, tc.want, tc.entry)
		assert.ErrorContains(t, err, "api-allow", tc.entry)
	}
	_, err = New(pipeline.New(), Options{Addr: "127.0.0.1:0", APIAllow: []string{"cams"}})
	assert.ErrorContains(t, err, "api-allow")
}

// TestAPINeedsTheToken (issue 13, item 2): every change needs the token,
// as a Bearer token or a Basic password; the page's cookie is not enough
// for a change (a form on another site could carry it).
func TestAPINeedsTheToken(t *testing.T) {
	a := startAPI(t, true)
	a.token = ""
	for _, req := range [][2]string{{http.MethodPost, "/api/sources"}, {http.MethodDelete, "/api/sources/0"}} {
		for name, header := range map[string][]string{
			"none":   nil,
			"wrong":  {"Authorization", "Bearer wrong-token-0123456789"},
			"cookie": {"Cookie", tokenCookie + "=" + testToken},
			"scheme": {"Authorization", "Token " + testToken},
		} {
			code, body, h := a.do(t, req[0], req[1], "application/json", `{"uri":"pattern://"}`, header...)
			assert.Equal(t, http.StatusUnauthorized, code, "%s %s: %s", req[0], name, body)
			assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			if name == "wrong" {
				assert.Contains(t, body, "wrong token")
			} else {
				assert.Contains(t, body, EnvToken)
			}
		}
	}
	assert.Zero(t, a.attempts.Load())
	code, body, _ := a.do(t, http.MethodPost, "/api/sources", "application/json", `{"uri":"pattern://"}`, "Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusCreated, code, body)
	req, err := http.NewRequest(http.MethodDelete, "http://"+a.srv.Addr()+"/api/sources/0", nil)
	require.NoError(t, err)
	req.SetBasicAuth("anyone", testToken)
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "Basic authentication with the token")
	assert.Len(t, a.list(t), 1, "listing needs no token")

	_, err = New(pipeline.New(), Options{Addr: "127.0.0.1:0", OpenSource: a.open})
	assert.ErrorContains(t, err, "the source API needs a token")
	_, err = New(pipeline.New(), Options{Addr: "127.0.0.1:0", Token: "short"})
	assert.ErrorContains(t, err, "16 or more")
}

// TestHostHeaderIsChecked (issue 13, item 2): a page that reached the
// server through DNS rebinding sends its own name as Host (and a matching
// Origin, which the Origin check alone let through): refused, on every
// path. Addresses, localhost and the names the operator allows pass.
func TestHostHeaderIsChecked(t *testing.T) {
	a := startAPIWith(t, true, Options{AllowHosts: []string{"cams.example"}}, "pattern://?width=64&height=48&fps=30&frames=-1")
	_, port, err := net.SplitHostPort(a.srv.Addr())
	require.NoError(t, err)
	request := func(host, method, path, body string) int {
		req, err := http.NewRequest(method, "http://"+a.srv.Addr()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Host = host
		req.Header.Set("Origin", "http://"+host)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := http.DefaultTransport.RoundTrip(req.WithContext(ctx))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "127.0.0.1.nip.io:" + port, "localhost.attacker.example:" + port} {
		for _, p := range [][3]string{{"POST", "/api/sources", `{"uri":"pattern://"}`}, {"DELETE", "/api/sources/0", ""}, {"GET", "/stats", ""}, {"GET", "/stream/0", ""}, {"GET", "/metrics", ""}, {"GET", "/", ""}} {
			assert.Equal(t, http.StatusMisdirectedRequest, request(host, p[0], p[1], p[2]), "%s %s with Host %s", p[0], p[1], host)
		}
	}
	assert.Zero(t, a.attempts.Load())
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "app.localhost:" + port, "[::1]:" + port, "cams.example:" + port, "CAMS.example.", "192.0.2.7"} {
		assert.Equal(t, http.StatusOK, request(host, "GET", "/stats", ""), host)
	}
	assert.Equal(t, http.StatusCreated, request("cams.example:"+port, "POST", "/api/sources", `{"uri":"pattern://?width=64&height=48&fps=30&frames=-1"}`))
}

// stream GETs /stream/0 with extra headers and returns the code (the body
// is not read: a stream does not end).
func (r *running) streamCode(t *testing.T, header ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.srv.Addr()+"/stream/0", nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestStreamsNeedTheTokenBeyondLoopback (issue 13, item 2): on an address
// other machines reach, a server with a token wants it for the streams too
// (header, Basic, or the page's cookie); without a token it warns. On
// loopback the streams stay open.
func TestStreamsNeedTheTokenBeyondLoopback(t *testing.T) {
	src := "pattern://?width=64&height=48&fps=30&frames=-1"
	exposed := startLine(t, Options{Addr: "0.0.0.0:0", Token: testToken}, src) // the tests reach 0.0.0.0 through loopback
	assert.Empty(t, exposed.srv.Notes())
	assert.Equal(t, http.StatusUnauthorized, exposed.streamCode(t))
	assert.Equal(t, http.StatusUnauthorized, exposed.streamCode(t, "Authorization", "Bearer nope-nope-nope-nope"))
	assert.Equal(t, http.StatusOK, exposed.streamCode(t, "Authorization", "Bearer "+testToken))
	assert.Equal(t, http.StatusOK, exposed.streamCode(t, "Cookie", tokenCookie+"="+testToken))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("vlc", testToken)
	assert.Equal(t, http.StatusOK, exposed.streamCode(t, "Authorization", req.Header.Get("Authorization")))
	st := exposed.stats(t)
	assert.True(t, st.Token)
	assert.True(t, st.StreamToken)

	open := startLine(t, Options{Addr: "0.0.0.0:0"}, src)
	require.Len(t, open.srv.Notes(), 1)
	assert.Contains(t, open.srv.Notes()[0], "warning: http: 0.0.0.0:0 can be reached from other machines and has no token")

	local := startLine(t, Options{Token: testToken}, src)
	assert.Empty(t, local.srv.Notes())
	assert.Equal(t, http.StatusOK, local.streamCode(t), "loopback: the streams need no token")
	assert.False(t, local.stats(t).StreamToken)
}

// TestPprofOnlyWhenAskedAndOnlyForThisMachine (issue 13, item 2).
func TestPprofOnlyWhenAskedAndOnlyForThisMachine(t *testing.T) {
	off := startLine(t, Options{}, "pattern://?width=64&height=48&fps=0&frames=1")
	code, _ := off.get(t, "/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "not asked for")
	on := startLine(t, Options{Pprof: true}, "pattern://?width=64&height=48&fps=0&frames=1")
	code, body := on.get(t, "/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine")
	h := loopbackOnly(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("profile")) })
	for addr, want := range map[string]int{"192.0.2.1:4000": http.StatusNotFound, "[2001:db8::1]:4000": http.StatusNotFound, "127.0.0.1:4000": http.StatusOK, "[::1]:4000": http.StatusOK} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil)
		req.RemoteAddr = addr
		h(rec, req)
		assert.Equal(t, want, rec.Code, addr)
	}
}

// TestCaps (issue 13): the source API stops at --api-max-sources running
// sources, and the streams at --http-max-viewers.
func TestCaps(t *testing.T) {
	a := startAPIWith(t, true, Options{MaxSources: 1, MaxViewers: 1})
	live := "pattern://?width=64&height=48&fps=30&frames=-1"
	a.add(t, live)
	code, msg := a.post(t, live)
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, msg, "api-max-sources")
	assert.EqualValues(t, 1, a.attempts.Load(), "refused before opening")

	s := a.openStream(t, "/stream/0")
	_, err := s.next(t)
	require.NoError(t, err)
	code = a.streamCode(t)
	assert.Equal(t, http.StatusServiceUnavailable, code, "a second viewer")
	s.close()
	eventually(t, 10*time.Second, "the viewer gone", func() bool { return a.srv.Sink().Stats().Viewers == 0 })
	assert.Equal(t, http.StatusOK, a.streamCode(t))

	code, _, _ = a.do(t, http.MethodDelete, "/api/sources/0", "", "")
	require.Equal(t, http.StatusAccepted, code)
	eventually(t, 10*time.Second, "source 0 stopped", func() bool { return stateOf(a.list(t), 0) == meta.SourceStopped })
	a.add(t, live)
}

// TestTokenFile: a token file that does not exist is made (owner only, a
// random token); one that exists is read; a short token is refused; one
// others can read is used with a warning.
func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	made := filepath.Join(dir, "token")
	tok, note, err := loadToken(Options{TokenFile: made})
	require.NoError(t, err)
	assert.Len(t, tok, 64)
	assert.Contains(t, note, "a new token is in "+made)
	st, err := os.Stat(made)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	again, note, err := loadToken(Options{TokenFile: made})
	require.NoError(t, err)
	assert.Equal(t, tok, again, "read back")
	assert.Empty(t, note)

	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	tok, note, err = loadToken(Options{TokenFile: write("open", "  a-long-enough-token-42\n", 0o644)})
	require.NoError(t, err)
	assert.Equal(t, "a-long-enough-token-42", tok)
	assert.Contains(t, note, "can be read by other users")
	for name, content := range map[string]string{"short": "abc\n", "spaces": "a long token with spaces\n"} {
		_, _, err = loadToken(Options{TokenFile: write(name, content, 0o600)})
		assert.ErrorContains(t, err, "http-token-file", name)
	}
	_, _, err = loadToken(Options{TokenFile: filepath.Join(dir, "no", "such", "dir", "token")})
	assert.ErrorContains(t, err, "http-token-file")
	tok, _, err = loadToken(Options{TokenFile: made, Token: "from-the-environment-1"})
	require.NoError(t, err)
	assert.Equal(t, "from-the-environment-1", tok, "the token itself wins")
}

// TestHealthIdleAndChecks (issue 13): a line that waits for sources is
// healthy with none (idle is not sick); a failing check (the broker down)
// makes it unhealthy, with the reason.
func TestHealthIdleAndChecks(t *testing.T) {
	var down atomic.Bool
	a := startAPIWith(t, true, Options{Stale: 2 * time.Second, Checks: []Check{{Name: "rabbitmq", Func: func() error {
		if down.Load() {
			return errors.New("not connected")
		}
		return nil
	}}}})
	code, h := a.health(t)
	assert.Equal(t, http.StatusOK, code, "%+v", h)
	assert.True(t, h.Idle)
	down.Store(true)
	code, h = a.health(t)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "rabbitmq: not connected", h.Reason)
	down.Store(false)
	a.add(t, "pattern://?width=64&height=48&fps=30&frames=-1")
	code, h = a.health(t)
	assert.Equal(t, http.StatusOK, code, "a new source has Stale to send its first frame: %+v", h)
	assert.False(t, h.Idle)
	eventually(t, 10*time.Second, "frames", func() bool { return a.srv.Health().Frames > 0 })
	code, _ = a.health(t)
	assert.Equal(t, http.StatusOK, code)
}

// secretCamera is a live source whose URI has a password Go's URL parser
// rejects.
type secretCamera struct{ n int }

const secretName = "rtsp://admin:50%off!@cam/x"

func (s *secretCamera) Read(ctx context.Context) (*pipeline.Frame, error) {
	select {
	case <-time.After(10 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.n++
	return &pipeline.Frame{Number: int64(s.n), Captured: time.Now(), Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)}, nil
}
func (s *secretCamera) Info() pipeline.SourceInfo {
	return pipeline.SourceInfo{Name: secretName, Live: true}
}
func (s *secretCamera) Close() error { return nil }

// TestNamesAreRedactedEverywhere (issue 13, item 3): a password the URL
// parser rejects showed in clear in /metrics labels, /stats and
// /api/sources. None of them shows it now.
func TestNamesAreRedactedEverywhere(t *testing.T) {
	line := pipeline.New()
	line.AddSource(&secretCamera{}, pipeline.LinkOptions{})
	r := serve(t, line, Options{Addr: "127.0.0.1:0"})
	eventually(t, 10*time.Second, "frames", func() bool { return r.srv.Health().Frames > 2 })
	const want = "rtsp://admin:xxxxx@cam/x"
	for _, path := range []string{"/metrics", "/stats", "/api/sources"} {
		code, body := r.get(t, path)
		require.Equal(t, http.StatusOK, code)
		assert.NotContains(t, body, "50%off", path)
		assert.NotContains(t, body, "50%!o(MISSING)ff", path)
		assert.Contains(t, body, want, path)
	}
	fams := r.scrape(t)
	assert.True(t, has(fams, "conveyor_source_frames_total", "source", want), "the /metrics label is the redacted name")
}
