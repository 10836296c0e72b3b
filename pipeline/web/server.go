package web

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// DefaultAddr is where the server listens when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// Options configure a Server. The zero value takes every default.
type Options struct {
	// Addr is host:port to listen on; "" means DefaultAddr, a port alone
	// (":8080") means 127.0.0.1 too. Port 0 picks a free port (see Addr).
	// `conveyor run` starts the server only when --http is set.
	Addr string `yaml:"http" usage:"serve the live view, /metrics (Prometheus) and /healthz on this address (e.g. 127.0.0.1:8080)"`
	// StreamFPS caps the frames a second encoded per stream; 0 means 10.
	StreamFPS float64 `yaml:"http-fps" usage:"most frames per second sent to each viewer"`
	// Quality is the JPEG quality, 1 to 100; 0 means 80.
	Quality int `yaml:"http-quality" usage:"JPEG quality of the live view (1-100)"`
	// StreamWidth scales wider frames down to this width before encoding;
	// 0 sends them as they are. DefaultOptions has 960.
	StreamWidth int `yaml:"http-width" usage:"widest picture sent to viewers, in pixels (0 = as is)"`
	// Stale is how long without a frame reaching the end of the line makes
	// /healthz unhealthy; 0 means 5 s.
	Stale time.Duration `yaml:"-"`
	// ShutdownTimeout bounds Close's graceful shutdown; 0 means 5 s.
	ShutdownTimeout time.Duration `yaml:"-"`
	// Title heads the page; "" means "conveyor".
	Title string `yaml:"-"`
	// Collectors are registered with the metrics registry next to the
	// line's own (as Register does).
	Collectors []prometheus.Collector `yaml:"-"`
	// OpenSource, when set, turns on the source API: POST /api/sources
	// opens a URI with it and attaches the source to the line, DELETE
	// /api/sources/{id} detaches one (see api.go). ctx is the request's: it
	// bounds the opening only, never the source's life. When nil those two
	// answer 403; GET /api/sources always works. The API needs a token
	// (Token or TokenFile), and opens only what APIAllow allows.
	OpenSource func(ctx context.Context, uri string) (pipeline.Source, pipeline.LinkOptions, error) `yaml:"-"`

	// TokenFile names a file holding the token that POST and DELETE
	// /api/sources need, and, on an address other machines can reach, the
	// live streams too (auth.go). A file that does not exist is made, with
	// a new random token, readable by its owner only. The token is never a
	// flag: `conveyor run` also reads it from CONVEYOR_HTTP_TOKEN (EnvToken).
	TokenFile string `yaml:"http-token-file" usage:"file holding the token the source API (and, on a non-loopback address, the live streams) require; made with a new random token if missing (or set CONVEYOR_HTTP_TOKEN)"`
	// Token is the token itself, for library users; it wins over TokenFile.
	Token string `yaml:"-"`
	// AllowHosts are host names the server answers to besides its own
	// address, IP addresses, localhost and this machine's name: a request
	// whose Host header names anything else is refused (421), which defeats
	// DNS rebinding. Add the names users type to reach it.
	AllowHosts []string `yaml:"http-allow-host" usage:"a host name the server answers to besides IP addresses, localhost and this machine's name (repeatable): a guard against DNS rebinding"`
	// Pprof serves Go's profiler at /debug/pprof, to loopback clients only.
	Pprof bool `yaml:"http-pprof" usage:"serve Go's profiler at /debug/pprof (to clients on this machine only)"`
	// MaxViewers caps the live streams open at once; 0 means 16.
	MaxViewers int `yaml:"http-max-viewers" usage:"most live streams open at once (0 = 16)"`
	// APIAllow lists what POST /api/sources may open (allow.go): rtsp://HOST
	// (also rtsps, http, https; HOST may be *.domain or *), a whole scheme
	// (gst://, v4l2://, pattern://, realsense://), or an absolute folder.
	// Empty means DefaultAPIAllow: RTSP cameras, nothing local.
	APIAllow []string `yaml:"api-allow" usage:"what POST /api/sources may open (repeatable): rtsp://HOST, http://HOST (HOST, *.domain or *), gst://, v4l2://, pattern://, realsense://, or a folder /srv/clips/ (default rtsp://* and rtsps://*; gst:// and local files only when listed)"`
	// MaxSources caps the sources the source API lets run at once; 0 means
	// 16. Sources given at start count, but are never refused.
	MaxSources int `yaml:"api-max-sources" usage:"most sources running at once that POST /api/sources allows (0 = 16)"`
	// Checks are health checks of what the line depends on (a broker, an
	// output): /healthz is unhealthy while one fails.
	Checks []Check `yaml:"-"`
}

