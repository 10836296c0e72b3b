package sink

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Encoder names the H.264 encoder a Video sink uses.
type Encoder int

// The encoders. Every one but EncoderOpenCV runs as a child process that
// conveyor feeds raw frames through a pipe (ffmpeg, or gst-launch-1.0 on a
// Jetson): its CPU time is its own, its errors (a full disk) stop the output
// when they happen, and it finalizes its file even when conveyor is killed.
const (
	// EncoderAuto probes the hardware encoders (Jetson's nvv4l2h264enc,
	// NVENC, VA-API) and takes the first that encodes a test frame, else
	// libx264, else OpenCV when there is no ffmpeg; it says which in one
	// log line.
	EncoderAuto Encoder = iota
	// EncoderX264 is libx264 through the ffmpeg CLI: a speed preset, CRF or
	// a bitrate, a keyframe interval.
	EncoderX264
	// EncoderNVENC is h264_nvenc through ffmpeg (NVIDIA GPUs that have
	// NVENC: not the A100/H100/H200 class, nor the Orin Nano).
	EncoderNVENC
	// EncoderVAAPI is h264_vaapi through ffmpeg (Intel and AMD GPUs).
	EncoderVAAPI
	// EncoderQSV is h264_qsv through ffmpeg (Intel Quick Sync).
	EncoderQSV
	// EncoderV4L2M2M is h264_v4l2m2m through ffmpeg (Raspberry Pi and other
	// V4L2 memory-to-memory encoders).
	EncoderV4L2M2M
	// EncoderJetson is nvv4l2h264enc through gst-launch-1.0 (Jetson Xavier
	// and Orin but the Orin Nano).
	EncoderJetson
	// EncoderOpenCV is OpenCV's VideoWriter, as before: no preset, no rate
	// control, and a file that a kill leaves without its index. The only
	// choice for .avi and .webm, or with an explicit FOURCC.
	EncoderOpenCV
)

var encoderNames = [...]string{
	EncoderAuto: "auto", EncoderX264: "libx264", EncoderNVENC: "h264_nvenc", EncoderVAAPI: "h264_vaapi",
	EncoderQSV: "h264_qsv", EncoderV4L2M2M: "h264_v4l2m2m", EncoderJetson: "nvv4l2h264enc", EncoderOpenCV: "opencv",
}

// encoderAliases are other names users write.
var encoderAliases = map[string]Encoder{
	"x264": EncoderX264, "software": EncoderX264, "nvenc": EncoderNVENC, "vaapi": EncoderVAAPI,
	"qsv": EncoderQSV, "v4l2m2m": EncoderV4L2M2M, "jetson": EncoderJetson, "nvv4l2": EncoderJetson,
}

// String returns the encoder's name: auto, libx264, h264_nvenc, h264_vaapi,
// h264_qsv, h264_v4l2m2m, nvv4l2h264enc or opencv.
func (e Encoder) String() string {
	if e < 0 || int(e) >= len(encoderNames) {
		return fmt.Sprintf("Encoder(%d)", int(e))
	}
	return encoderNames[e]
}

// MarshalText writes the encoder's name.
func (e Encoder) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText reads an encoder's name or alias (x264, nvenc, vaapi, qsv,
// v4l2m2m, jetson).
func (e *Encoder) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range encoderNames {
		if s == n {
			*e = Encoder(i)
			return nil
		}
	}
	if v, ok := encoderAliases[s]; ok {
		*e = v
		return nil
	}
	return fmt.Errorf("unknown encoder %q: want %s", b, strings.Join(encoderNames[:], ", "))
}

// ffmpegName is the encoder's name in ffmpeg, "" for those that are not
// ffmpeg's.
func (e Encoder) ffmpegName() string {
	switch e {
	case EncoderX264, EncoderNVENC, EncoderVAAPI, EncoderQSV, EncoderV4L2M2M:
		return e.String()
	}
	return ""
}

// Preset is the encoder's speed preset, in x264's names; the hardware
// encoders map it onto theirs (NVENC p1…p7, Jetson's preset-level).
type Preset int

// The presets, fastest first.
const (
	Ultrafast Preset = iota
	Superfast
	Veryfast
	Faster
	Fast
	Medium
	Slow
	Slower
	Veryslow
)

var presetNames = [...]string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

// String returns the preset's x264 name.
func (p Preset) String() string {
	if p < 0 || int(p) >= len(presetNames) {
		return fmt.Sprintf("Preset(%d)", int(p))
	}
	return presetNames[p]
}

// MarshalText writes the preset's name.
func (p Preset) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads ultrafast … veryslow.
func (p *Preset) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	if i := slices.Index(presetNames[:], s); i >= 0 {
		*p = Preset(i)
		return nil
	}
	return fmt.Errorf("unknown preset %q: want %s", b, strings.Join(presetNames[:], ", "))
}

// x264Tunes are the values of x264's --tune.
var x264Tunes = []string{"film", "animation", "grain", "stillimage", "fastdecode", "zerolatency", "psnr", "ssim"}

