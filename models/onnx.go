package models

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"google.golang.org/protobuf/encoding/protowire"
)

// MaxModelBytes bounds the size of a model file ReadONNX accepts (the
// detectors we ship are under 2 MB; protobuf itself caps a message at 2 GB).
const MaxModelBytes = 1 << 30

// ErrBadModel is wrapped by every error ReadONNX and ParseONNX return for a
// file that is not a usable ONNX model (missing, empty, truncated, corrupt).
var ErrBadModel = errors.New("not a usable onnx model")

// ModelInfo is what ReadONNX learns from an .onnx file without running it.
type ModelInfo struct {
	// Path is the file read ("" for ParseONNX).
	Path string
	// IRVersion is the ONNX IR version, Opset the default-domain opset (0 if
	// the file does not say).
	IRVersion int64
	Opset     int64
	Producer  string
	// Inputs are the graph inputs that are not initializers (weights), in
	// file order. Outputs are the graph outputs. A dimension that is dynamic
	// (a dim_param, or no value) is -1.
	Inputs  []meta.TensorInfo
	Outputs []meta.TensorInfo
	// Ops are the op types of the graph's nodes, each once, sorted.
	Ops []string
}

// OutputNames lists the outputs' names in file order.
func (m ModelInfo) OutputNames() []string {
	names := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		names[i] = o.Name
	}
	return names
}

// Dynamic reports whether any dimension of input i is dynamic (or zero,
// which OpenCV 4.6 also rejects).
func (m ModelInfo) Dynamic(i int) bool {
	if i < 0 || i >= len(m.Inputs) {
		return false
	}
	for _, d := range m.Inputs[i].Shape {
		if d <= 0 {
			return true
		}
	}
	return false
}

// ReadONNX reads the graph inputs and outputs of the .onnx file at path.
// Call it before handing a file to OpenCV: gocv aborts the process on a
// missing or corrupt model, ReadONNX returns an error naming the file.
func ReadONNX(path string) (ModelInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w: %w", path, ErrBadModel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w: %w", path, ErrBadModel, err)
	}
	if st.IsDir() {
		return ModelInfo{}, fmt.Errorf("model %s: %w: is a directory", path, ErrBadModel)
	}
	if st.Size() > MaxModelBytes {
		return ModelInfo{}, fmt.Errorf("model %s: %w: %d bytes is more than %d", path, ErrBadModel, st.Size(), MaxModelBytes)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w: %w", path, ErrBadModel, err)
	}
	info, err := ParseONNX(b)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

// Field numbers from onnx/onnx.proto (ModelProto, GraphProto,
// ValueInfoProto, TypeProto, TensorShapeProto, TensorProto).
const (
	modelIRVersion   = 1
	modelProducer    = 2
	modelGraph       = 7
	modelOpsetImport = 8

	opsetDomain  = 1
	opsetVersion = 2

	graphNode              = 1
	nodeOpType             = 4
	graphInitializer       = 5
	graphInput             = 11
	graphOutput            = 12
	graphSparseInitializer = 15

	valueName = 1
	valueType = 2

	typeTensor      = 1
	tensorTypeShape = 2
	shapeDim        = 1
	dimValue        = 1
	dimParam        = 2

	tensorName       = 8
	sparseValues     = 1
	maxDims          = 32
	maxTensorsListed = 1 << 16
)

