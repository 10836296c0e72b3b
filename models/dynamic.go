package models

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// GraphProto.value_info: shapes of intermediate tensors (onnx.go has the
// other field numbers).
const graphValueInfo = 13

// DynamicInput returns a copy of the ONNX model b whose input named input
// has a dynamic height and width (dimensions 2 and 3 become the symbols
// "height" and "width"), so that TensorRT can build an engine for a range
// of input sizes from a model exported at one size. OpenCV DNN runs such a
// model at any size by ignoring the declared shape; TensorRT takes the
// declared shape as the truth, and without this edit would run YuNet
// 2022mar at the 160x120 it was exported at.
//
// The shapes that were computed for the exported size go too: the
// outputs' dimensions become symbols and the graph's value_info (shape
// hints, optional in ONNX) is dropped; TensorRT infers them from the input. Everything else (nodes,
// weights, metadata) is copied byte for byte. The graph itself must not
// depend on the input size (no Reshape to a constant computed from it):
// true of every model whose Spec says AnySize.
func DynamicInput(b []byte, input string) ([]byte, error) {
	var out []byte
	found := false
	err := eachRaw(b, func(num protowire.Number, typ protowire.Type, raw, v []byte) error {
		if num != modelGraph || typ != protowire.BytesType {
			out = append(out, raw...)
			return nil
		}
		g, ok, err := dynamicGraph(v, input)
		if err != nil {
			return err
		}
		found = found || ok
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("models: dynamic input: %w: %w", err, ErrBadModel)
	}
	if !found {
		return nil, fmt.Errorf("models: dynamic input: the model has no 4-dimensional input %q: %w", input, ErrBadModel)
	}
	return out, nil
}

func dynamicGraph(g []byte, input string) ([]byte, bool, error) {
	var out []byte
	found := false
	err := eachRaw(g, func(num protowire.Number, typ protowire.Type, raw, v []byte) error {
		if typ != protowire.BytesType {
			out = append(out, raw...)
			return nil
		}
		switch num {
		case graphValueInfo:
			return nil // shapes at the exported size
		case graphOutput:
			name, err := stringField(v, valueName)
			if err != nil {
				return err
			}
			vi, err := editValueInfo(v, func(s []byte) ([]byte, error) { return symbolicDims(s, name, 0) })
			if err != nil {
				return err
			}
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendBytes(out, vi)
			return nil
		case graphInput:
			name, err := stringField(v, valueName)
			if err != nil {
				return err
			}
			if name != input {
				out = append(out, raw...)
				return nil
			}
			vi, err := editValueInfo(v, func(s []byte) ([]byte, error) { return symbolicDims(s, "", 2) })
			if err != nil {
				return err
			}
			found = true
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendBytes(out, vi)
			return nil
		}
		out = append(out, raw...)
		return nil
	})
	return out, found, err
}

// editValueInfo rewrites the tensor shape of a ValueInfoProto with edit.
func editValueInfo(vi []byte, edit func(shape []byte) ([]byte, error)) ([]byte, error) {
	return editField(vi, valueType, func(tp []byte) ([]byte, error) {
		return editField(tp, typeTensor, func(tt []byte) ([]byte, error) {
			return editField(tt, tensorTypeShape, edit)
		})
	})
}

// symbolicDims makes the dimensions of a shape from index from on
// symbolic: "height" and "width" for an input (from 2 of NCHW), "NAME_i"
// for output NAME (from 0). An input must have 4 dimensions.
func symbolicDims(shape []byte, output string, from int) ([]byte, error) {
	var dims [][]byte
	err := eachRaw(shape, func(num protowire.Number, typ protowire.Type, raw, v []byte) error {
		if num == shapeDim && typ == protowire.BytesType {
			dims = append(dims, raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if output == "" && len(dims) != 4 {
		return nil, fmt.Errorf("input has %d dimensions, want 4 (NCHW)", len(dims))
	}
	var out []byte
	for i, raw := range dims {
		if i < from {
			out = append(out, raw...)
			continue
		}
		sym := fmt.Sprintf("%s_%d", output, i)
		if output == "" {
			sym = [...]string{"height", "width"}[i-2]
		}
		var d []byte
		d = protowire.AppendTag(d, dimParam, protowire.BytesType)
		d = protowire.AppendString(d, sym)
		out = protowire.AppendTag(out, shapeDim, protowire.BytesType)
		out = protowire.AppendBytes(out, d)
	}
	return out, nil
}

// editField rewrites every occurrence of the length-delimited field want of
// message b with edit; other fields are copied as they are.
func editField(b []byte, want protowire.Number, edit func([]byte) ([]byte, error)) ([]byte, error) {
	var out []byte
	err := eachRaw(b, func(num protowire.Number, typ protowire.Type, raw, v []byte) error {
		if num != want || typ != protowire.BytesType {
			out = append(out, raw...)
			return nil
		}
		e, err := edit(v)
		if err != nil {
			return err
		}
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, e)
		return nil
	})
	return out, err
}

// eachRaw walks the fields of one protobuf message like eachField, giving
// each field's bytes as they are in b (tag included) and, for a
// length-delimited field, its payload.
func eachRaw(b []byte, fn func(num protowire.Number, typ protowire.Type, raw, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("truncated or corrupt: %w", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return fmt.Errorf("truncated or corrupt field %d: %w", num, protowire.ParseError(m))
		}
		raw := b[:n+m]
		var v []byte
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(b[n:])
		}
		b = b[n+m:]
		if err := fn(num, typ, raw, v); err != nil {
			return err
		}
	}
	return nil
}
