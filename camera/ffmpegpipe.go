package camera

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/conveyor-vision/conveyor/pipeline/hw"
	"gocv.io/x/gocv"
)

// frameReader is what a capture reads frames from: OpenCV's VideoCapture
// (FFmpeg or GStreamer inside OpenCV), or an ffmpeg process (pipeReader).
type frameReader interface {
	Read(m *gocv.Mat) bool
	Get(p gocv.VideoCaptureProperties) float64
	Close() error
}

// pipeReader decodes a file or stream in an ffmpeg process with one of
// FFmpeg's hardware decoders and reads its frames: raw I420 in a
// YUV4MPEG2 stream (the header carries the size and rate; half the bytes
// of BGR), converted to BGR here with OpenCV.
type pipeReader struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr *lastLines
	w, h   int
	fps    float64
	frames int64
	yuv    gocv.Mat
	hasYUV bool
	err    error // what ended the stream
}

// hwaccelArgs are ffmpeg's input options for a hardware decoder; tests
// swap it for FFmpeg's software decoding, which this machine has.
var hwaccelArgs = func(d Decoder) []string {
	switch d {
	case DecoderCUDA:
		return []string{"-hwaccel", "cuda"}
	case DecoderVAAPI:
		return []string{"-hwaccel", "vaapi", "-hwaccel_device", hw.RenderNode()}
	}
	return nil
}

// pipeArgs is the ffmpeg command line that decodes target with d.
func pipeArgs(target string, d Decoder, network, realtime bool) []string {
	a := []string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"}
	a = append(a, hwaccelArgs(d)...)
	if network && strings.HasPrefix(strings.ToLower(target), "rtsp") {
		a = append(a, "-rtsp_transport", "tcp", "-timeout", "5000000")
	}
	if realtime {
		a = append(a, "-re")
	}
	return append(a, "-i", target, "-map", "0:v:0", "-an", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "pipe:1")
}

// openPipe starts ffmpeg and reads the stream's header.
func openPipe(argv []string) (*pipeReader, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own process group (the terminal's Ctrl-C is conveyor's to
	// handle), and killed with conveyor: a decoder has nothing to finish.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	t := &lastLines{}
	cmd.Stderr = t
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &pipeReader{cmd: cmd, out: bufio.NewReaderSize(stdout, 1<<20), stderr: t}
	hdr, err := p.out.ReadString('\n')
	if err != nil {
		p.Close()
		if msg := t.last(); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("ffmpeg: no stream (%v)", err)
	}
	if err := p.parseHeader(hdr); err != nil {
		p.Close()
		return nil, err
	}
	p.yuv, p.hasYUV = gocv.NewMatWithSize(p.h*3/2, p.w, gocv.MatTypeCV8UC1), true
	return p, nil
}

// parseHeader reads "YUV4MPEG2 W480 H270 F12:1 Ip A1:1 C420jpeg …".
func (p *pipeReader) parseHeader(hdr string) error {
	f := strings.Fields(hdr)
	if len(f) == 0 || f[0] != "YUV4MPEG2" {
		return fmt.Errorf("ffmpeg: not a YUV4MPEG2 stream: %.40q", hdr)
	}
	for _, tok := range f[1:] {
		switch tok[0] {
		case 'W':
			p.w, _ = strconv.Atoi(tok[1:])
		case 'H':
			p.h, _ = strconv.Atoi(tok[1:])
		case 'F':
			n, d, _ := strings.Cut(tok[1:], ":")
			num, _ := strconv.ParseFloat(n, 64)
			den, _ := strconv.ParseFloat(d, 64)
			if den > 0 {
				p.fps = num / den
			}
		case 'C':
			if !strings.HasPrefix(tok[1:], "420") {
				return fmt.Errorf("ffmpeg: chroma %s, want 4:2:0", tok[1:])
			}
		}
	}
	if p.w <= 0 || p.h <= 0 {
		return fmt.Errorf("ffmpeg: no frame size in %q", strings.TrimSpace(hdr))
	}
	if p.w%2 != 0 || p.h%2 != 0 {
		return fmt.Errorf("ffmpeg: odd frame size %dx%d", p.w, p.h)
	}
	return nil
}

// Read reads the next frame into m (BGR). False at the end of the stream
// or on an error, which Err then says.
func (p *pipeReader) Read(m *gocv.Mat) bool {
	line, err := p.out.ReadSlice('\n')
	if err != nil || !strings.HasPrefix(string(line), "FRAME") {
		p.end(err)
		return false
	}
	data, err := p.yuv.DataPtrUint8()
	if err != nil {
		p.end(err)
		return false
	}
	if _, err := io.ReadFull(p.out, data); err != nil {
		p.end(err)
		return false
	}
	gocv.CvtColor(p.yuv, m, gocv.ColorYUVToBGRIYUV)
	p.frames++
	return true
}

// end records why the stream ended: ffmpeg's last word, if it said one.
func (p *pipeReader) end(err error) {
	if p.err != nil {
		return
	}
	if msg := p.stderr.last(); msg != "" {
		p.err = errors.New(msg)
	} else if err != nil && !errors.Is(err, io.EOF) {
		p.err = err
	}
}

// Get answers what OpenCV's capture would: the frame rate, the position.
func (p *pipeReader) Get(prop gocv.VideoCaptureProperties) float64 {
	switch prop {
	case gocv.VideoCaptureFPS:
		return p.fps
	case gocv.VideoCapturePosMsec:
		if p.fps > 0 {
			return float64(p.frames-1) / p.fps * 1000
		}
	case gocv.VideoCaptureFrameWidth:
		return float64(p.w)
	case gocv.VideoCaptureFrameHeight:
		return float64(p.h)
	}
	return 0
}

// Close stops ffmpeg. Idempotent.
func (p *pipeReader) Close() error {
	if p.cmd == nil {
		return nil
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
	if p.hasYUV {
		p.yuv.Close()
		p.hasYUV = false
	}
	return nil
}

// lastLines keeps the end of what a child writes to stderr.
type lastLines struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lastLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	if len(l.buf) > 8<<10 {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-4<<10:]...)
	}
	return len(b), nil
}

// last is the last non-empty line.
func (l *lastLines) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(l.buf)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}
