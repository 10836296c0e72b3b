package camera

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cenkalti/backoff/v5"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// capture is a source read through OpenCV's VideoCapture: files, V4L2
// devices, network streams and GStreamer pipelines.
type capture struct {
	name   string // the URI as the user gave it (redacted)
	target string // what VideoCapture opens
	api    gocv.VideoCaptureAPI
	device int // V4L2 index, or -1
	setup  func(*gocv.VideoCapture)
	opts   Options
	file   bool // a finite file: repeat, truncation check, no reconnect
	// decoders are tried in order at each open until one opens the
	// source (files and network streams; nil: OpenCV as it is); the one
	// that worked is kept. dec is the one in use.
	decoders []Decoder
	dec      Decoder
	network  bool
	frames   int // a file's frame count, learned once

	cap     frameReader
	info    pipeline.SourceInfo
	pending *gocv.Mat // a frame read by open to validate the source

	number     int64
	pass       int
	passFrames int   // frames read in this pass
	readFrames int64 // over all passes
	passStart  time.Duration
	lastPTS    time.Duration
	start      time.Time
	reconnects int
	resumed    bool      // reopened after an outage: the next frame skips numbers
	lastAt     time.Time // when the last frame was read
	warnings   []string
}

func openFile(name, path string, opts Options) (pipeline.Source, error) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("source %s: %w", name, unwrapPathError(err))
	case st.IsDir():
		return nil, fmt.Errorf("source %s: is a folder with no images", name)
	case st.Size() == 0:
		return nil, fmt.Errorf("source %s: file is empty", name)
	}
	c := &capture{name: name, target: path, api: gocv.VideoCaptureFFmpeg, device: -1, opts: opts, file: true}
	if c.decoders, err = decoders(opts.Decoder); err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func openV4L2(name, rest string, opts Options) (pipeline.Source, error) {
	// v4l2:///dev/video0?width=…, v4l2://0, or a bare index.
	u, err := url.Parse("v4l2://" + strings.TrimPrefix(rest, "//"))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	target := u.Host + u.Path
	if target == "" {
		target = "0"
	}
	c := &capture{name: name, api: gocv.VideoCaptureV4L2, device: -1, opts: opts}
	var idx int
	if _, err := fmt.Sscanf(target, "%d", &idx); err == nil && fmt.Sprint(idx) == target {
		c.device = idx
		target = fmt.Sprintf("/dev/video%d", idx)
	}
	if _, err := os.Stat(target); err != nil {
		return nil, fmt.Errorf("source %s: no such camera %s (see `conveyor devices`)", name, target)
	}
	c.target = target
	q := u.Query()
	w, err1 := queryInt(q, "width", 0, 0, 16384)
	h, err2 := queryInt(q, "height", 0, 0, 16384)
	fps, err3 := queryInt(q, "fps", 0, 0, 1000)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	fourcc := q.Get("fourcc")
	if fourcc != "" && len(fourcc) != 4 {
		return nil, fmt.Errorf("source %s: fourcc=%q: want four characters such as MJPG or YUYV", name, fourcc)
	}
	c.setup = func(vc *gocv.VideoCapture) {
		if fourcc != "" {
			vc.Set(gocv.VideoCaptureFOURCC, vc.ToCodec(fourcc))
		}
		if w > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(w))
		}
		if h > 0 {
			vc.Set(gocv.VideoCaptureFrameHeight, float64(h))
		}
		if fps > 0 {
			vc.Set(gocv.VideoCaptureFPS, float64(fps))
		}
	}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

func openStream(uri string, opts Options) (pipeline.Source, error) {
	setFFmpegDefaults()
	c := &capture{name: meta.RedactURI(uri), target: uri, api: gocv.VideoCaptureFFmpeg, device: -1, opts: opts, network: true}
	var err error
	if c.decoders, err = decoders(opts.Decoder); err != nil {
		return nil, fmt.Errorf("source %s: %w", c.name, err)
	}
	if err := c.reconnect(context.Background(), "open"); err != nil {
		return nil, err
	}
	return c, nil
}

func openGStreamer(name, pipelineDesc string, opts Options) (pipeline.Source, error) {
	if strings.TrimSpace(pipelineDesc) == "" {
		return nil, fmt.Errorf("source %s: empty GStreamer pipeline", name)
	}
	if !strings.Contains(pipelineDesc, "appsink") {
		return nil, fmt.Errorf("source %s: a GStreamer capture string must end in appsink (e.g. `nvarguscamerasrc ! video/x-raw(memory:NVMM),width=1280,height=720 ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink`)", name)
	}
	c := &capture{name: name, target: pipelineDesc, api: gocv.VideoCaptureGstreamer, device: -1, opts: opts}
	if err := c.open(); err != nil {
		return nil, err
	}
	return c, nil
}

