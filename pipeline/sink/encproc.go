package sink

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/hw"
	"gocv.io/x/gocv"
)

// procEncoder is a child process (ffmpeg, or gst-launch-1.0 on a Jetson)
// that encodes the raw I420 frames conveyor writes to its standard input
// into a file. The frames are converted from BGR here, with OpenCV (SIMD,
// half the bytes through the pipe of BGR).
//
// Why a process: its CPU time is its own and measured as such (bench), it
// reports a write error (a full disk) by exiting, which the next write sees
// at once as a broken pipe, and when conveyor dies, however it dies, the
// pipe's end of file makes it finish and index the file.
type procEncoder struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stderr *tail
	size   image.Point // of the frames written (even: 4:2:0)
	yuv    gocv.Mat
	padded gocv.Mat

	waitOnce sync.Once
	waitErr  error
	exited   chan struct{}
}

// closeTimeout bounds how long Close waits for the encoder to flush and
// exit once its input has ended.
var closeTimeout = 2 * time.Minute

// startProc starts argv[0] with args, its stdin a pipe for frames of size
// (even). The child inherits lock, the output's lock file, so that the
// output stays locked until the encoder has finished with it, even if
// conveyor dies first.
func startProc(argv []string, size image.Point, lock *os.File) (*procEncoder, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if lock != nil {
		cmd.ExtraFiles = []*os.File{lock}
	}
	// Its own process group: the terminal's Ctrl-C reaches conveyor, which
	// drains the line and then ends the encoder's input; a second Ctrl-C
	// kills conveyor alone, and the encoder still finalizes the file. No
	// Pdeathsig, for the same reason.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = r
	t := &tail{}
	cmd.Stderr, cmd.Stdout = t, t
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	r.Close()
	p := &procEncoder{cmd: cmd, stdin: w, stderr: t, size: size, yuv: gocv.NewMat(), padded: gocv.NewMat(), exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Write converts img (BGR, of the encoder's size or one pixel less on an
// odd side) to I420 and sends it.
func (p *procEncoder) Write(img gocv.Mat) error {
	if img.Cols() != p.size.X || img.Rows() != p.size.Y {
		gocv.CopyMakeBorder(img, &p.padded, 0, p.size.Y-img.Rows(), 0, p.size.X-img.Cols(), gocv.BorderReplicate, color.RGBA{})
		img = p.padded
	}
	gocv.CvtColor(img, &p.yuv, gocv.ColorBGRToYUVI420)
	data, err := p.yuv.DataPtrUint8()
	if err != nil {
		return err
	}
	if _, err := p.stdin.Write(data); err != nil {
		// The encoder is gone: say why it went.
		if werr := p.wait(5 * time.Second); werr != nil {
			return werr
		}
		return fmt.Errorf("encoder: %w", err)
	}
	return nil
}

// Close ends the encoder's input and waits for it to finish the file.
func (p *procEncoder) Close() error {
	if p.stdin == nil {
		return nil
	}
	p.stdin.Close()
	p.stdin = nil
	err := p.wait(closeTimeout)
	p.yuv.Close()
	p.padded.Close()
	return err
}

// Abort kills the encoder (a write failed elsewhere, or the output is
// abandoned); the file is left as the encoder left it.
func (p *procEncoder) Abort() {
	if p.stdin != nil {
		_ = p.cmd.Process.Kill()
		p.stdin.Close()
		p.stdin = nil
		<-p.exited
		p.yuv.Close()
		p.padded.Close()
	}
}

// wait waits up to d for the encoder to exit and returns its error, with
// the last thing it said.
func (p *procEncoder) wait(d time.Duration) error {
	select {
	case <-p.exited:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("encoder %s did not finish within %s: killed", p.cmd.Args[0], d)
	}
	if p.waitErr != nil {
		if msg := p.stderr.last(); msg != "" {
			return fmt.Errorf("encoder %s: %s", p.cmd.Args[0], msg)
		}
		return fmt.Errorf("encoder %s: %w", p.cmd.Args[0], p.waitErr)
	}
	return nil
}

// tail keeps the last few KiB a child writes, for its error message.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 8<<10 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4<<10:]...)
	}
	return len(b), nil
}

// last is what the child said last, in one line: its first error line
// (with -loglevel error, the cause; later lines are consequences such as
// "Error initializing output stream"), without ffmpeg's "[x @ 0x…] "
// prefix.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(string(t.buf), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			if _, rest, ok := strings.Cut(l, "] "); ok {
				l = rest
			}
		}
		if l != "" && !strings.HasPrefix(l, "Conversion failed") {
			return l
		}
	}
	return ""
}

