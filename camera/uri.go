package camera

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// Options tune how a source reads. The zero value is what `conveyor run`
// uses by default.
type Options struct {
	// Repeat plays a file (or image folder) this many times in a row; 0 and 1
	// mean once. Frame numbers and timestamps keep increasing across passes.
	Repeat int `yaml:"repeat" usage:"play file sources this many times"`
	// Realtime paces a file at its frame rate, as a camera would deliver it.
	Realtime bool `yaml:"realtime" usage:"pace file sources at their frame rate, like a camera"`
	// Live overrides the source's own idea of whether it is live, which sets
	// the default link policy (drop-oldest when live).
	Live *bool `yaml:"-"`
	// Reconnect is how many more times a live source tries to open a stream
	// that failed or dropped, per outage: 0 means no retry, -1 forever.
	// `conveyor run` uses DefaultReconnect.
	Reconnect int `yaml:"reconnect" usage:"reconnect attempts per outage for live streams (-1 = forever)"`
	// Backoff is the first wait between reconnect attempts; it doubles up to
	// MaxBackoff. Zero means 500 ms and 10 s.
	Backoff, MaxBackoff time.Duration `yaml:"-"`
	// MaxFrames stops every source after this many frames (0: all).
	MaxFrames int64 `yaml:"max-frames" usage:"stop after this many frames per source (0 = all)"`
	// Decoder decodes files and network streams (decode.go).
	Decoder Decoder `yaml:"decoder" usage:"video decoder for files and streams: auto (a hardware decoder when one works: Jetson's nvv4l2decoder, FFmpeg's cuda or vaapi; else software), software, nvv4l2decoder, cuda or vaapi"`
	// Logf, when set, gets the one line that says a hardware decoder failed
	// and which one a source uses instead.
	Logf func(format string, args ...any) `yaml:"-"`
}

// DefaultOptions is what `conveyor run` starts from.
func DefaultOptions() Options { return Options{Repeat: 1, Reconnect: DefaultReconnect} }

// Validate checks the options a user sets, naming each by its option key.
func (o Options) Validate() error {
	var errs []error
	if o.Repeat < 0 || o.Repeat > 1_000_000 {
		errs = append(errs, fmt.Errorf("repeat: %d is out of range: want 1 to 1000000", o.Repeat))
	}
	if o.Reconnect < -1 {
		errs = append(errs, fmt.Errorf("reconnect: %d: want -1 (forever) or more", o.Reconnect))
	}
	if o.MaxFrames < 0 {
		errs = append(errs, fmt.Errorf("max-frames: %d: want 0 (all) or more", o.MaxFrames))
	}
	if o.Decoder < 0 || int(o.Decoder) >= len(decoderNames) {
		errs = append(errs, fmt.Errorf("decoder: %v: unknown", o.Decoder))
	}
	return errors.Join(errs...)
}

// DefaultReconnect is how many reconnect attempts a live stream gets per
// outage unless Options.Reconnect says otherwise.
const DefaultReconnect = 3

// Opener opens a source for a URI of one scheme.
type Opener func(uri string, opts Options) (pipeline.Source, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Opener{}
)

// Register adds an opener for a URI scheme ("realsense"), replacing any
// earlier one.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[scheme] = open
}

// Schemes lists the URI schemes Open understands.
func Schemes() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := []string{"file", "v4l2", "rtsp", "rtsps", "http", "https", "gst", "pattern"}
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*)://`)

// Open opens the source a URI names:
//
//	clip.mp4, file:///abs/clip.mp4      a video file (or anything FFmpeg reads)
//	v4l2:///dev/video0, v4l2://0, 0     a V4L2/USB camera (?width=&height=&fps=&fourcc=MJPG);
//	                                    a bare number is a camera only if no such file exists
//	rtsp://user:pass@host/stream        an RTSP stream, reconnecting with back-off
//	gst://nvarguscamerasrc ! … ! appsink a GStreamer capture string (CSI cameras on Jetson)
//	photo.jpg, dir/, dir/*.jpg          an image, an image folder or glob (name order)
//	pattern://?width=640&height=480&fps=30&frames=300   a synthetic test pattern
//
// and any scheme added with Register (realsense://).
func Open(uri string, opts Options) (pipeline.Source, error) {
	src, err := open(uri, opts)
	if err != nil || opts.MaxFrames <= 0 {
		return src, err
	}
	return pipeline.Limit(src, opts.MaxFrames), nil
}

func open(uri string, opts Options) (pipeline.Source, error) {
	if uri == "" {
		return nil, errors.New("empty source")
	}
	m := schemeRE.FindStringSubmatch(uri)
	if m == nil {
		// No scheme: a path, a device index or an image glob. What exists
		// is what it is: a file named "2024" or "clip [1].mp4" is that
		// file, not camera 2024 or a glob.
		return openPath(uri, uri, opts)
	}
	scheme := strings.ToLower(m[1])
	rest := uri[len(m[0]):]
	switch scheme {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", uri, err)
		}
		return openPath(uri, u.Path, opts)
	case "v4l2":
		return openV4L2(uri, rest, opts)
	case "rtsp", "rtsps", "http", "https":
		return openStream(uri, opts)
	case "gst":
		return openGStreamer(uri, rest, opts)
	case "pattern":
		return openPattern(uri)
	}
	registryMu.Lock()
	open := registry[scheme]
	registryMu.Unlock()
	if open == nil {
		return nil, fmt.Errorf("source %s: unknown scheme %q (known: %s)", uri, scheme, strings.Join(Schemes(), ", "))
	}
	return open(uri, opts)
}

// openPath opens a local path (name is what the user wrote): an existing
// folder is an image folder, an existing image file a single image (read
// with OpenCV's image reader, as in a folder), any other existing file a
// video; a path that does not exist is a V4L2 device index when it is a
// number, an image glob when it has glob characters (* ? [), and otherwise
// a missing file.
func openPath(name, path string, opts Options) (pipeline.Source, error) {
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return openImages(path, opts)
		case isImage(path):
			return openImage(name, path, opts)
		}
		return openFile(name, path, opts)
	}
	if _, err := strconv.Atoi(path); err == nil && name == path {
		return openV4L2(name, path, opts)
	}
	if strings.ContainsAny(path, "*?[") {
		return openImages(path, opts)
	}
	return openFile(name, path, opts)
}

// queryInt reads an integer query parameter, with a clear error naming it.
func queryInt(q url.Values, name string, def, min, max int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min || v > max {
		return 0, fmt.Errorf("%s=%q: want an integer from %d to %d", name, s, min, max)
	}
	return v, nil
}

func queryBool(q url.Values, name string, def bool) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, s)
	}
	return v, nil
}
