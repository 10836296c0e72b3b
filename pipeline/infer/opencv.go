package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// ErrClosed is returned by an engine or stage used after Close.
var ErrClosed = errors.New("infer: closed")

// OpenCVOptions tune an OpenCV engine.
type OpenCVOptions struct {
	// AnySize lets inputs differ in H and W from the file's input shape
	// (YuNet); false requires the file's exact shape (UltraFace), since
	// OpenCV aborts on a shape a fixed graph cannot take.
	AnySize bool
	// Multiple, when > 1, requires input H and W to be multiples of it
	// (YuNet 2023mar: 32).
	Multiple int
	// ProbeShape, when set, makes NewOpenCV run one forward pass on zeros of
	// that shape inside a C++ try/catch, so that a model that loads but
	// cannot run fails here with an error instead of aborting later.
	ProbeShape []int
}

// OpenCV is a Engine over OpenCV's DNN module (gocv), backend
// OpenCV, target CPU. It is used by one goroutine at a time.
//
// Infer's output tensors live in buffers the engine owns and reuses: they
// are valid until the next Infer or Close. Close releases the network.
type OpenCV struct {
	path     string
	info     models.ModelInfo
	opts     OpenCVOptions
	net      gocv.Net
	blob     gocv.Mat // reused input Mat, reshaped when the input shape changes
	blobDims []int
	outNames []string
	fwd      *forwarder
	outs     []meta.Tensor
	inputs   []meta.TensorInfo
	outputs  []meta.TensorInfo
	closed   bool
}

var _ Engine = (*OpenCV)(nil)

// NewOpenCV validates the ONNX file at path with models.ReadONNX (missing,
// empty, truncated, corrupt, dynamic-shape files are errors naming the
// file), checks that OpenCV can load it with every C++ exception caught,
// then loads it with gocv. The caller closes the engine.
func NewOpenCV(path string, o OpenCVOptions) (*OpenCV, error) {
	info, err := models.ReadONNX(path)
	if err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if len(info.Inputs) != 1 {
		return nil, fmt.Errorf("infer: model %s has %d inputs; the engine feeds exactly one", path, len(info.Inputs))
	}
	if info.Dynamic(0) {
		return nil, fmt.Errorf("infer: model %s input %s has dynamic shape %v, which OpenCV 4.6 cannot load (export it with a fixed shape)",
			path, info.Inputs[0].Name, info.Inputs[0].Shape)
	}
	e := &OpenCV{path: path, info: info, opts: o, outNames: info.OutputNames()}
	if err := probe(path, o.ProbeShape, e.outNames); err != nil {
		return nil, fmt.Errorf("infer: model %s: %w", path, err)
	}
	e.net = gocv.ReadNetFromONNX(path)
	if e.net.Empty() {
		_ = e.net.Close()
		return nil, fmt.Errorf("infer: model %s: opencv loaded an empty network", path)
	}
	layers := e.net.GetLayerNames()
	for _, n := range e.outNames {
		if !slices.Contains(layers, n) {
			_ = e.net.Close()
			return nil, fmt.Errorf("infer: model %s: output %s is not a layer name in OpenCV's graph", path, n)
		}
	}
	_ = e.net.SetPreferableBackend(gocv.NetBackendOpenCV)
	_ = e.net.SetPreferableTarget(gocv.NetTargetCPU)
	e.inputs = []meta.TensorInfo{{Name: info.Inputs[0].Name, Shape: slices.Clone(info.Inputs[0].Shape)}}
	if o.AnySize && len(e.inputs[0].Shape) == 4 {
		e.inputs[0].Shape[2], e.inputs[0].Shape[3] = -1, -1
	}
	for _, t := range info.Outputs {
		e.outputs = append(e.outputs, meta.TensorInfo{Name: t.Name, Shape: slices.Clone(t.Shape)})
	}
	e.outs = make([]meta.Tensor, len(e.outNames))
	e.fwd = newForwarder(e.outNames)
	return e, nil
}

// Path is the model file.
func (e *OpenCV) Path() string { return e.path }

// Inputs describes the network input; with AnySize, H and W are -1.
func (e *OpenCV) Inputs() []meta.TensorInfo { return e.inputs }

// Outputs describes the network outputs as the file declares them (OpenCV
// may give a different rank at run time; Infer reports the real shape).
func (e *OpenCV) Outputs() []meta.TensorInfo { return e.outputs }

// checkInput rejects inputs OpenCV would abort on.
func (e *OpenCV) checkInput(in meta.Tensor) error {
	s := in.Shape
	if len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] < 1 || s[3] < 1 || s[2] > 8192 || s[3] > 8192 {
		return fmt.Errorf("infer: model %s: input shape %v, want [1 3 H W]", e.path, s)
	}
	if len(in.Data) != s[0]*s[1]*s[2]*s[3] {
		return fmt.Errorf("infer: model %s: input has %d values, shape %v needs %d", e.path, len(in.Data), s, s[0]*s[1]*s[2]*s[3])
	}
	fixed := e.info.Inputs[0].Shape
	if !e.opts.AnySize && (s[2] != fixed[2] || s[3] != fixed[3]) {
		return fmt.Errorf("infer: model %s runs only at %dx%d, input is %dx%d", e.path, fixed[3], fixed[2], s[3], s[2])
	}
	if m := e.opts.Multiple; m > 1 && (s[2]%m != 0 || s[3]%m != 0) {
		return fmt.Errorf("infer: model %s needs input W and H multiples of %d, input is %dx%d", e.path, m, s[3], s[2])
	}
	return nil
}

// Infer copies input into the engine's input Mat, runs the network and
// copies every output Mat into the engine's buffers, closing the Mats.
func (e *OpenCV) Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.checkInput(input); err != nil {
		return nil, err
	}
	if !slices.Equal(e.blobDims, input.Shape) {
		if e.blob.Ptr() != nil {
			_ = e.blob.Close()
		}
		e.blob = gocv.NewMatWithSizes(input.Shape, gocv.MatTypeCV32F)
		e.blobDims = slices.Clone(input.Shape)
	}
	dst, err := e.blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("infer: model %s: input mat: %w", e.path, err)
	}
	copy(dst, input.Data)
	e.net.SetInput(e.blob, "")
	mats, err := e.fwd.forward(&e.net)
	if err != nil {
		return nil, fmt.Errorf("infer: model %s: %w", e.path, err)
	}
	for i := range mats {
		data, err := mats[i].DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("infer: model %s: output %s: %w", e.path, e.outNames[i], err)
		}
		t := &e.outs[i]
		t.Name = e.outNames[i]
		t.Shape = append(t.Shape[:0], mats[i].Size()...)
		if cap(t.Data) < len(data) {
			t.Data = make([]float32, len(data))
		}
		t.Data = t.Data[:len(data)]
		copy(t.Data, data)
	}
	return e.outs, nil
}

// Close releases the network and the input Mat. It is idempotent.
func (e *OpenCV) Close() error {
	if e == nil || e.closed {
		return nil
	}
	e.closed = true
	if e.blob.Ptr() != nil {
		_ = e.blob.Close()
		e.blob = gocv.Mat{}
	}
	if e.fwd != nil {
		e.fwd.close()
		e.fwd = nil
	}
	err := e.net.Close()
	e.outs = nil
	if err != nil {
		return fmt.Errorf("infer: close %s: %w", e.path, err)
	}
	return nil
}
