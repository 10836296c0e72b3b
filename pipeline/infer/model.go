package infer

import (
	"fmt"
	"sync"

	"github.com/conveyor-vision/conveyor/models"
)

// Model is a validated model file with its spec: the factory for the
// stages of one detector. It holds no C memory; each New* call makes a
// worker that its caller (or the line) closes.
type Model struct {
	Path  string
	Spec  models.Spec
	Info  models.ModelInfo
	Input models.InputSize
	Opts  models.DecoderOptions
	// MinFace is the refine stage's min-face (0: no refine stage).
	MinFace int
	// EngineMaxSide is the largest input side the engines of
	// NewRefineWith take (a TensorRT profile's maximum); 0: no limit of
	// their own (OpenCV). The small-face pass tiles and packs its inputs
	// to fit (RefineMaxSide).
	EngineMaxSide int

	gateOnce sync.Once
	gate     *passGate // shared by the refine workers of this model
}

// Open validates the model file (models.ReadONNX: missing, empty, corrupt
// and truncated files are errors naming the file), picks or checks the
// spec (a spec whose outputs the file lacks is an error naming both), and
// checks the input size and thresholds. It does not load OpenCV yet.
func Open(o Options) (*Model, error) {
	path := o.Model
	if path == "" {
		p, err := models.Asset(models.DefaultModel)
		if err != nil {
			return nil, fmt.Errorf("infer: default model: %w", err)
		}
		path = p
	}
	info, err := models.ReadONNX(path)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	var spec models.Spec
	if o.Spec == "" || o.Spec == "auto" {
		spec, _, err = models.Identify(path)
	} else {
		spec, err = models.Lookup(o.Spec)
		if err == nil {
			spec, err = spec.ForModel(info)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if info.Dynamic(0) {
		return nil, fmt.Errorf("infer: model %s input %s has dynamic shape %v, which OpenCV 4.6 cannot load (export it with a fixed shape)",
			path, info.Inputs[0].Name, info.Inputs[0].Shape)
	}
	if _, err := spec.Plan(o.Input, 640, 480); err != nil {
		return nil, fmt.Errorf("infer: model %s: %w", path, err)
	}
	if _, err := spec.NewDecoder(o.Decoder); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if o.MinFace > 0 && spec.Calibration.ProposalFace == 0 {
		return nil, fmt.Errorf("infer: model %s (%s) has no small-face calibration (models/CALIBRATION.md): run it with --min-face 0, knowing that it misses small faces", path, spec.Name)
	}
	return &Model{Path: path, Spec: spec, Info: info, Input: o.Input, Opts: o.Decoder, MinFace: o.MinFace}, nil
}

// NewPreprocess makes a preprocess worker.
func (m *Model) NewPreprocess() (*Preprocess, error) { return NewPreprocess(m.Spec, m.Input) }

// NewEngine loads the model in OpenCV (after the checks NewOpenCV makes,
// and a probe forward pass at the default input for a 640x480 frame).
func (m *Model) NewEngine() (*OpenCV, error) {
	plan, err := m.Spec.Plan(m.Input, 640, 480)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	return NewOpenCV(m.Path, OpenCVOptions{
		AnySize:    m.Spec.AnySize,
		Multiple:   m.Spec.PadMultiple,
		ProbeShape: []int{1, 3, plan.InputH, plan.InputW},
	})
}

// NewInfer makes an inference worker with its own OpenCV engine.
func (m *Model) NewInfer() (*Infer, error) {
	e, err := m.NewEngine()
	if err != nil {
		return nil, err
	}
	return NewInfer(e), nil
}

// NewRefine makes a refine worker (the small-face pass, Refine) with its
// own OpenCV engines; nil when MinFace is 0.
func (m *Model) NewRefine() (*Refine, error) {
	return m.NewRefineWith(func() (Engine, error) { return m.NewEngine() })
}

// NewRefineWith makes a refine worker whose two engines come from
// newEngine (conveyor run gives TensorRT contexts on that backend; their
// profile must cover RefineMaxSide(m.EngineMaxSide)); nil when MinFace is
// 0.
func (m *Model) NewRefineWith(newEngine func() (Engine, error)) (*Refine, error) {
	if m.MinFace <= 0 {
		return nil, nil
	}
	r, err := NewRefine(m, m.MinFace, newEngine)
	if err != nil {
		return nil, err
	}
	// The workers of one model share the gate that spares unchanged parts
	// of a video the second pass (passGate).
	m.gateOnce.Do(func() { m.gate = newPassGate() })
	r.gate = m.gate
	return r, nil
}

// NewDecode makes a decode worker with its own decoder.
func (m *Model) NewDecode() (*Decode, error) {
	d, err := m.Spec.NewDecoder(m.Opts)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	return NewDecode(d), nil
}
