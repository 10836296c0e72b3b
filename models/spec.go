package models

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// DefaultModel is the zero-config detector, as a path inside the assets
// folder (resolve it with Asset): YuNet 2022mar, the model OpenCV 4.6's
// FaceDetectorYN uses.
const DefaultModel = "models/yunet/face_detection_yunet_2022mar.onnx"

// DefaultSpec names the Spec of DefaultModel.
const DefaultSpec = "yunet-2022mar"

// DefaultNMSThreshold is the IoU above which NMS drops the lower-scored of
// two boxes (OpenCV FaceDetectorYN's default and UltraFace's demo).
const DefaultNMSThreshold = 0.3

// ColorOrder is the channel order a network expects.
type ColorOrder int

// The colour orders. Frames are BGR; an RGB model makes the preprocessor
// swap channels.
const (
	BGR ColorOrder = iota
	RGB
)

func (c ColorOrder) String() string {
	if c == RGB {
		return "RGB"
	}
	return "BGR"
}

// ResizeMode says how a frame becomes a network input of a given size.
type ResizeMode int

const (
	// Stretch resizes the frame to the input size, changing its aspect.
	Stretch ResizeMode = iota
	// PadRightBottom resizes the frame keeping its aspect so that it fits in
	// the input, places it at the top-left corner and fills the rest with
	// zeros.
	PadRightBottom
)

func (r ResizeMode) String() string {
	if r == PadRightBottom {
		return "pad-right-bottom"
	}
	return "stretch"
}

// Spec describes one detector family: how to feed it and how to decode it.
// Specs are values: copy one and change a field to describe a variant.
type Spec struct {
	// Name is the key Lookup takes ("yunet-2022mar").
	Name string
	// Description is one line for --help and reports.
	Description string
	// InputW, InputH are the default network input size.
	InputW, InputH int
	// AnySize is true when the network runs at any input size (OpenCV DNN
	// ignores the file's fixed shape); false means only InputW x InputH.
	AnySize bool
	// PadMultiple, when > 1, makes input W and H multiples of it (zeros on
	// the right and bottom).
	PadMultiple int
	// Color is the channel order the network wants (frames are BGR).
	Color ColorOrder
	// Mean is subtracted from each channel, then the result is multiplied by
	// Scale: x' = (x - Mean) * Scale.
	Mean  float64
	Scale float64
	// Resize is how a frame is fitted into a fixed input size.
	Resize ResizeMode
	// InputName and Outputs are the tensor names the decoder expects.
	InputName string
	Outputs   []string
	// DefaultScore is the score threshold used when DecoderOptions leaves it
	// at 0; DefaultInput the input size when the caller leaves it at zero.
	DefaultScore float32
	DefaultInput InputSize
	// Landmarks is the number of landmark points per object.
	Landmarks int
	// Calibration tunes the small-face pass (pipeline/infer.Refine) for this
	// model; zero values mean the model has none (min-face must be 0).
	Calibration Calibration
	// BoxOp, when set, tells two exports with the same outputs apart by
	// what their graphs compute: the model must (BoxOpWanted) or must not
	// contain a node of this op type. UltraFace's in-graph box decoding
	// takes an Exp of the size regressions; its _simplified export has
	// none, and decoding one as the other gives garbage boxes.
	BoxOp       string
	BoxOpWanted bool

	newDecoder func(Spec, DecoderOptions) Decoder
}

// Calibration is what models/CALIBRATION.md measured about a model's small
// faces, for the small-face pass (pipeline/infer.Refine).
type Calibration struct {
	// ProposalScore is the least score that makes a candidate a proposal: a
	// place where a face may be, to verify at a better scale.
	ProposalScore float32
	// ProposalFace is the smallest face, in input pixels, for which the
	// model gives a proposal every time (on the synthetic crowds): a frame
	// must be run at ProposalFace / min-face of its size or more for faces
	// of min-face pixels to be found.
	ProposalFace float32
	// VerifyFace is the face size, in input pixels, at which the model
	// scores faces best: a proposal is verified on a crop scaled to it.
	VerifyFace float32
	// LocateFace is the size, in input pixels, a detection smaller than 3/4
	// of it is scaled to on the canvas to place its box again (at the
	// frame's scale a 12 px face's box is a few pixels off); 0 means
	// VerifyFace.
	LocateFace float32
	// VerifyScore is the score a proposal must reach on its crop to become a
	// detection; 0 means the detection score. Faces scaled to VerifyFace
	// score higher than at their own size, and so do some things that are
	// not faces: the bar is raised to match.
	VerifyScore float32
}

