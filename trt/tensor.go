package trt

import (
	"fmt"
	"math"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// maxDims is TensorRT's Dims::MAX_DIMS (8 in 8.5 and 10).
const maxDims = 8

// DataType is a tensor's element type, in the shim's own numbering
// (trt_wrapper.h TRT_DTYPE_*: change here, change there). The values match
// TensorRT's DataType where they exist.
type DataType int32

// The element types the shim reports.
const (
	Float32 DataType = 0
	Float16 DataType = 1
	Int8    DataType = 2
	Int32   DataType = 3
	Bool    DataType = 4
	Uint8   DataType = 5
	FP8     DataType = 6
	BF16    DataType = 7
	Int64   DataType = 8
	Int4    DataType = 9
	// Unknown is any type the shim does not know (a newer TensorRT's).
	Unknown DataType = 99
)

var dtypeNames = map[DataType]string{
	Float32: "float32", Float16: "float16", Int8: "int8", Int32: "int32", Bool: "bool",
	Uint8: "uint8", FP8: "fp8", BF16: "bf16", Int64: "int64", Int4: "int4",
}

func (d DataType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Size is the element size in bytes; 0 for types conveyor cannot bind
// (sub-byte, unknown).
func (d DataType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float16, BF16:
		return 2
	case Int8, Bool, Uint8, FP8:
		return 1
	case Int64:
		return 8
	}
	return 0
}

// TensorDesc is one input or output of a network or engine, as TensorRT
// reports it: the names are the ONNX graph's, -1 marks a dynamic dimension.
type TensorDesc struct {
	Name  string
	Input bool
	DType DataType
	Shape []int64
}

func (t TensorDesc) dynamic() bool {
	for _, d := range t.Shape {
		if d < 0 {
			return true
		}
	}
	return false
}

// Info converts the description to meta.TensorInfo.
func (t TensorDesc) Info() meta.TensorInfo {
	s := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		s[i] = int(d)
	}
	return meta.TensorInfo{Name: t.Name, Shape: s}
}

// checkBindable rejects tensors that Infer cannot exchange as float32.
func checkBindable(ts []TensorDesc) error {
	nIn := 0
	for _, t := range ts {
		if t.Input {
			nIn++
		}
		if t.DType != Float32 && t.DType != Float16 {
			kind := "output"
			if t.Input {
				kind = "input"
			}
			return fmt.Errorf("trt: %s %q has type %s: conveyor exchanges only float32 (or float16) tensors", kind, t.Name, t.DType)
		}
		if len(t.Shape) == 0 || len(t.Shape) > maxDims {
			return fmt.Errorf("trt: tensor %q has rank %d", t.Name, len(t.Shape))
		}
	}
	if nIn != 1 {
		return fmt.Errorf("trt: the engine has %d inputs: conveyor runs single-input image models", nIn)
	}
	return nil
}

// bufferBytes is the size of a tensor of shape dims and type dt, checked
// for dynamic dimensions and overflow.
func bufferBytes(dims []int64, dt DataType) (int64, error) {
	size := int64(dt.Size())
	if size == 0 {
		return 0, fmt.Errorf("trt: cannot size a %s tensor", dt)
	}
	n := size
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("trt: shape %s is not fully known", dimsString(dims))
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("trt: shape %s is too large", dimsString(dims))
		}
		n *= d
	}
	return n, nil
}

// checkInput checks an input tensor against the engine's input: same rank,
// fixed dimensions equal, dynamic ones inside the profile, and Data as long
// as the shape says.
func checkInput(in TensorDesc, prof *Profile, t meta.Tensor) ([]int64, error) {
	dims, n, err := checkShape(in, prof, t.Shape)
	if err != nil {
		return nil, err
	}
	if int64(len(t.Data)) != n {
		return nil, fmt.Errorf("trt: input %q: shape %v needs %d values, got %d", in.Name, t.Shape, n, len(t.Data))
	}
	return dims, nil
}

// checkShape checks an input shape against the engine's input (rank, fixed
// dimensions, profile) and returns it as dims and its number of values.
func checkShape(in TensorDesc, prof *Profile, shape []int) ([]int64, int64, error) {
	if len(shape) != len(in.Shape) {
		return nil, 0, fmt.Errorf("trt: input %q: got shape %v, the engine wants rank %d (%s)", in.Name, shape, len(in.Shape), dimsString(in.Shape))
	}
	dims := make([]int64, len(shape))
	n := int64(1)
	for i, v := range shape {
		d := int64(v)
		dims[i] = d
		n *= d
		if in.Shape[i] >= 0 {
			if d != in.Shape[i] {
				return nil, 0, fmt.Errorf("trt: input %q: dimension %d is %d, the engine wants %d (%s)", in.Name, i, d, in.Shape[i], dimsString(in.Shape))
			}
			continue
		}
		if prof == nil {
			return nil, 0, fmt.Errorf("trt: input %q has a dynamic dimension %d but the engine has no profile", in.Name, i)
		}
		if d < prof.Min[i] || d > prof.Max[i] {
			what := fmt.Sprintf("dimension %d", i)
			if i == 0 {
				what = "batch"
			}
			return nil, 0, fmt.Errorf("%w: input %q: %s %d is outside %d..%d (profile %s)", ErrBatchTooLarge, in.Name, what, d, prof.Min[i], prof.Max[i], prof)
		}
	}
	return dims, n, nil
}