// Check is one health check: Func returns nil while Name is fine, or why
// it is not ("not connected"). It must be quick and safe from any
// goroutine.
type Check struct {
	Name string
	Func func() error
}

// DefaultOptions is what `conveyor run --http ADDR` starts from.
func DefaultOptions() Options { return Options{StreamFPS: 10, Quality: 80, StreamWidth: 960} }

// The caps when Options leave them at zero.
const (
	DefaultMaxViewers = 16
	DefaultMaxSources = 16
)

// Validate checks the options a user sets, naming each by its option key;
// zeros stand for the defaults.
func (o Options) Validate() error {
	var errs []error
	if o.Addr != "" {
		if _, _, err := net.SplitHostPort(o.Addr); err != nil {
			errs = append(errs, fmt.Errorf("http: %q: want host:port, e.g. 127.0.0.1:8080", o.Addr))
		}
	}
	if o.StreamFPS < 0 || o.StreamFPS > 120 {
		errs = append(errs, fmt.Errorf("http-fps: %g is out of range: want more than 0, at most 120", o.StreamFPS))
	}
	if o.Quality < 0 || o.Quality > 100 {
		errs = append(errs, fmt.Errorf("http-quality: %d is out of range: want 1 to 100", o.Quality))
	}
	if o.StreamWidth < 0 || (o.StreamWidth > 0 && o.StreamWidth < 16) || o.StreamWidth > 8192 {
		errs = append(errs, fmt.Errorf("http-width: %d is out of range: want 0 (as is) or 16 to 8192", o.StreamWidth))
	}
	if o.MaxViewers < 0 || o.MaxViewers > 10000 {
		errs = append(errs, fmt.Errorf("http-max-viewers: %d is out of range: want 0 (16) to 10000", o.MaxViewers))
	}
	if o.MaxSources < 0 || o.MaxSources > 10000 {
		errs = append(errs, fmt.Errorf("api-max-sources: %d is out of range: want 0 (16) to 10000", o.MaxSources))
	}
	for _, h := range o.AllowHosts {
		if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, "/:@ *") {
			errs = append(errs, fmt.Errorf("http-allow-host: %q: want a host name, such as cams.example.com", h))
		}
	}
	if err := checkToken(o.Token, "token"); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseAllow(o.APIAllow); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() (Options, error) {
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("web: %w", err)
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return o, fmt.Errorf("web: address %q: %w", o.Addr, err)
	}
	if host == "" {
		o.Addr = net.JoinHostPort("127.0.0.1", port)
	}
	if o.StreamFPS == 0 {
		o.StreamFPS = 10
	}
	if o.Quality == 0 {
		o.Quality = 80
	}
	if o.Stale == 0 {
		o.Stale = 5 * time.Second
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.Title == "" {
		o.Title = "conveyor"
	}
	if o.MaxViewers == 0 {
		o.MaxViewers = DefaultMaxViewers
	}
	if o.MaxSources == 0 {
		o.MaxSources = DefaultMaxSources
	}
	if o.Stale < 0 {
		return o, fmt.Errorf("web: stale %s is negative", o.Stale)
	}
	return o, nil
}