// setFFmpegDefaults bounds how long FFmpeg waits on a dead network stream, so
// that a blocking open or read returns and reconnect can do its job. Users
// can override it with the same environment variable.
func setFFmpegDefaults() {
	const key = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
	if os.Getenv(key) == "" {
		// rtsp over TCP; socket I/O timeout 5 s (in µs).
		os.Setenv(key, "rtsp_transport;tcp|timeout;5000000")
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return pe.Err
	}
	return err
}

// open opens the capture and reads one frame to prove it works. With
// several decoders to try (auto), the first that opens the source and
// decodes its first frame is kept; a hardware decoder that fails is named
// in one log line.
func (c *capture) open() error {
	if len(c.decoders) == 0 {
		return c.openWith(DecoderSoftware)
	}
	var failed []string
	for i, d := range c.decoders {
		err := c.openWith(d)
		if err == nil {
			if len(failed) > 0 && c.opts.Logf != nil {
				c.opts.Logf("source %s: decoder %s (%s)", c.name, d, strings.Join(failed, "; "))
			}
			c.decoders, c.dec = []Decoder{d}, d
			return nil
		}
		if i == len(c.decoders)-1 {
			return err
		}
		// A hardware decoder that fails for auto is not tried again in
		// this process (a driver without its device fails every source
		// alike), and is reported once.
		reason := errors.Unwrap(err)
		if reason == nil {
			reason = err
		}
		decProbes.Set(d, fmt.Errorf("failed on %s: %v", c.name, reason))
		failed = append(failed, fmt.Sprintf("%s failed: %v", d, reason))
	}
	return nil
}

// openReader opens what frames are read from with decoder d.
func (c *capture) openReader(d Decoder) (frameReader, error) {
	switch d {
	case DecoderNVV4L2:
		vc, err := gocv.VideoCaptureFileWithAPI(gstPipeline(c.target, c.network), gocv.VideoCaptureGstreamer)
		if err != nil || !vc.IsOpened() {
			if vc != nil {
				vc.Close()
			}
			return nil, errors.New("GStreamer could not open it")
		}
		return vc, nil
	case DecoderCUDA, DecoderVAAPI:
		return openPipe(pipeArgs(c.target, d, c.network, c.opts.Realtime && c.file))
	}
	var vc *gocv.VideoCapture
	var err error
	if c.device >= 0 {
		vc, err = gocv.VideoCaptureDeviceWithAPI(c.device, c.api)
	} else {
		vc, err = gocv.VideoCaptureFileWithAPI(c.target, c.api)
	}
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		if c.file {
			return nil, errors.New("cannot open as a video (not a video file, or a codec OpenCV lacks)")
		}
		return nil, errors.New("cannot open")
	}
	if c.setup != nil {
		c.setup(vc)
	}
	return vc, nil
}

// openWith opens the source with decoder d and reads its first frame.
func (c *capture) openWith(d Decoder) error {
	vc, err := c.openReader(d)
	if err != nil {
		return fmt.Errorf("source %s: %w", c.name, err)
	}
	m := gocv.NewMat()
	if !c.readFirst(vc, &m) || m.Empty() {
		m.Close()
		why := "opened, but no frame could be decoded"
		if p, ok := vc.(*pipeReader); ok && p.err != nil {
			why += ": " + p.err.Error()
		}
		vc.Close()
		return fmt.Errorf("source %s: %s", c.name, why)
	}
	c.cap, c.dec = vc, d
	c.pending = &m
	c.info = pipeline.SourceInfo{
		Name:   c.name,
		Live:   !c.file,
		FPS:    vc.Get(gocv.VideoCaptureFPS),
		Width:  m.Cols(),
		Height: m.Rows(),
		Frames: -1,
	}
	if c.file {
		if c.frames == 0 {
			c.frames = c.countFrames(vc)
		}
		if c.frames > 0 {
			c.info.Frames = c.frames * max(1, c.opts.Repeat)
		}
	}
	if c.opts.Live != nil {
		c.info.Live = *c.opts.Live
	}
	if c.info.FPS <= 0 || c.info.FPS > 1000 {
		c.info.FPS = 0
	}
	return nil
}

// countFrames is a file's frame count from its container, -1 if unknown.
// A hardware decoder does not say: OpenCV's FFmpeg reads the container's
// index then (no frame is decoded).
func (c *capture) countFrames(vc frameReader) int {
	if c.dec == DecoderSoftware {
		if n := int(vc.Get(gocv.VideoCaptureFrameCount)); n > 0 {
			return n
		}
		return -1
	}
	meta, err := gocv.VideoCaptureFileWithAPI(c.target, gocv.VideoCaptureFFmpeg)
	if err != nil {
		return -1
	}
	defer meta.Close()
	if n := int(meta.Get(gocv.VideoCaptureFrameCount)); n > 0 {
		return n
	}
	return -1
}

// Decoder says which decoder reads the source (software for cameras and
// GStreamer capture strings).
func (c *capture) Decoder() Decoder { return c.dec }

