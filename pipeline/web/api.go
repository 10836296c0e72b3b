package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// The source API: DeepStream's runtime source add/delete over HTTP.
//
//	GET    /api/sources       200, every source the line has had ([]pipeline.SourceStatus)
//	POST   /api/sources       {"uri": "..."}: open and attach; 201 with its SourceStatus
//	DELETE /api/sources/{id}  detach; 202 {"id": N}
//
// POST and DELETE need Options.OpenSource (403 without it) and the token
// (401 without it: auth.go). POST opens only what Options.APIAllow allows
// (403 otherwise, the same answer whether a path exists or not: allow.go),
// and no more than Options.MaxSources running sources (409). Errors are
// JSON: {"error": "..."}. Source names and errors are redacted
// (meta.RedactURI: no passwords).
//
// Cross-site requests: a page on another site can make a browser send a
// form (POST, Content-Type application/x-www-form-urlencoded, multipart/
// form-data or text/plain) to this server without asking; anything else,
// a JSON body or a DELETE, needs a CORS preflight, which this server never
// grants. So POST takes application/json only (415 otherwise): that makes a
// cross-site form post impossible. A request whose Origin header names
// another host than the one it was sent to is refused too (403), as a second
// line of defence.

// maxAPIBody bounds a POST body.
const maxAPIBody = 4 << 10

// AddSourceRequest is POST /api/sources's body.
type AddSourceRequest struct {
	// URI is what --source takes: a file, rtsp://, v4l2://, pattern://...
	URI string `json:"uri"`
}

// RemoveSourceReply is DELETE /api/sources/{id}'s body.
type RemoveSourceReply struct {
	ID int `json:"id"`
}

// apiError is every error's body.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...)})
}

// redactStatus hides passwords in a source's name, and in its error.
func redactStatus(st pipeline.SourceStatus) pipeline.SourceStatus {
	red := meta.RedactURI(st.Name)
	if red != st.Name && st.Name != "" {
		st.Err = strings.ReplaceAll(st.Err, st.Name, red)
	}
	st.Name = red
	return st
}

func (s *Server) statuses() []pipeline.SourceStatus {
	sts := s.line.Sources()
	out := make([]pipeline.SourceStatus, len(sts)) // [] rather than null
	for i, st := range sts {
		out[i] = redactStatus(st)
	}
	return out
}

func (s *Server) handleListSources(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.statuses())
}

// apiAllowed answers the request (and returns false) when the API is off,
// the request comes from another site's page, or it lacks the token.
func (s *Server) apiAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.OpenSource == nil {
		writeError(w, http.StatusForbidden, "the source API is off: start conveyor with --api to add and remove sources")
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, "cross-origin request refused (origin %q)", o)
			return false
		}
	}
	return s.authorize(w, r, false)
}

// reserve counts a POST against MaxSources while it opens its source; the
// returned func gives the place back (attached: the line counts it from
// then on).
func (s *Server) reserve() (release func(attached bool), err error) {
	running := 0
	for _, st := range s.line.Sources() {
		if st.State == meta.SourceRunning {
			running++
		}
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	if running+s.pending >= s.opts.MaxSources {
		return nil, fmt.Errorf("%d sources are running or opening, the most --api-max-sources allows: remove one first", running+s.pending)
	}
	s.pending++
	return func(attached bool) {
		s.addMu.Lock()
		defer s.addMu.Unlock()
		s.pending--
		if attached {
			s.lastAttach = time.Now()
		}
	}, nil
}

func (s *Server) handleAddSource(w http.ResponseWriter, r *http.Request) {
	if !s.apiAllowed(w, r) {
		return
	}
	// Only JSON: see the comment at the top of this file.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, `the body must be JSON (Content-Type: application/json): {"uri": "..."}`)
		return
	}
	var req AddSourceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxAPIBody)
			return
		}
		writeError(w, http.StatusBadRequest, `bad JSON body (want {"uri": "..."}): %v`, err)
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, `bad JSON body: one object only (want {"uri": "..."})`)
		return
	}
	req.URI = strings.TrimSpace(req.URI)
	if req.URI == "" {
		writeError(w, http.StatusBadRequest, `missing "uri"`)
		return
	}
	red := meta.RedactURI(req.URI)
	// hide replaces the URI in an error's text by its redacted form, and
	// redacts any other URI in it.
	hide := func(err error) string { return meta.RedactURI(strings.ReplaceAll(err.Error(), req.URI, red)) }
	if err := s.allow.check(req.URI); err != nil {
		writeError(w, http.StatusForbidden, "open %s: %s", red, hide(err))
		return
	}
	release, err := s.reserve()
	if err != nil {
		writeError(w, http.StatusConflict, "open %s: %s", red, err)
		return
	}
	attached := false
	defer func() { release(attached) }()
	src, opts, err := s.opts.OpenSource(r.Context(), req.URI)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "open %s: %s", red, hide(err))
		return
	}
	info := src.Info() // before Attach: from then on the line owns src
	id, err := s.line.Attach(src, opts)
	attached = err == nil
	if err != nil {
		cerr := src.Close() // not kept by the line: still ours
		code := http.StatusInternalServerError
		if errors.Is(err, pipeline.ErrLineStopped) {
			code = http.StatusConflict
		}
		writeError(w, code, "attach %s: %s", red, hide(errors.Join(err, cerr)))
		return
	}
	st := pipeline.SourceStatus{ID: id, Name: meta.RedactURI(info.Name), Live: info.Live, FPS: info.FPS, State: meta.SourceRunning}
	for _, got := range s.line.Sources() {
		if got.ID == id {
			st = got
		}
	}
	w.Header().Set("Location", fmt.Sprintf("/api/sources/%d", id))
	writeJSON(w, http.StatusCreated, redactStatus(st))
}

func (s *Server) handleRemoveSource(w http.ResponseWriter, r *http.Request) {
	if !s.apiAllowed(w, r) {
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 0 {
		writeError(w, http.StatusBadRequest, "source id must be a number (0, 1, ...), not %q", r.PathValue("id"))
		return
	}
	if err := s.line.Detach(id); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, pipeline.ErrNoSource) {
			code = http.StatusNotFound
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusAccepted, RemoveSourceReply{ID: id})
}