// Server is the HTTP server of one line. Make it with New; Close it.
type Server struct {
	line    *pipeline.Line
	opts    Options
	token   string              // "" when none: no source API
	exposed bool                // the address is reachable from other machines
	hosts   map[string]struct{} // names the Host header may give (hostAllowed)
	allow   allowList           // what the source API may open
	notes   []string            // for the operator: Notes
	reg     *prometheus.Registry
	obs     *observer
	sink    *Sink
	ln      net.Listener
	srv     *http.Server
	started time.Time

	done      chan struct{} // closed by Close: ends streams
	served    chan error
	closeOnce sync.Once
	closeErr  error

	addMu      sync.Mutex // guards pending and lastAttach
	pending    int        // POSTs opening a source now (counted against MaxSources)
	lastAttach time.Time  // when the API last attached a source (for Health)
}

//go:embed index.html
var indexHTML []byte

// New attaches timing probes to every stage of line (so it must be called
// before line.Run), makes the metrics registry and the stream sink, and
// starts serving on o.Addr. Add Sink() to the line; Close the server.
func New(line *pipeline.Line, o Options) (*Server, error) {
	if line == nil {
		return nil, errors.New("web: nil line")
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	allow, err := parseAllow(o.APIAllow)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	token, note, err := loadToken(o)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if o.OpenSource != nil && token == "" {
		return nil, fmt.Errorf("web: the source API needs a token: set %s, or give a token file (made with a new token if missing)", EnvToken)
	}
	s := &Server{line: line, opts: o, token: token, exposed: !isLoopback(o.Addr), hosts: hostNames(o), allow: allow,
		reg: prometheus.NewRegistry(), done: make(chan struct{}), served: make(chan error, 1), started: time.Now()}
	if note != "" {
		s.notes = append(s.notes, note)
	}
	if s.exposed && token == "" {
		s.notes = append(s.notes, fmt.Sprintf("warning: http: %s can be reached from other machines and has no token: anyone who reaches it can watch every stream (set %s or --http-token-file, or bind to 127.0.0.1)", o.Addr, EnvToken))
	}
	s.sink = newSink(o)
	s.obs = newObserver(s.sink)
	s.sink.mu.Lock()
	s.sink.onEnd = s.obs.end
	s.sink.mu.Unlock()
	if err := s.obs.attach(line); err != nil {
		_ = s.sink.Close()
		return nil, err
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&lineCollector{line: line, obs: s.obs, sink: s.sink},
		s.obs.stage, s.obs.latency,
	}
	for _, c := range append(cs, o.Collectors...) {
		if err := s.reg.Register(c); err != nil {
			_ = s.sink.Close()
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.HandleFunc("GET /stream/{id}", s.handleStream)
	mux.HandleFunc("GET /api/sources", s.handleListSources)
	mux.HandleFunc("POST /api/sources", s.handleAddSource)
	mux.HandleFunc("DELETE /api/sources/{id}", s.handleRemoveSource)
	mux.HandleFunc("GET /{$}", s.handleIndex)
	if o.Pprof {
		// Go's profiler, for memory that grows over days: asked for, and
		// for this machine only, whatever the address (it shows the heap,
		// and a CPU profile costs the line).
		for path, h := range map[string]http.HandlerFunc{"GET /debug/pprof/": pprof.Index, "GET /debug/pprof/profile": pprof.Profile, "GET /debug/pprof/trace": pprof.Trace} {
			mux.HandleFunc(path, loopbackOnly(h))
		}
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		_ = s.sink.Close()
		return nil, fmt.Errorf("web: listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.hostGuard(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Notes are what the operator should read when the server starts: a
// warning about an address reachable from other machines without a token,
// a token file just made. `conveyor run` prints them.
func (s *Server) Notes() []string { return s.notes }

// loopbackOnly answers 404 to clients on other machines.
func loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}
}

// Addr is the address the server listens on, with the port it got.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the page's address: http://Addr()/.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Sink is the line's sink for the live streams: add it with line.AddSink,
// last, so that it shows what the other stages drew. The line closes it.
func (s *Server) Sink() *Sink { return s.sink }

// Register adds a collector to the /metrics registry (mq's publisher
// counters, inference batch sizes). Safe at any time.
func (s *Server) Register(c prometheus.Collector) error {
	if err := s.reg.Register(c); err != nil {
		return fmt.Errorf("web: register metrics: %w", err)
	}
	return nil
}

// Close ends every stream, shuts the server down gracefully within
// Options.ShutdownTimeout (then closes the remaining connections) and
// closes the sink. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("web: shutdown: %w", err), s.srv.Close())
		}
		if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("web: serve: %w", serr))
		}
		s.closeErr = errors.Join(err, s.sink.Close())
	})
	return s.closeErr
}