// ParseONNX reads an ONNX ModelProto from b. It never panics: any input that
// is not a well-formed model gives an error wrapping ErrBadModel.
func ParseONNX(b []byte) (ModelInfo, error) {
	var info ModelInfo
	if len(b) == 0 {
		return info, fmt.Errorf("%w: empty file", ErrBadModel)
	}
	var graph []byte
	haveGraph := false
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == modelIRVersion && typ == protowire.VarintType:
			info.IRVersion = int64(x)
		case num == modelProducer && typ == protowire.BytesType:
			info.Producer = string(v)
		case num == modelGraph && typ == protowire.BytesType:
			graph, haveGraph = v, true
		case num == modelOpsetImport && typ == protowire.BytesType:
			var domain string
			var version int64
			if err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == opsetDomain && typ == protowire.BytesType:
					domain = string(v)
				case num == opsetVersion && typ == protowire.VarintType:
					version = int64(x)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			if domain == "" || domain == "ai.onnx" {
				info.Opset = version
			}
		}
		return nil
	})
	if err != nil {
		return ModelInfo{}, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	if !haveGraph {
		return ModelInfo{}, fmt.Errorf("%w: no graph (truncated, or not an onnx file)", ErrBadModel)
	}
	if info.IRVersion <= 0 {
		return ModelInfo{}, fmt.Errorf("%w: no ir_version (not an onnx file)", ErrBadModel)
	}
	inits := map[string]bool{}
	var inputs []meta.TensorInfo
	err = eachField(graph, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphNode:
			op, err := stringField(v, nodeOpType)
			if err != nil {
				return fmt.Errorf("node: %w", err)
			}
			if !slices.Contains(info.Ops, op) && len(info.Ops) < maxTensorsListed {
				info.Ops = append(info.Ops, op)
			}
		case graphInitializer:
			name, err := stringField(v, tensorName)
			if err != nil {
				return fmt.Errorf("initializer: %w", err)
			}
			inits[name] = true
		case graphSparseInitializer:
			values, err := bytesField(v, sparseValues)
			if err != nil {
				return fmt.Errorf("sparse_initializer: %w", err)
			}
			name, err := stringField(values, tensorName)
			if err != nil {
				return fmt.Errorf("sparse_initializer: %w", err)
			}
			inits[name] = true
		case graphInput, graphOutput:
			ti, err := parseValueInfo(v)
			if err != nil {
				return fmt.Errorf("graph input/output: %w", err)
			}
			if num == graphInput {
				inputs = append(inputs, ti)
			} else {
				info.Outputs = append(info.Outputs, ti)
			}
			if len(inputs)+len(info.Outputs) > maxTensorsListed {
				return errors.New("too many graph inputs and outputs")
			}
		}
		return nil
	})
	if err != nil {
		return ModelInfo{}, fmt.Errorf("%w: graph: %w", ErrBadModel, err)
	}
	for _, in := range inputs {
		if !inits[in.Name] {
			info.Inputs = append(info.Inputs, in)
		}
	}
	slices.Sort(info.Ops)
	if len(info.Inputs) == 0 {
		return ModelInfo{}, fmt.Errorf("%w: graph has no input", ErrBadModel)
	}
	if len(info.Outputs) == 0 {
		return ModelInfo{}, fmt.Errorf("%w: graph has no output", ErrBadModel)
	}
	return info, nil
}

func parseValueInfo(b []byte) (meta.TensorInfo, error) {
	var ti meta.TensorInfo
	var typ []byte
	err := eachField(b, func(num protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		if t != protowire.BytesType {
			return nil
		}
		switch num {
		case valueName:
			ti.Name = string(v)
		case valueType:
			typ = v
		}
		return nil
	})
	if err != nil {
		return ti, err
	}
	if ti.Name == "" {
		return ti, errors.New("tensor without a name")
	}
	if typ == nil {
		return ti, nil
	}
	tensor, err := bytesField(typ, typeTensor)
	if err != nil || tensor == nil {
		return ti, err // not a tensor (sequence, map): no shape
	}
	shape, err := bytesField(tensor, tensorTypeShape)
	if err != nil || shape == nil {
		return ti, err
	}
	ti.Shape = []int{}
	err = eachField(shape, func(num protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		if num != shapeDim || t != protowire.BytesType {
			return nil
		}
		if len(ti.Shape) >= maxDims {
			return fmt.Errorf("tensor %s has more than %d dimensions", ti.Name, maxDims)
		}
		d := -1
		if err := eachField(v, func(num protowire.Number, t protowire.Type, _ []byte, x uint64) error {
			if num == dimValue && t == protowire.VarintType {
				if int64(x) >= 0 && int64(x) <= 1<<31 {
					d = int(x)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		ti.Shape = append(ti.Shape, d)
		return nil
	})
	return ti, err
}

// eachField walks the fields of one protobuf message. v is the payload of a
// length-delimited field, x the value of a varint or fixed field.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("truncated or corrupt: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("truncated or corrupt field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// bytesField returns the last occurrence of a length-delimited field (nil if
// absent).
func bytesField(b []byte, want protowire.Number) ([]byte, error) {
	var out []byte
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == want && typ == protowire.BytesType {
			out = v
		}
		return nil
	})
	return out, err
}

func stringField(b []byte, want protowire.Number) (string, error) {
	v, err := bytesField(b, want)
	return string(v), err
}
