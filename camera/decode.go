package camera

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/hw"
)

// Decoder names how the video of files and network streams is decoded.
type Decoder int

// The decoders.
const (
	// DecoderAuto uses Jetson's nvv4l2decoder, else FFmpeg's CUDA (NVDEC)
	// or VA-API decoder, when the machine has one and it decodes the
	// source's first frame; else software. A hardware decoder that was
	// there and failed is named in one log line (Options.Logf).
	DecoderAuto Decoder = iota
	// DecoderSoftware is FFmpeg's software decoder inside OpenCV.
	DecoderSoftware
	// DecoderNVV4L2 is Jetson's hardware decoder, nvv4l2decoder, in a
	// GStreamer pipeline that conveyor builds from the URI (files, RTSP,
	// HTTP), read through OpenCV's GStreamer backend.
	DecoderNVV4L2
	// DecoderCUDA is FFmpeg's NVDEC decoding (-hwaccel cuda) in an ffmpeg
	// process that hands conveyor raw frames.
	DecoderCUDA
	// DecoderVAAPI is FFmpeg's VA-API decoding (Intel and AMD GPUs), the
	// same way.
	DecoderVAAPI
)

var decoderNames = [...]string{DecoderAuto: "auto", DecoderSoftware: "software", DecoderNVV4L2: "nvv4l2decoder", DecoderCUDA: "cuda", DecoderVAAPI: "vaapi"}

var decoderAliases = map[string]Decoder{"ffmpeg": DecoderSoftware, "cpu": DecoderSoftware, "jetson": DecoderNVV4L2, "nvv4l2": DecoderNVV4L2, "nvdec": DecoderCUDA}

// String returns the decoder's name.
func (d Decoder) String() string {
	if d < 0 || int(d) >= len(decoderNames) {
		return fmt.Sprintf("Decoder(%d)", int(d))
	}
	return decoderNames[d]
}

// MarshalText writes the decoder's name.
func (d Decoder) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads auto, software, nvv4l2decoder, cuda or vaapi (or
// ffmpeg, jetson, nvdec).
func (d *Decoder) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range decoderNames {
		if s == n {
			*d = Decoder(i)
			return nil
		}
	}
	if v, ok := decoderAliases[s]; ok {
		*d = v
		return nil
	}
	return fmt.Errorf("unknown decoder %q: want %s", b, strings.Join(decoderNames[:], ", "))
}

// decProbes caches ProbeDecoder's answers, and the hardware decoders that
// failed on a source (capture.go).
var decProbes hw.Memo[Decoder]

// ProbeDecoder says whether the machine has what d needs (nil), or what it
// lacks. It does not decode: whether the hardware decodes a given source
// shows when that source opens. DecoderAuto and DecoderSoftware always
// pass.
func ProbeDecoder(d Decoder) error { return decProbes.Get(d, probeDecoder) }

func probeDecoder(d Decoder) error {
	switch d {
	case DecoderNVV4L2:
		return hw.GstElement("nvv4l2decoder")
	case DecoderCUDA, DecoderVAAPI:
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			return errors.New("no ffmpeg on PATH")
		}
		if d == DecoderCUDA {
			return hw.NVIDIADriver()
		}
		return hw.NoRenderNode()
	}
	return nil
}

// decoders lists what a source tries, in order: the asked-for decoder, or
// for auto the hardware decoders this machine has, then software.
func decoders(want Decoder) ([]Decoder, error) {
	switch want {
	case DecoderAuto:
		var out []Decoder
		for _, d := range []Decoder{DecoderNVV4L2, DecoderCUDA, DecoderVAAPI} {
			if ProbeDecoder(d) == nil {
				out = append(out, d)
			}
		}
		return append(out, DecoderSoftware), nil
	case DecoderSoftware:
		return []Decoder{DecoderSoftware}, nil
	}
	if err := ProbeDecoder(want); err != nil {
		var found []string
		for _, d := range []Decoder{DecoderNVV4L2, DecoderCUDA, DecoderVAAPI, DecoderSoftware} {
			if ProbeDecoder(d) == nil {
				found = append(found, d.String())
			}
		}
		return nil, fmt.Errorf("decoder %s: %v (found: %s)", want, err, strings.Join(found, ", "))
	}
	return []Decoder{want}, nil
}

// jetsonDecode is the decoding part of the Jetson pipeline, from parsed
// video to BGR; tests swap it for a software decoder this machine has.
var jetsonDecode = "nvv4l2decoder ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert"

// gstPipeline is the GStreamer capture pipeline for a file path or a
// network URI, decoding with nvv4l2decoder.
func gstPipeline(target string, network bool) string {
	var src string
	switch {
	case !network:
		src = "filesrc location=" + gstString(target)
	case strings.HasPrefix(strings.ToLower(target), "rtsp"):
		// TCP, as FFmpeg's default here: no lost packets on a busy network.
		src = "rtspsrc protocols=tcp latency=200 location=" + gstString(target)
	default:
		src = "souphttpsrc location=" + gstString(target)
	}
	return src + " ! parsebin ! " + jetsonDecode + " ! video/x-raw,format=BGR ! appsink sync=false"
}

// gstString quotes a value for a GStreamer pipeline description: a path or
// URI can never end the quoted string and add elements of its own.
func gstString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