// Health is /healthz's body.
type Health struct {
	// Status is "ok" or "unhealthy"; Reason says why when unhealthy.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Idle is true when a line that waits for sources (the source API) has
	// none running: healthy, with nothing to do.
	Idle bool `json:"idle,omitempty"`
	// LastFrameAge is the seconds since a frame last left the line; -1
	// before the first.
	LastFrameAge float64 `json:"last_frame_age_s"`
	// Frames left the line so far.
	Frames int64 `json:"frames"`
	// Stale is the age past which the line counts as stuck, in seconds.
	Stale float64 `json:"stale_s"`
}

// Health reports whether the line works: healthy means the sink is open
// (the line has not ended), every Check passes, and a frame left the line
// less than Options.Stale ago. A line that waits for sources
// (Line.KeepAlive: the source API) is healthy with no source running
// (Idle: idle is not sick), and a source the API just attached has Stale
// to send its first frame.
func (s *Server) Health() Health {
	h := Health{Status: "ok", LastFrameAge: -1, Stale: s.opts.Stale.Seconds(), Frames: s.obs.frames.Load()}
	last := s.obs.lastFrame.Load()
	if last != 0 {
		h.LastFrameAge = time.Since(time.Unix(0, last)).Seconds()
	}
	unhealthy := func(format string, args ...any) Health {
		h.Status, h.Reason = "unhealthy", fmt.Sprintf(format, args...)
		return h
	}
	if s.sink.isClosed() {
		return unhealthy("the line has stopped")
	}
	for _, c := range s.opts.Checks {
		if err := c.Func(); err != nil {
			return unhealthy("%s: %v", c.Name, err)
		}
	}
	// Since when frames should flow: the first frame, the start, or (a
	// line that waits for sources) the API's last attach.
	since := s.started
	if s.line.KeepAlive {
		running := 0
		for _, st := range s.line.Sources() {
			if st.State == meta.SourceRunning {
				running++
			}
		}
		if running == 0 {
			h.Idle = true
			return h
		}
		s.addMu.Lock()
		if s.lastAttach.After(since) {
			since = s.lastAttach
		}
		s.addMu.Unlock()
		if last != 0 && time.Unix(0, last).After(since) {
			since = time.Unix(0, last)
		}
		if wait := time.Since(since); wait > s.opts.Stale {
			if last == 0 {
				return unhealthy("no frame has left the line yet")
			}
			return unhealthy("no frame for %.1f s (more than %s)", wait.Seconds(), s.opts.Stale)
		}
		return h
	}
	switch {
	case last == 0:
		return unhealthy("no frame has left the line yet")
	case h.LastFrameAge > s.opts.Stale.Seconds():
		return unhealthy("no frame for %.1f s (more than %s)", h.LastFrameAge, s.opts.Stale)
	}
	return h
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	h := s.Health()
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// StatsReply is /stats's body: the line's figures for the page.
type StatsReply struct {
	Title  string         `json:"title"`
	Health Health         `json:"health"`
	Line   pipeline.Stats `json:"line"`
	// Sources lists every source the line has had, by id, ended ones
	// included (with their state and final counts).
	Sources []SourceStats `json:"sources"`
	Stream  StreamStats   `json:"stream"`
	Uptime  float64       `json:"uptime_s"`
	// API is true when the source API may add and remove sources.
	API bool `json:"api"`
	// Token is true when the server has a token: the API needs it, and
	// StreamToken says whether the streams do too (an address other
	// machines reach). The page asks for it then.
	Token       bool `json:"token"`
	StreamToken bool `json:"stream_token"`
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	rep := StatsReply{Title: s.opts.Title, Health: s.Health(), Sources: s.sourceStats(), Stream: s.sink.Stats(),
		Uptime: time.Since(s.started).Seconds(), API: s.opts.OpenSource != nil, Token: s.token != "", StreamToken: s.streamToken()}
	if s.obs.running() {
		rep.Line = s.line.Stats()
	}
	if rep.Line.Stages == nil {
		rep.Line.Stages = []pipeline.StageStats{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rep)
}

// sourceStats joins the line's list of sources (state, counts at the
// source) with the observer's figures (frames out of the line, rate).
func (s *Server) sourceStats() []SourceStats {
	meters := map[int]SourceStats{}
	for _, m := range s.obs.sources() {
		meters[m.ID] = m
	}
	statuses := s.line.Sources()
	out := make([]SourceStats, 0, len(statuses)+len(meters))
	for _, st := range statuses {
		st = redactStatus(st)
		ss := SourceStats{ID: st.ID, Name: st.Name, State: st.State, Error: st.Err, Live: st.Live, Dropped: st.Dropped}
		if m, ok := meters[st.ID]; ok {
			ss.Frames, ss.FPS = m.Frames, m.FPS
			delete(meters, st.ID)
		} else if n, ok := s.obs.finalCount(st.ID); ok {
			ss.Frames = n
		}
		out = append(out, ss)
	}
	for _, m := range meters { // frames of a source the line does not list (a sink used alone)
		out = append(out, m)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

func (s *Server) handleIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(indexHTML)
}

// hasSource says whether the line has (or still remembers) source id.
func (s *Server) hasSource(id int) bool {
	for _, st := range s.line.Sources() {
		if st.ID == id {
			return true
		}
	}
	return false
}

// handleStream serves one MJPEG stream: multipart/x-mixed-replace, one
// JPEG part per encoded frame, until the viewer leaves, the server or sink
// closes, or the source ends (then the stream ends with its closing
// boundary). The stream of a source that has ended is 410 Gone.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	if s.streamToken() && !s.authorize(w, r, true) {
		return
	}
	id := tiledID
	if p := r.PathValue("id"); p != "all" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			http.Error(w, "stream must be a source id (0, 1, ...) or all", http.StatusNotFound)
			return
		}
		// Only a source the line has (or remembers) can be watched, so
		// that a client cannot make feeds without end. Whether it has
		// ended is the sink's to say: its last frames may still be on
		// their way.
		if !s.hasSource(n) {
			http.Error(w, fmt.Sprintf("no source %d", n), http.StatusNotFound)
			return
		}
		id = n
	}
	v, latest, err := s.sink.subscribe(id, s.opts.MaxViewers)
	if errors.Is(err, errSourceEnded) {
		http.Error(w, err.Error(), http.StatusGone)
		return
	}
	if errors.Is(err, errTooManyViewers) {
		w.Header().Set("Retry-After", "10")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.sink.unsubscribe(v)
	h := w.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(jpeg []byte) error {
		// A viewer that stops reading is cut off, not waited for.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(jpeg)); err != nil {
			return err
		}
		if _, err := w.Write(jpeg); err != nil {
			return err
		}
		if _, err := w.Write([]byte("\r\n")); err != nil {
			return err
		}
		return rc.Flush()
	}
	if latest != nil && send(latest) != nil {
		return
	}
	_ = rc.Flush()
	for {
		select {
		case jpeg := <-v.ch:
			if send(jpeg) != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-s.sink.done:
			return
		case <-v.fd.gone:
			select { // the source's last picture first
			case jpeg := <-v.ch:
				if send(jpeg) != nil {
					return
				}
			default:
			}
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, "--%s--\r\n", boundary); err == nil {
				_ = rc.Flush()
			}
			return
		}
	}
}

const boundary = "conveyorframe"

// streamToken says whether the live streams need the token: the server has
// one and other machines can reach it.
func (s *Server) streamToken() bool { return s.exposed && s.token != "" }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