// reconnect (re)opens a live stream with back-off: the first attempt at
// once, then waits that double from Options.Backoff up to MaxBackoff.
func (c *capture) reconnect(ctx context.Context, why string) error {
	b := &backoff.ExponentialBackOff{
		InitialInterval: cmp.Or(c.opts.Backoff, 500*time.Millisecond),
		MaxInterval:     cmp.Or(c.opts.MaxBackoff, 10*time.Second),
		Multiplier:      2,
	}
	opts := []backoff.RetryOption{backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0)}
	if n := c.opts.Reconnect; n >= 0 {
		opts = append(opts, backoff.WithMaxTries(uint(n)+1))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, c.open() }, opts...)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%w: gave up after %d attempts to %s (use --reconnect -1 to retry forever)", err, c.opts.Reconnect+1, why)
}

func (c *capture) Info() pipeline.SourceInfo { return c.info }

func (c *capture) Read(ctx context.Context) (*pipeline.Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.cap == nil {
			if c.file {
				return nil, pipeline.ErrEndOfStream
			}
			if err := c.reconnect(ctx, "reconnect"); err != nil {
				return nil, err
			}
			c.reconnects++
			c.resumed = true
		}
		var m gocv.Mat
		if c.pending != nil {
			m, c.pending = *c.pending, nil
		} else {
			m = gocv.NewMat()
			if !c.cap.Read(&m) || m.Empty() {
				m.Close()
				if err := c.endOfPass(); err != nil {
					return nil, err
				}
				continue
			}
		}
		now := time.Now()
		if c.start.IsZero() {
			c.start = now
		}
		pts := c.pts()
		if c.opts.Realtime && c.file {
			due := c.start.Add(pts)
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					m.Close()
					return nil, ctx.Err()
				}
			}
			now = time.Now()
		}
		if c.resumed {
			c.resumed = false
			c.number += c.missed(now)
		}
		c.lastAt = now
		f := &pipeline.Frame{Number: c.number, PTS: pts, Captured: now, Image: m}
		c.number++
		c.passFrames++
		c.readFrames++
		return f, nil
	}
}

// missed estimates how many frames a live camera made, at its nominal frame
// rate, between the last frame before an outage and the first one after it
// (read at now). They are numbered as missing, so that a gap in frame numbers
// says how long the outage lasted, as it does for dropped frames, and a
// tracker sees the time that passed. 0 when the frame rate is unknown.
func (c *capture) missed(now time.Time) int64 {
	if c.info.FPS <= 0 || c.lastAt.IsZero() {
		return 0
	}
	return max(int64(now.Sub(c.lastAt).Seconds()*c.info.FPS)-1, 0)
}

// pts is the stream's timestamp for the frame just read, kept increasing
// across repeats.
func (c *capture) pts() time.Duration {
	var p time.Duration
	// OpenCV's GStreamer backend warns on every position query: count.
	if ms := c.posMsec(); ms > 0 && c.file {
		p = c.passStart + time.Duration(ms*float64(time.Millisecond))
	} else if c.info.FPS > 0 && c.file {
		p = c.passStart + time.Duration(float64(c.passFrames)/c.info.FPS*float64(time.Second))
	} else {
		p = time.Since(c.start)
	}
	if p < c.lastPTS {
		p = c.lastPTS
	}
	c.lastPTS = p
	return p
}

func (c *capture) posMsec() float64 {
	if c.dec == DecoderNVV4L2 {
		return 0
	}
	return c.cap.Get(gocv.VideoCapturePosMsec)
}

// endOfPass handles a failed read: the end (or a truncation) of a file, or a
// dropped stream.
func (c *capture) endOfPass() error {
	c.cap.Close()
	c.cap = nil
	if !c.file {
		return nil // Read reconnects
	}
	if want := c.info.Frames / max(1, c.opts.Repeat); want > 0 && c.passFrames < want && c.pass == 0 {
		c.warnings = append(c.warnings, fmt.Sprintf("%s: read %d of %d frames: the file is truncated or damaged", c.name, c.passFrames, want))
	}
	c.pass++
	if c.pass >= max(1, c.opts.Repeat) || c.passFrames == 0 {
		return nil
	}
	c.passStart = c.lastPTS + c.frameInterval()
	c.passFrames = 0
	return c.open()
}

func (c *capture) frameInterval() time.Duration {
	if c.info.FPS > 0 {
		return time.Duration(float64(time.Second) / c.info.FPS)
	}
	return 0
}

// Warnings says what went wrong without stopping the line (a truncated file).
func (c *capture) Warnings() []string { return c.warnings }

// Reconnects counts how often a live stream was reopened.
func (c *capture) Reconnects() int { return c.reconnects }

func (c *capture) Close() error {
	if c.pending != nil {
		c.pending.Close()
		c.pending = nil
	}
	if c.cap != nil {
		err := c.cap.Close()
		c.cap = nil
		return err
	}
	return nil
}
