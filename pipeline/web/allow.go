package web

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DefaultAPIAllow is what POST /api/sources may open when
// Options.APIAllow is empty: RTSP cameras anywhere, nothing else.
var DefaultAPIAllow = []string{"rtsp://*", "rtsps://*"}

// allowList is Options.APIAllow, parsed: what the source API may open.
//
// An entry is one of:
//
//	rtsp://HOST[:PORT]    streams from HOST (also rtsps, http, https);
//	                      HOST is a name, an address, *.domain or *
//	gst://  v4l2://  …    every URI of that scheme ("rtsp://" alone is
//	                      every host)
//	/srv/clips/           files and image folders under that folder
//
// Anything else is refused, before the URI is opened and without looking
// at the disk, so the answer is the same whether or not the thing exists: a
// local path outside the folders (or one that climbs with ".."), a scheme
// or host not listed. A path is judged by its name: symlinks inside an
// allowed folder are the operator's, and are followed; do not allow a
// folder other users can write. gst:// is never allowed by default: a
// GStreamer pipeline can read and write any file (filesrc, filesink).
// http:// is not either: FFmpeg follows redirects and playlists, to other
// hosts and to local files.
type allowList struct {
	schemes map[string]bool          // every URI of the scheme
	hosts   map[string][]hostPattern // by scheme: rtsp, rtsps, http, https
	folders []folder
}

// folder is an allowed folder, as written (cleaned) and with its symlinks
// resolved: a path under either name is allowed.
type folder struct{ named, real string }

// hostPattern is HOST[:PORT]: an exact name, "*.suffix" or "*".
type hostPattern struct {
	host string // lower case; "*" any; "*.x.y" any under x.y
	port string // "" any
}

var (
	uriScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// hostSchemes are those whose entries name hosts.
	hostSchemes = map[string]bool{"rtsp": true, "rtsps": true, "http": true, "https": true}
)

// parseAllow reads the entries (DefaultAPIAllow when there are none). A
// folder must exist.
func parseAllow(entries []string) (allowList, error) {
	if len(entries) == 0 {
		entries = DefaultAPIAllow
	}
	a := allowList{schemes: map[string]bool{}, hosts: map[string][]hostPattern{}}
	var errs []error
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if m := uriScheme.FindStringSubmatch(e); m != nil {
			scheme, rest := strings.ToLower(m[1]), strings.TrimSuffix(e[len(m[0]):], "/")
			if rest == "" {
				a.schemes[scheme] = true
				continue
			}
			if !hostSchemes[scheme] {
				errs = append(errs, fmt.Errorf("api-allow: %q: a %s:// entry allows the whole scheme: write %s://", e, scheme, scheme))
				continue
			}
			p, err := parseHostPattern(rest)
			if err != nil {
				errs = append(errs, fmt.Errorf("api-allow: %q: %w", e, err))
				continue
			}
			a.hosts[scheme] = append(a.hosts[scheme], p)
			continue
		}
		if !filepath.IsAbs(e) {
			errs = append(errs, fmt.Errorf("api-allow: %q: want scheme://host, scheme:// or an absolute folder such as /srv/clips/", e))
			continue
		}
		named := filepath.Clean(e)
		dir, err := filepath.EvalSymlinks(named)
		if err == nil {
			var st os.FileInfo
			if st, err = os.Stat(dir); err == nil && !st.IsDir() {
				err = errors.New("not a folder")
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("api-allow: folder %s: %w", e, unwrapPath(err)))
			continue
		}
		a.folders = append(a.folders, folder{named: named, real: dir})
	}
	return a, errors.Join(errs...)
}

func parseHostPattern(s string) (hostPattern, error) {
	if strings.ContainsAny(s, "/?#@") {
		return hostPattern{}, errors.New("want a host and at most a port, no user, path or query")
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return hostPattern{}, fmt.Errorf("port %q: want 1 to 65535", p)
		}
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" || (strings.Contains(host, "*") && host != "*" && (!strings.HasPrefix(host, "*.") || strings.Count(host, "*") > 1)) {
		return hostPattern{}, errors.New("want a host name, an address, *.domain or *")
	}
	return hostPattern{host: host, port: port}, nil
}

func (p hostPattern) matches(host, port string) bool {
	if p.port != "" && p.port != port {
		return false
	}
	switch {
	case p.host == "*":
		return true
	case strings.HasPrefix(p.host, "*."):
		return strings.HasSuffix(host, p.host[1:])
	}
	return host == p.host
}

// errNotAllowed is wrapped by every refusal.
var errNotAllowed = errors.New("not allowed")