// Decoder turns a network's raw outputs into objects in frame coordinates.
// A Decoder keeps scratch buffers between calls: use one per goroutine.
type Decoder interface {
	// Decode finds the objects in outputs (matched by tensor name) for an
	// input described by g. Boxes are mapped to frame coordinates and
	// clamped to the frame. The returned slice is new on every call (it
	// goes into a Frame); it is empty, not an error, when nothing scores
	// above the threshold. Tensors whose sizes do not fit g are an error.
	Decode(outputs []meta.Tensor, g meta.Geometry) ([]meta.Object, error)
}

// DecoderOptions tune a decoder; zero values take the spec's defaults.
type DecoderOptions struct {
	// ScoreThreshold keeps objects scoring at least this (0 < t <= 1); 0
	// means the spec's default.
	ScoreThreshold float32 `yaml:"score" usage:"score threshold (0 = the model's calibrated default)"`
	// NMSThreshold is the IoU above which the weaker box is dropped; 0
	// means the spec's default.
	NMSThreshold float32 `yaml:"nms" usage:"NMS IoU threshold (0 = the model's default)"`
	// MaxObjects caps the objects per frame after NMS (0: 5000).
	MaxObjects int `yaml:"-"`
	// MinSize drops objects whose box, in frame pixels, is narrower or
	// shorter than this (DeepStream's detected-min-w/h); 0 keeps all.
	MinSize float32 `yaml:"min-size" usage:"drop detections smaller than this many pixels (width or height)"`
}

// Validate checks the thresholds, naming each by its option key.
func (o DecoderOptions) Validate() error {
	var errs []error
	if o.ScoreThreshold < 0 || o.ScoreThreshold > 1 {
		errs = append(errs, fmt.Errorf("score: %g is out of range: want 0 to 1", o.ScoreThreshold))
	}
	if o.NMSThreshold < 0 || o.NMSThreshold > 1 {
		errs = append(errs, fmt.Errorf("nms: %g is out of range: want 0 to 1", o.NMSThreshold))
	}
	if o.MinSize < 0 || o.MinSize > 10000 {
		errs = append(errs, fmt.Errorf("min-size: %g is out of range: want 0 to 10000", o.MinSize))
	}
	return errors.Join(errs...)
}

// NewDecoder makes a decoder for s. It fails on thresholds outside (0, 1].
func (s Spec) NewDecoder(o DecoderOptions) (Decoder, error) {
	if s.newDecoder == nil {
		return nil, fmt.Errorf("models: spec %q has no decoder", s.Name)
	}
	if o.ScoreThreshold == 0 {
		o.ScoreThreshold = s.DefaultScore
	}
	if o.NMSThreshold == 0 {
		o.NMSThreshold = DefaultNMSThreshold
	}
	if o.MaxObjects == 0 {
		o.MaxObjects = 5000
	}
	if !(o.ScoreThreshold > 0 && o.ScoreThreshold <= 1) {
		return nil, fmt.Errorf("models: score threshold %v is not in (0, 1]", o.ScoreThreshold)
	}
	if !(o.NMSThreshold > 0 && o.NMSThreshold <= 1) {
		return nil, fmt.Errorf("models: nms threshold %v is not in (0, 1]", o.NMSThreshold)
	}
	if o.MinSize < 0 {
		return nil, fmt.Errorf("models: min size %v is negative", o.MinSize)
	}
	if o.MaxObjects < 0 {
		return nil, fmt.Errorf("models: max objects %d is negative", o.MaxObjects)
	}
	return s.newDecoder(s, o), nil
}