// evenSize is the frame size the encoder gets: 4:2:0 needs even sides.
func evenSize(w, h int) image.Point { return image.Pt(w+w%2, h+h%2) }

// rate writes a frame rate as ffmpeg and GStreamer take it: "30/1",
// "30000/1001".
func rate(fps float64) string {
	if r := math.Round(fps); math.Abs(fps-r) < 1e-3 {
		return strconv.Itoa(int(r)) + "/1"
	}
	if n := math.Round(fps * 1001); math.Abs(fps*1001-n) < 0.5 && math.Mod(n, 1000) == 0 {
		return fmt.Sprintf("%d/1001", int(n))
	}
	return fmt.Sprintf("%d/1000", int(math.Round(fps*1000)))
}

// gop is the keyframe interval in frames.
func gop(o EncoderOptions, fps float64) int {
	return max(1, int(math.Round(o.Keyframe.Seconds()*fps)))
}

// defaultKbps is a bitrate for encoders that need one: about 0.1 bit per
// pixel, 4 Mbit/s for 1080p at 20 FPS.
func defaultKbps(size image.Point, fps float64) int {
	return max(200, int(float64(size.X*size.Y)*fps*0.1/1000))
}

// container is how an output is muxed while it is written.
type container int

const (
	mp4Fragmented container = iota // .mp4/.m4v: fragmented while written, standard when finalized
	movFragmented                  // .mov
	matroska                       // .mkv: crash-tolerant as it is
)

// ffmpegArgs is the ffmpeg command line that encodes raw I420 frames of
// size at fps from stdin into path.
func ffmpegArgs(e Encoder, o EncoderOptions, size image.Point, fps float64, c container, path string) []string {
	a := []string{"ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error"}
	if e == EncoderVAAPI {
		a = append(a, "-vaapi_device", hw.RenderNode())
	}
	a = append(a, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", fmt.Sprintf("%dx%d", size.X, size.Y),
		"-framerate", rate(fps), "-i", "pipe:0", "-an", "-c:v", e.ffmpegName())
	g := strconv.Itoa(gop(o, fps))
	kbps := func(k int) []string {
		s := strconv.Itoa(k) + "k"
		return []string{"-b:v", s, "-maxrate", s, "-bufsize", strconv.Itoa(2*k) + "k"}
	}
	switch e {
	case EncoderX264:
		a = append(a, "-preset", o.Preset.String())
		if o.Preset == Ultrafast {
			// ultrafast turns x264's deblocking filter off: smooth areas (a
			// blurred face) then show 8×8 blocks, high-frequency detail
			// that reads as a sharper face. On again, for about a sixth
			// more encoding time (docs/BENCHMARKS.md, "Encoding").
			a = append(a, "-deblock", "0:0")
		}
		if o.Tune != "" {
			a = append(a, "-tune", o.Tune)
		}
		if o.Bitrate > 0 {
			a = append(a, kbps(o.Bitrate)...)
		} else {
			a = append(a, "-crf", strconv.Itoa(o.CRF))
		}
		a = append(a, "-pix_fmt", "yuv420p")
	case EncoderNVENC:
		a = append(a, "-preset", fmt.Sprintf("p%d", []int{1, 2, 3, 3, 4, 4, 5, 6, 7}[o.Preset]))
		if o.Bitrate > 0 {
			a = append(a, kbps(o.Bitrate)...)
		} else {
			a = append(a, "-rc", "vbr", "-cq", strconv.Itoa(o.CRF), "-b:v", "0")
		}
	case EncoderVAAPI:
		a = append(a, "-vf", "format=nv12,hwupload")
		if o.Bitrate > 0 {
			a = append(a, kbps(o.Bitrate)...)
		} else {
			a = append(a, "-qp", strconv.Itoa(o.CRF))
		}
	case EncoderQSV:
		a = append(a, "-preset", presetNames[max(o.Preset, Veryfast)], "-pix_fmt", "nv12")
		if o.Bitrate > 0 {
			a = append(a, kbps(o.Bitrate)...)
		} else {
			a = append(a, "-global_quality", strconv.Itoa(o.CRF))
		}
	case EncoderV4L2M2M:
		a = append(a, "-pix_fmt", "yuv420p", "-b:v", strconv.Itoa(cmp0(o.Bitrate, defaultKbps(size, fps)))+"k")
	}
	a = append(a, "-g", g)
	if o.Threads > 0 {
		a = append(a, "-threads", strconv.Itoa(o.Threads))
	}
	switch c {
	case mp4Fragmented, movFragmented:
		// Each keyframe starts a fragment that is complete on disk once
		// written: a crash loses the fragment being written, not the file.
		f := "mp4"
		if c == movFragmented {
			f = "mov"
		}
		// flush_packets: each fragment goes to the disk when it is
		// complete, not when ffmpeg's 32 KiB buffer fills.
		a = append(a, "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-flush_packets", "1", "-f", f)
	case matroska:
		a = append(a, "-flush_packets", "1", "-f", "matroska")
	}
	return append(a, "-y", path)
}

