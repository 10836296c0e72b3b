package trt

import (
	"fmt"
	"strings"
)

// Precision is the arithmetic TensorRT may use inside the engine. Inputs
// and outputs keep the types the engine gives them (float32, or float16 for
// an fp16 model), whatever the precision.
type Precision string

// The precisions conveyor can ask for.
const (
	// Auto is conveyor run's default: FP16 on TensorRT 8 and 10, Model on
	// TensorRT 11, which has no other choice.
	Auto Precision = "auto"
	// FP32 adds no reduced-precision flag. On TensorRT 11 it is Model.
	FP32 Precision = "fp32"
	// FP16 lets TensorRT 8 and 10 pick FP16 kernels (weakly typed). TensorRT
	// 11 removed the flag: there it is an error.
	FP16 Precision = "fp16"
	// INT8 also enables FP16 and needs a calibration cache
	// (BuildOptions.CalibrationCache): conveyor does not calibrate. TensorRT
	// 11 removed calibration: there it is an error.
	INT8 Precision = "int8"
	// Model builds a strongly typed network: every layer runs in the type
	// the ONNX model gives it (an fp16 export, Q/DQ nodes for int8).
	// TensorRT 11 always does this; 10 does on request; 8 cannot.
	Model Precision = "model"
)

// ParsePrecision reads "auto", "fp32", "fp16", "int8" or "model", in any
// case; "" is FP32, the library's default (conveyor run's is Auto).
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return FP32, nil
	case Auto, FP32, FP16, INT8, Model:
		return p, nil
	}
	return "", fmt.Errorf("precision: must be auto, fp32, fp16, int8 or model, not %q", s)
}

// String returns the name ParsePrecision reads ("fp32" for "").
func (p Precision) String() string {
	if p == "" {
		return string(FP32)
	}
	return string(p)
}

// MarshalText writes the name.
func (p Precision) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a name as ParsePrecision does.
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Resolve is the precision an engine is built with on TensorRT v: Auto
// becomes FP16 before 11 and Model on 11, FP32 on 11 becomes Model. It
// fails, before anything is parsed, for what v cannot do: fp16 and int8 on
// 11 (weak typing and calibration were removed), model on 8.x (no strongly
// typed networks). The result is what the cache key records.
func (p Precision) Resolve(v Version) (Precision, error) {
	if p == "" {
		p = FP32
	}
	if v.Major >= 11 {
		switch p {
		case Auto, FP32, Model:
			return Model, nil
		}
		return "", fmt.Errorf("trt: precision %s: TensorRT %s removed the fp16 and int8 builder flags and INT8 calibration: an engine takes its types from the ONNX model (fp16 weights, Q/DQ nodes). Use precision auto with an fp16 or quantized (Q/DQ) ONNX model", p, v)
	}
	switch p {
	case Auto:
		return FP16, nil
	case Model:
		if v.Major < 10 {
			return "", fmt.Errorf("trt: precision model (a strongly typed network) needs TensorRT 10 or newer, this is %s: use fp16 or fp32", v)
		}
	}
	return p, nil
}