// check says whether the source API may open uri; nil if it may. It never
// opens anything, and never looks at the disk for a path (only for a bare
// number, to tell a camera index from a file of that name, and both need
// an entry).
func (a allowList) check(uri string) error {
	for _, r := range uri {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: the URI holds control characters", errNotAllowed)
		}
	}
	m := uriScheme.FindStringSubmatch(uri)
	if m == nil { // a local path, or a camera's index ("0")
		if isDigits(uri) {
			if !a.schemes["v4l2"] {
				return fmt.Errorf("%w: the source API may not open cameras of this machine (allow them with --api-allow v4l2://)", errNotAllowed)
			}
			if _, err := os.Lstat(uri); err != nil {
				return nil // a camera index, not a file
			}
		}
		return a.checkPath(uri)
	}
	scheme, rest := strings.ToLower(m[1]), uri[len(m[0]):]
	switch {
	case scheme == "file":
		if a.schemes["file"] {
			return nil
		}
		u, err := url.Parse(uri)
		if err != nil || u.Path == "" {
			return fmt.Errorf("%w: not a file URI", errNotAllowed)
		}
		return a.checkPath(u.Path)
	case hostSchemes[scheme]:
		if a.schemes[scheme] {
			return nil
		}
		host, port := ffmpegHost(rest)
		for _, p := range a.hosts[scheme] {
			if host != "" && p.matches(host, port) {
				return nil
			}
		}
		return fmt.Errorf("%w: the source API may not open %s://%s (allow the host with --api-allow %s://HOST)", errNotAllowed, scheme, host, scheme)
	case !a.schemes[scheme]:
		why := ""
		if scheme == "gst" {
			why = "; a GStreamer pipeline can read and write any file"
		}
		return fmt.Errorf("%w: the source API may not open %s:// (allow it with --api-allow %s://%s)", errNotAllowed, scheme, scheme, why)
	case scheme == "v4l2": // a camera: an index or a /dev/video* device, nothing else
		dev := rest
		if i := strings.IndexAny(dev, "?#"); i >= 0 {
			dev = dev[:i]
		}
		if !isDigits(dev) && (!strings.HasPrefix(dev, "/dev/video") || hasDotDot(dev)) {
			return fmt.Errorf("%w: v4l2:// takes a camera index or /dev/videoN", errNotAllowed)
		}
	case scheme == "realsense": // realsense:///path/to/x.bag reads a file
		if u, err := url.Parse(uri); err != nil {
			return fmt.Errorf("%w: not a realsense URI", errNotAllowed)
		} else if u.Path != "" && u.Path != "/" {
			return a.checkPath(u.Path)
		}
	}
	return nil
}

// ffmpegHost finds the host and port FFmpeg will connect to for the part
// of a URI after "scheme://", the way FFmpeg's av_url_split reads it: the
// authority ends at the first "/", "?" or "#", and the host follows its
// last "@". (The check must agree with the opener, not with Go's URL
// parser: what FFmpeg dials is what counts.)
func ffmpegHost(rest string) (host, port string) {
	auth := rest
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		auth = auth[:i]
	}
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	host = auth
	if strings.HasPrefix(auth, "[") {
		if i := strings.IndexByte(auth, ']'); i >= 0 {
			host = auth[1:i]
			port = strings.TrimPrefix(auth[i+1:], ":")
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i+1:]
	}
	return strings.TrimSuffix(strings.ToLower(host), "."), port
}

// checkPath allows a local path (a file, a folder, a glob) whose name is
// under one of the folders, without looking at the disk. A glob is judged
// by the folder before its first wildcard.
func (a allowList) checkPath(p string) error {
	refused := fmt.Errorf("%w: the source API may not open local files here (allow a folder with --api-allow /folder/)", errNotAllowed)
	if len(a.folders) == 0 || hasDotDot(p) {
		return refused
	}
	if i := strings.IndexAny(p, "*?["); i >= 0 {
		p = filepath.Dir(p[:i] + "x")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return refused
	}
	if !a.under(abs) {
		return refused
	}
	return nil
}

// under says whether p is one of the folders or inside one.
func (a allowList) under(p string) bool {
	in := func(dir string) bool {
		return p == dir || dir == string(filepath.Separator) || strings.HasPrefix(p, dir+string(filepath.Separator))
	}
	for _, f := range a.folders {
		if in(f.real) || in(f.named) {
			return true
		}
	}
	return false
}

// hasDotDot says whether a path climbs with "..": refused outright, since
// the opener gets the path as written and a ".." after a symlink climbs
// from the link's target, not from where the name says.
func hasDotDot(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// unwrapPath keeps a path error's reason only.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such folder")
		}
		return pe.Err
	}
	return err
}