// The known specs. Their default scores and small-face calibrations were
// measured (models/CALIBRATION.md): YuNet 2022mar at 0.8 (no false positive
// on the no-face clip, both faces in every head-pose frame; OpenCV's 0.9
// misses a tilted head), YuNet 2023mar at 0.7 (OpenCV's 0.9 sits at the top
// of its score range and loses 39% of the dlib faces), UltraFace at its
// demo's 0.7 with no small-face pass (it runs only at its fixed size).
var specs = []Spec{
	{
		Name:         "yunet-2022mar",
		Description:  "YuNet v1 (libfacedetection 2022mar), any input size, 5 landmarks",
		InputW:       160,
		InputH:       120,
		AnySize:      true,
		Color:        BGR,
		Scale:        1,
		Resize:       Stretch,
		InputName:    "input",
		Outputs:      []string{"loc", "conf", "iou"},
		DefaultScore: 0.8,
		DefaultInput: InputSize{Long: 640},
		Landmarks:    5,
		Calibration:  Calibration{ProposalScore: 0.3, ProposalFace: 10, VerifyFace: 32, LocateFace: 48},
		newDecoder:   newYuNetV1,
	},
	{
		Name:         "yunet-2023mar",
		Description:  "YuNet v2 (yunet_s, 2023mar), any input size padded to multiples of 32, 5 landmarks",
		InputW:       640,
		InputH:       640,
		AnySize:      true,
		PadMultiple:  32,
		Color:        BGR,
		Scale:        1,
		Resize:       PadRightBottom,
		InputName:    "input",
		Outputs:      []string{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"},
		DefaultScore: 0.7,
		DefaultInput: InputSize{Long: 640},
		Landmarks:    5,
		Calibration:  Calibration{ProposalScore: 0.4, ProposalFace: 10, VerifyFace: 48},
		newDecoder:   newYuNetV2,
	},
	{
		Name:         "ultraface",
		Description:  "UltraFace RFB-320/640 with box decoding in the graph, fixed input size",
		InputW:       320,
		InputH:       240,
		Color:        RGB,
		Mean:         127,
		Scale:        1.0 / 128,
		Resize:       Stretch,
		InputName:    "input",
		Outputs:      []string{"scores", "boxes"},
		DefaultScore: 0.7,
		BoxOp:        "Exp",
		BoxOpWanted:  true,
		newDecoder:   newUltraFace(false),
	},
	{
		Name:         "ultraface-raw",
		Description:  "UltraFace RFB-320 simplified: raw box regressions decoded here, fixed input size",
		InputW:       320,
		InputH:       240,
		Color:        RGB,
		Mean:         127,
		Scale:        1.0 / 128,
		Resize:       Stretch,
		InputName:    "input",
		Outputs:      []string{"scores", "boxes"},
		DefaultScore: 0.7,
		BoxOp:        "Exp",
		newDecoder:   newUltraFace(true),
	},
}

// Specs lists the known specs' names.
func Specs() []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}