// EncoderOptions choose and tune the video encoder. The zero value is not
// the default: start from DefaultEncoderOptions.
type EncoderOptions struct {
	// Encoder is the H.264 encoder: auto probes hardware, then libx264.
	Encoder Encoder `yaml:"encoder" usage:"H.264 encoder: auto (hardware if it works, else libx264), libx264, h264_nvenc, h264_vaapi, h264_qsv, h264_v4l2m2m, nvv4l2h264enc (Jetson) or opencv"`
	// Preset is the speed preset (x264's names; hardware encoders map it).
	Preset Preset `yaml:"encoder-preset" usage:"encoder speed preset: ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow (faster = less CPU, bigger files)"`
	// Tune is x264's --tune ("" none): zerolatency for live viewing.
	Tune string `yaml:"encoder-tune" usage:"x264 tune: film, animation, grain, stillimage, fastdecode, zerolatency, psnr, ssim (empty: none)"`
	// CRF is the constant quality (1-51, lower is better) when Bitrate is 0;
	// 0 means 23.
	CRF int `yaml:"encoder-crf" usage:"constant quality when no bitrate is set: 1-51, lower is better and bigger (x264 CRF; NVENC cq; VA-API qp; 0 = 23)"`
	// Bitrate in kbit/s; 0 means constant quality (CRF). Jetson's encoder
	// needs a bitrate: 0 there means one from the frame size and rate.
	Bitrate int `yaml:"encoder-bitrate" usage:"target bitrate in kbit/s (0 = constant quality, --encoder-crf)"`
	// Keyframe is the longest time between keyframes: a seek lands at most
	// this far from its target, and a crash loses at most this much of the
	// end of a file.
	Keyframe time.Duration `yaml:"keyframe-interval" usage:"longest time between keyframes (seek granularity; a crash loses at most this much video)"`
	// Threads is the encoder's thread count; 0 lets the encoder choose.
	Threads int `yaml:"encoder-threads" usage:"encoder threads (0 = the encoder's choice)"`
	// Fragmented keeps an .mp4 fragmented (as it is written) instead of
	// rewriting it into a standard MP4 with its index in front when it is
	// finalized: no rewrite of long recordings at the end, but some players
	// seek in it slowly.
	Fragmented bool `yaml:"out-fragmented" usage:"keep .mp4 files fragmented as written (skip the final rewrite into a standard MP4)"`
}

// DefaultEncoderOptions is what `conveyor run` uses: the fastest x264
// preset (docs/BENCHMARKS.md, "Encoding": the encoder costs what it should
// at 1080p too), CRF 23, a keyframe every 2 s.
func DefaultEncoderOptions() EncoderOptions {
	return EncoderOptions{Encoder: EncoderAuto, Preset: Ultrafast, CRF: 23, Keyframe: 2 * time.Second}
}

// withDefaults fills what a library user left zero.
func (o EncoderOptions) withDefaults() EncoderOptions {
	if o.CRF == 0 && o.Bitrate == 0 {
		o.CRF = 23
	}
	if o.Keyframe == 0 {
		o.Keyframe = 2 * time.Second
	}
	return o
}

// Validate names the first bad field by its key.
func (o EncoderOptions) Validate() error {
	var errs []error
	if o.Encoder < 0 || int(o.Encoder) >= len(encoderNames) {
		errs = append(errs, fmt.Errorf("encoder: %v: unknown", o.Encoder))
	}
	if o.Preset < 0 || int(o.Preset) >= len(presetNames) {
		errs = append(errs, fmt.Errorf("encoder-preset: %v: unknown", o.Preset))
	}
	if o.Tune != "" && !slices.Contains(x264Tunes, o.Tune) {
		errs = append(errs, fmt.Errorf("encoder-tune: %q: want one of %s, or nothing", o.Tune, strings.Join(x264Tunes, ", ")))
	}
	if o.CRF < 0 || o.CRF > 51 {
		errs = append(errs, fmt.Errorf("encoder-crf: %d is out of range: want 0 to 51", o.CRF))
	}
	if o.Bitrate < 0 || o.Bitrate > 1_000_000 {
		errs = append(errs, fmt.Errorf("encoder-bitrate: %d is out of range: want 0 (constant quality) to 1000000 kbit/s", o.Bitrate))
	}
	if o.Keyframe < 0 || o.Keyframe > time.Hour {
		errs = append(errs, fmt.Errorf("keyframe-interval: %s is out of range: want 0 (2s) to 1h", o.Keyframe))
	}
	if o.Threads < 0 || o.Threads > 64 {
		errs = append(errs, fmt.Errorf("encoder-threads: %d is out of range: want 0 (the encoder's choice) to 64", o.Threads))
	}
	return errors.Join(errs...)
}

// describe is the encoder and its settings, for the log line and the
// summary: "libx264 ultrafast crf 23".
func (o EncoderOptions) describe(e Encoder) string {
	if e == EncoderOpenCV {
		return "opencv"
	}
	s := e.String()
	if e == EncoderX264 || e == EncoderNVENC || e == EncoderQSV || e == EncoderJetson {
		s += " " + o.Preset.String()
	}
	if o.Tune != "" && e == EncoderX264 {
		s += " tune " + o.Tune
	}
	if o.Bitrate > 0 {
		s += fmt.Sprintf(" %d kbit/s", o.Bitrate)
	} else if e != EncoderJetson && e != EncoderV4L2M2M {
		s += fmt.Sprintf(" crf %d", o.CRF)
	}
	return s
}