func cmp0(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// jetsonEncoder is the GStreamer encoding part of the Jetson pipeline;
// tests swap it for x264enc, which machines without a Jetson have.
var jetsonEncoder = func(o EncoderOptions, size image.Point, fps float64) string {
	level := []int{1, 1, 1, 2, 2, 3, 4, 4, 4}[o.Preset] // UltraFast, Fast, Medium, Slow
	return fmt.Sprintf("nvvidconv ! video/x-raw(memory:NVMM),format=I420 ! nvv4l2h264enc bitrate=%d control-rate=1 preset-level=%d iframeinterval=%d idrinterval=%d insert-sps-pps=true",
		cmp0(o.Bitrate, defaultKbps(size, fps))*1000, level, gop(o, fps), gop(o, fps))
}

// gstArgs is the gst-launch-1.0 command line for the Jetson encoder.
func gstArgs(o EncoderOptions, size image.Point, fps float64, c container, path string) []string {
	frame := size.X * size.Y * 3 / 2
	mux := fmt.Sprintf("mp4mux fragment-duration=%d", max(100, o.Keyframe.Milliseconds()))
	if c == movFragmented {
		mux = fmt.Sprintf("qtmux fragment-duration=%d", max(100, o.Keyframe.Milliseconds()))
	}
	if c == matroska {
		mux = "matroskamux"
	}
	desc := fmt.Sprintf("fdsrc fd=0 blocksize=%d ! rawvideoparse width=%d height=%d format=i420 framerate=%s ! %s ! h264parse ! %s ! filesink location=%s",
		frame, size.X, size.Y, rate(fps), jetsonEncoder(o, size, fps), mux, gstQuote(path))
	return append([]string{"gst-launch-1.0", "-q"}, strings.Fields(desc)...)
}

// gstQuote makes a path one gst-launch token: gst-launch-1.0 splits its
// arguments itself, so a path with spaces needs quotes.
func gstQuote(p string) string {
	if !strings.ContainsAny(p, " \t\"'!") {
		return p
	}
	return `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
}

// probeFrames counts a file's video packets with ffprobe.
func probeFrames(path string) (int, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// remux rewrites a fragmented MP4 (as written) into a standard one with its
// index in front, at dst; the frames are copied, not encoded again.
func remux(src, dst, format string) error {
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-nostdin",
		"-i", src, "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", format, "-y", dst)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t := &tail{buf: out.Bytes()}
		if msg := t.last(); msg != "" {
			return errors.New(msg)
		}
		return err
	}
	return nil
}
