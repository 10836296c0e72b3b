package sink

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/conveyor-vision/conveyor/pipeline/hw"
)

// Encoders are probed once per process: a hardware encoder counts as found
// only when it encodes a few test frames, since its name in ffmpeg's list
// (or a GStreamer element) says nothing about the machine (an H100 has the
// NVIDIA driver and no NVENC; the Orin Nano has nvv4l2h264enc and no
// encoder behind it). Encoders whose device node is missing are refused
// without starting anything, so on most machines probing costs one
// `ffmpeg -encoders`.

var (
	probes      hw.Memo[Encoder]
	ffmpegOnce  sync.Once
	ffmpegList  string
	ffmpegError error
)

// probeTimeout bounds one trial encode.
const probeTimeout = hw.ProbeTimeout

// autoOrder is what auto tries, best first.
var autoOrder = []Encoder{EncoderJetson, EncoderNVENC, EncoderVAAPI, EncoderX264, EncoderOpenCV}

// ProbeEncoder says whether e works on this machine: nil, or why not.
// EncoderAuto is never probed: see ChooseEncoder.
func ProbeEncoder(e Encoder) error { return probes.Get(e, probe) }

func probe(e Encoder) error {
	switch e {
	case EncoderOpenCV:
		return nil
	case EncoderJetson:
		return probeJetson()
	}
	if err := ffmpegHas(e.ffmpegName()); err != nil {
		return err
	}
	switch e {
	case EncoderNVENC:
		if err := hw.NVIDIADriver(); err != nil {
			return err
		}
		return trial(ffmpegTrial(e))
	case EncoderVAAPI, EncoderQSV:
		if err := hw.NoRenderNode(); err != nil {
			return err
		}
		return trial(ffmpegTrial(e))
	case EncoderV4L2M2M:
		if m, _ := filepath.Glob("/dev/video*"); len(m) == 0 {
			return errors.New("no V4L2 device (/dev/video*)")
		}
		return trial(ffmpegTrial(e))
	}
	return nil
}

// ffmpegHas checks that ffmpeg is on PATH and lists the encoder.
func ffmpegHas(name string) error {
	ffmpegOnce.Do(func() {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			ffmpegError = errors.New("no ffmpeg on PATH (install ffmpeg)")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-encoders").Output()
		if err != nil {
			ffmpegError = fmt.Errorf("ffmpeg -encoders: %w", err)
			return
		}
		ffmpegList = string(out)
	})
	if ffmpegError != nil {
		return ffmpegError
	}
	for _, l := range strings.Split(ffmpegList, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[1] == name {
			return nil
		}
	}
	return fmt.Errorf("this ffmpeg has no %s", name)
}

// ffmpegTrial encodes a few frames of a test pattern with e.
func ffmpegTrial(e Encoder) []string {
	a := []string{"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"}
	if e == EncoderVAAPI {
		a = append(a, "-vaapi_device", hw.RenderNode())
	}
	a = append(a, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=0.5", "-c:v", e.ffmpegName())
	switch e {
	case EncoderVAAPI:
		a = append(a, "-vf", "format=nv12,hwupload")
	case EncoderQSV:
		a = append(a, "-pix_fmt", "nv12")
	case EncoderV4L2M2M:
		a = append(a, "-pix_fmt", "yuv420p", "-b:v", "500k")
	}
	return append(a, "-f", "null", "-")
}

func probeJetson() error {
	if err := hw.GstElement("nvv4l2h264enc"); err != nil {
		return err
	}
	if _, err := exec.LookPath("gst-launch-1.0"); err != nil {
		return errors.New("no gst-launch-1.0 (install gstreamer1.0-tools)")
	}
	return trial([]string{"gst-launch-1.0", "-q", "videotestsrc", "num-buffers=5", "!", "video/x-raw,width=320,height=240,format=I420",
		"!", "nvvidconv", "!", "video/x-raw(memory:NVMM),format=I420", "!", "nvv4l2h264enc", "!", "fakesink"})
}

// trial runs a trial encode; its error says what the encoder said.
func trial(argv []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	t := &tail{}
	cmd.Stdout, cmd.Stderr = t, t
	if err := cmd.Run(); err != nil {
		if msg := t.last(); msg != "" {
			return fmt.Errorf("a test encode failed: %s", msg)
		}
		return fmt.Errorf("a test encode failed: %w", err)
	}
	return nil
}

// ChooseEncoder resolves what the options ask for on this machine. For
// EncoderAuto it takes the first of Jetson, NVENC, VA-API, libx264 and
// OpenCV that works, and note says which and why the better ones were
// passed over (one line); an explicit encoder that does not work is an
// error naming the ones that do.
func ChooseEncoder(want Encoder) (got Encoder, note string, err error) {
	if want != EncoderAuto {
		if err := ProbeEncoder(want); err != nil {
			return 0, "", fmt.Errorf("encoder %s: %v (found: %s)", want, err, strings.Join(foundEncoders(), ", "))
		}
		return want, "", nil
	}
	var passed []string
	for _, e := range autoOrder {
		err := ProbeEncoder(e)
		if err == nil {
			if e == EncoderX264 && len(passed) > 0 && !allMissing(passed) {
				note = "no working hardware encoder (" + strings.Join(passed, "; ") + ")"
			}
			if e == EncoderOpenCV {
				note = "no ffmpeg for libx264 (" + strings.Join(passed, "; ") + "): OpenCV's writer has no preset and leaves no index after a crash"
			}
			return e, note, nil
		}
		passed = append(passed, fmt.Sprintf("%s: %v", e, err))
	}
	return EncoderOpenCV, "", nil // not reached: OpenCV always works
}

var (
	notedMu sync.Mutex
	noted   = map[string]bool{}
)

// noteOnce says whether a note about the encoder is new in this process:
// one log line per run, however many video outputs it has.
func noteOnce(note string) bool {
	notedMu.Lock()
	defer notedMu.Unlock()
	if noted[note] {
		return false
	}
	noted[note] = true
	return true
}

// allMissing says whether every passed-over encoder was simply absent (no
// device, no element), as on most machines: then choosing libx264 is no
// fallback worth a log line.
func allMissing(passed []string) bool {
	for _, p := range passed {
		if strings.Contains(p, "test encode failed") {
			return false
		}
	}
	return true
}

// foundEncoders lists the encoders that work here.
func foundEncoders() []string {
	var out []string
	for _, e := range []Encoder{EncoderJetson, EncoderNVENC, EncoderVAAPI, EncoderQSV, EncoderV4L2M2M, EncoderX264, EncoderOpenCV} {
		if ProbeEncoder(e) == nil {
			out = append(out, e.String())
		}
	}
	return out
}
