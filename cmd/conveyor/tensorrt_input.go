package main

import (
	"fmt"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt"
)

// tensorRTInput is how a TensorRT engine covers the input sizes conveyor
// run gives a model: the same effective input as the OpenCV backend,
// never the size the ONNX file happened to be exported at.
type tensorRTInput struct {
	// Dynamic: the file's input has a fixed height and width that the
	// engine must not keep; build from a copy where they are dynamic
	// (models.DynamicInput).
	Dynamic bool
	// Profile is the optimization profile of the input (nil: the file's
	// own fixed shape, or the user's --shape).
	Profile *trt.ShapeRange
	// MaxSide is the largest input side the engine takes, for the
	// small-face pass (infer.Model.EngineMaxSide); 0: no pass.
	MaxSide int
}

// planTensorRTInput decides the engine's input for a model (spec and info
// as infer.Open found them) run at size (--input-size; zero is the spec's
// default) with up to batch frames a call (--batch), given the user's
// --shape profiles and the small-face pass's min-face (its tiles and
// canvases run on the same engine: with minFace > 0 the profile spans
// MinInputSide to infer.MaxCanvasSide as well):
//
//   - a fixed-size spec (UltraFace) runs at the file's size on both
//     backends: nothing to do;
//   - the user's --shape for the input wins (the file is made dynamic if
//     it is not);
//   - --input-size N (the default, 640): every input up to NxN, from
//     MinInputSide, best at a 4:3 frame's (480x640 for 640);
//   - --input-size WxH: exactly that size;
//   - --input-size frame: refused (the largest frame is unknown: give
//     --shape or a size).
func planTensorRTInput(spec models.Spec, info models.ModelInfo, size models.InputSize, batch int, user trt.ShapeList, minFace int) (tensorRTInput, error) {
	if !spec.AnySize || len(info.Inputs) != 1 || len(info.Inputs[0].Shape) != 4 {
		return tensorRTInput{}, nil
	}
	in := info.Inputs[0]
	fixedHW := in.Shape[2] > 0 && in.Shape[3] > 0
	for _, s := range user {
		if s.Name == in.Name && len(s.Max) == 4 {
			out := tensorRTInput{Dynamic: fixedHW}
			if minFace > 0 {
				out.MaxSide = int(min(s.Max[2], s.Max[3]))
			}
			return out, nil
		}
	}
	if size.IsZero() {
		size = spec.DefaultInput
	}
	mult := max(spec.PadMultiple, 1)
	up := func(v int) int64 { return int64((v + mult - 1) / mult * mult) }
	var lo, opt, hi [2]int64 // height, width
	switch {
	case size.Frame:
		return tensorRTInput{}, fmt.Errorf("tensorrt: --input-size frame: the engine needs the largest input it will see: give it with --shape %s=1x3x%dx%d:1x3xHxW:1x3xHxW (H and W: the largest frame), or use --input-size N (the longer side, e.g. 1280)",
			in.Name, infer.MinInputSide, infer.MinInputSide)
	case size.Long > 0:
		lo = [2]int64{up(infer.MinInputSide), up(infer.MinInputSide)}
		opt = [2]int64{up(size.Long * 3 / 4), up(size.Long)}
		hi = [2]int64{up(size.Long), up(size.Long)}
	case size.W > 0 && size.H > 0:
		lo = [2]int64{up(size.H), up(size.W)}
		opt, hi = lo, lo
		if fixedHW && minFace <= 0 && lo == [2]int64{int64(in.Shape[2]), int64(in.Shape[3])} {
			return tensorRTInput{}, nil // the file's own size
		}
	default:
		return tensorRTInput{}, fmt.Errorf("tensorrt: bad input size %s", size)
	}
	var maxSide int
	if minFace > 0 {
		for i := range 2 {
			lo[i] = min(lo[i], up(infer.MinInputSide))
			hi[i] = max(hi[i], up(infer.MaxCanvasSide))
		}
		maxSide = int(min(hi[0], hi[1]))
	}
	n, c := int64(in.Shape[0]), int64(in.Shape[1])
	if c <= 0 {
		c = 3
	}
	nLo, nOpt, nHi := n, n, n
	if n <= 0 {
		b := trt.BatchProfile(batch)
		nLo, nOpt, nHi = int64(b.Min), int64(b.Opt), int64(b.Max)
	}
	return tensorRTInput{Dynamic: fixedHW, MaxSide: maxSide, Profile: &trt.ShapeRange{
		Name: in.Name,
		Min:  []int64{nLo, c, lo[0], lo[1]},
		Opt:  []int64{nOpt, c, opt[0], opt[1]},
		Max:  []int64{nHi, c, hi[0], hi[1]},
	}}, nil
}

// checkTensorRTInput refuses an engine whose input is fixed at a size other
// than the one the model runs at on OpenCV (a plan given with --engine,
// built elsewhere from the file as exported): YuNet at 160x120 loses every
// small face, silently.
func checkTensorRTInput(spec models.Spec, size models.InputSize, inputs []meta.TensorInfo) error {
	if !spec.AnySize || len(inputs) != 1 || len(inputs[0].Shape) != 4 {
		return nil
	}
	h, w := inputs[0].Shape[2], inputs[0].Shape[3]
	if h <= 0 || w <= 0 || (size.W == w && size.H == h) {
		return nil
	}
	if size.IsZero() {
		size = spec.DefaultInput
	}
	return fmt.Errorf("tensorrt: the engine takes a fixed %dx%d input, but %s runs at input size %s (as on the OpenCV backend): small faces would be lost; "+
		"leave out --engine so that conveyor run builds one with a dynamic height and width, or pass --input-size %dx%d to run at the engine's size",
		w, h, spec.Name, size, w, h)
}