// Lookup returns the spec called name.
func Lookup(name string) (Spec, error) {
	for _, s := range specs {
		if s.Name == name {
			s.Outputs = slices.Clone(s.Outputs)
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("models: unknown model spec %q (known: %s)", name, strings.Join(Specs(), ", "))
}

// ErrMismatch is wrapped by the errors that say a model file does not fit a
// spec (its outputs or input are not what the decoder expects).
var ErrMismatch = errors.New("model does not fit the decoder")

// Check reports whether the model described by info fits s: every output
// the decoder needs is there, the input is NCHW with 3 channels, and a
// fixed-size spec's file has a fixed input. The error names the file, its
// outputs and the decoder's.
func (s Spec) Check(info ModelInfo) error {
	name := filepath.Base(info.Path)
	if name == "." || name == "" {
		name = "(bytes)"
	}
	have := info.OutputNames()
	for _, want := range s.Outputs {
		if !slices.Contains(have, want) {
			return fmt.Errorf("model %s has outputs %v, decoder %s expects %v: %w", name, have, s.Name, s.Outputs, ErrMismatch)
		}
	}
	if len(info.Inputs) != 1 {
		return fmt.Errorf("model %s has %d inputs, decoder %s expects 1: %w", name, len(info.Inputs), s.Name, ErrMismatch)
	}
	if s.BoxOp != "" && len(info.Ops) > 0 && slices.Contains(info.Ops, s.BoxOp) != s.BoxOpWanted {
		if s.BoxOpWanted {
			return fmt.Errorf("model %s has raw box regressions (no %s node: decoding is not in its graph), decoder %s expects decoded boxes (try ultraface-raw): %w", name, s.BoxOp, s.Name, ErrMismatch)
		}
		return fmt.Errorf("model %s decodes its boxes in the graph (it has a %s node), decoder %s expects raw regressions (try ultraface): %w", name, s.BoxOp, s.Name, ErrMismatch)
	}
	in := info.Inputs[0]
	if len(in.Shape) != 4 || (in.Shape[1] != 3 && in.Shape[1] != -1) {
		return fmt.Errorf("model %s input %s has shape %v, decoder %s expects [1 3 H W]: %w", name, in.Name, in.Shape, s.Name, ErrMismatch)
	}
	if !s.AnySize && (in.Shape[2] <= 0 || in.Shape[3] <= 0) {
		return fmt.Errorf("model %s input %s has dynamic shape %v, decoder %s needs a fixed one: %w", name, in.Name, in.Shape, s.Name, ErrMismatch)
	}
	return nil
}

// ForModel adapts s to the model file described by info: a fixed-size
// spec takes the file's input size (UltraFace RFB-640 is the "ultraface"
// spec at 640x480), and the input name is the file's.
func (s Spec) ForModel(info ModelInfo) (Spec, error) {
	if err := s.Check(info); err != nil {
		return Spec{}, err
	}
	in := info.Inputs[0]
	s.InputName = in.Name
	if !s.AnySize {
		s.InputW, s.InputH = in.Shape[3], in.Shape[2]
	}
	return s, nil
}

// Identify reads the model at path and picks the spec from its outputs:
// loc/conf/iou is yunet-2022mar, cls_8 ... kps_32 yunet-2023mar, and
// scores/boxes UltraFace, in-graph decoding unless the graph is the
// "simplified" export with raw regressions (named *_simplified*). The spec
// comes back adapted to the file (ForModel).
func Identify(path string) (Spec, ModelInfo, error) {
	info, err := ReadONNX(path)
	if err != nil {
		return Spec{}, ModelInfo{}, err
	}
	s, err := identify(info)
	if err != nil {
		return Spec{}, info, err
	}
	s, err = s.ForModel(info)
	return s, info, err
}

func identify(info ModelInfo) (Spec, error) {
	have := info.OutputNames()
	for _, s := range specs {
		fits := true
		for _, want := range s.Outputs {
			if !slices.Contains(have, want) {
				fits = false
				break
			}
		}
		if !fits || (s.BoxOp != "" && slices.Contains(info.Ops, s.BoxOp) != s.BoxOpWanted) {
			continue
		}
		return Lookup(s.Name)
	}
	return Spec{}, fmt.Errorf("model %s has outputs %v, which fit no known decoder (%s): %w",
		filepath.Base(info.Path), have, strings.Join(Specs(), ", "), ErrMismatch)
}

// InputSize is how large a network input should be, relative to the frame.
// The zero value means the spec's default.
type InputSize struct {
	// W, H: a fixed input size.
	W, H int
	// Long: shrink the frame so that its longer side is at most Long,
	// keeping the aspect (any-size models only; never enlarges).
	Long int
	// Frame: the frame's own size (any-size models only).
	Frame bool
}

// IsZero reports whether s is the zero value (the spec's default).
func (s InputSize) IsZero() bool { return s == InputSize{} }

func (s InputSize) String() string {
	switch {
	case s.Frame:
		return "frame"
	case s.Long > 0:
		return strconv.Itoa(s.Long)
	case s.W > 0:
		return fmt.Sprintf("%dx%d", s.W, s.H)
	}
	return "default"
}

// maxInputSide bounds input sizes (OpenCV and our buffers).
const maxInputSide = 8192

// UnmarshalText reads an input size as ParseInputSize does.
func (s *InputSize) UnmarshalText(b []byte) error {
	v, err := ParseInputSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText writes the size as ParseInputSize reads it.
func (s InputSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseInputSize reads "" or "default" (the spec's), "frame", "N" (longer
// side at most N, aspect kept) or "WxH".
func ParseInputSize(v string) (InputSize, error) {
	v = strings.TrimSpace(strings.ToLower(v))
	switch v {
	case "", "default":
		return InputSize{}, nil
	case "frame":
		return InputSize{Frame: true}, nil
	}
	bad := fmt.Errorf(`models: input size %q: want "frame", "N" or "WxH" with 16 <= N <= %d`, v, maxInputSide)
	if w, h, ok := strings.Cut(v, "x"); ok {
		W, err1 := strconv.Atoi(w)
		H, err2 := strconv.Atoi(h)
		if err1 != nil || err2 != nil || W < 16 || H < 16 || W > maxInputSide || H > maxInputSide {
			return InputSize{}, bad
		}
		return InputSize{W: W, H: H}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 16 || n > maxInputSide {
		return InputSize{}, bad
	}
	return InputSize{Long: n}, nil
}

// Plan is how one frame size becomes a network input: the Geometry the
// decoder needs, plus the size the frame is resized to before padding.
type Plan struct {
	meta.Geometry
	// ResizeW, ResizeH is the picture inside the input (top-left); the rest
	// of InputW x InputH is zero padding.
	ResizeW, ResizeH int
}

// Plan works out the input for a frame of frameW x frameH at size sz (zero:
// the spec's DefaultInput, or its fixed size).
func (s Spec) Plan(sz InputSize, frameW, frameH int) (Plan, error) {
	if frameW <= 0 || frameH <= 0 || frameW > 1<<16 || frameH > 1<<16 {
		return Plan{}, fmt.Errorf("models: bad frame size %dx%d", frameW, frameH)
	}
	if sz.IsZero() {
		sz = s.DefaultInput
		if sz.IsZero() || !s.AnySize {
			sz = InputSize{W: s.InputW, H: s.InputH}
		}
	}
	if !s.AnySize && (sz.W != s.InputW || sz.H != s.InputH) {
		return Plan{}, fmt.Errorf("models: %s runs only at %dx%d, not %s", s.Name, s.InputW, s.InputH, sz)
	}
	p := Plan{Geometry: meta.Geometry{FrameW: frameW, FrameH: frameH}}
	mult := max(s.PadMultiple, 1)
	up := func(v int) int { return (v + mult - 1) / mult * mult }
	switch {
	case sz.Frame || sz.Long > 0:
		k := 1.0
		if sz.Long > 0 {
			k = min(1, float64(sz.Long)/float64(max(frameW, frameH)))
		}
		p.ResizeW = max(1, int(math.Round(float64(frameW)*k)))
		p.ResizeH = max(1, int(math.Round(float64(frameH)*k)))
		p.InputW, p.InputH = up(p.ResizeW), up(p.ResizeH)
	case sz.W > 0 && sz.H > 0:
		p.InputW, p.InputH = up(sz.W), up(sz.H)
		if s.Resize == Stretch {
			p.ResizeW, p.ResizeH = p.InputW, p.InputH
		} else {
			// Fit in the size asked for, then pad to the multiple.
			k := min(float64(sz.W)/float64(frameW), float64(sz.H)/float64(frameH))
			p.ResizeW = min(sz.W, max(1, int(math.Round(float64(frameW)*k))))
			p.ResizeH = min(sz.H, max(1, int(math.Round(float64(frameH)*k))))
		}
	default:
		return Plan{}, fmt.Errorf("models: bad input size %+v", sz)
	}
	if p.InputW > maxInputSide || p.InputH > maxInputSide {
		return Plan{}, fmt.Errorf("models: input %dx%d is larger than %d", p.InputW, p.InputH, maxInputSide)
	}
	p.ScaleX = float32(p.ResizeW) / float32(frameW)
	p.ScaleY = float32(p.ResizeH) / float32(frameH)
	return p, nil
}
