package trt

import (
	"errors"
	"fmt"

	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// ErrNoCUDA is returned by Context.InferFrames in a binary built with
// TensorRT but without conveyor's CUDA kernels.
var ErrNoCUDA = errors.New(`trt: conveyor was built with TensorRT but without its CUDA kernels: run trt/cuda/build.sh and build with -tags "tensorrt cuda" (make trt)`)

// FramesBuilt reports whether Context.InferFrames can work in this binary
// (built with -tags "tensorrt cuda").
const FramesBuilt = Built && cuda.Built

// FrameView is one BGR8 frame in host memory for Context.InferFrames, and how
// it becomes its batch slot of the engine's input.
type FrameView struct {
	// Data holds the pixels: Prep.SrcH rows of Prep.SrcStride bytes (the
	// last row may end after 3*Prep.SrcW bytes). It may be Go memory or C
	// memory (a gocv Mat's); InferFrames only reads it during the call and
	// keeps no pointer to it.
	Data []byte
	// Prep says how the frame becomes the input: SrcW, SrcH, SrcStride
	// describe Data; DstW x DstH is the input size (the same for every
	// frame of a call); ResizeW x ResizeH (or Letterbox), Center, PadValue,
	// SwapRB, Mean and Scale as cuda.Preprocess documents. SrcBatchStride
	// and FP16 are ignored: frames are uploaded one by one, and the
	// engine's input type decides the output type.
	Prep cuda.Preprocess
}

// checkFrames checks a call's frames against the engine's input (an NCHW
// image input with 3 channels, the batch inside the profile) and returns
// the input shape they make.
func checkFrames(in TensorDesc, prof *Profile, frames []FrameView) ([]int64, error) {
	if len(frames) == 0 {
		return nil, errors.New("trt: infer frames: no frames")
	}
	if len(in.Shape) != 4 || (in.Shape[1] != 3 && in.Shape[1] >= 0) {
		return nil, fmt.Errorf("trt: infer frames: input %q has shape %s, not N x 3 x H x W", in.Name, dimsString(in.Shape))
	}
	if in.DType != Float32 && in.DType != Float16 {
		return nil, fmt.Errorf("trt: infer frames: input %q has type %s: the CUDA preprocessing writes float32 or float16", in.Name, in.DType)
	}
	w, h := frames[0].Prep.DstW, frames[0].Prep.DstH
	for i, f := range frames {
		p := f.Prep
		p.SrcBatchStride = 0
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("trt: infer frames: frame %d: %w", i, err)
		}
		if p.DstW != w || p.DstH != h {
			return nil, fmt.Errorf("trt: infer frames: frame %d makes a %dx%d input, frame 0 a %dx%d one: one call takes one input size", i, p.DstW, p.DstH, w, h)
		}
		if need := p.InputBytes(1); int64(len(f.Data)) < need {
			return nil, fmt.Errorf("trt: infer frames: frame %d has %d bytes, a %dx%d frame with stride %d needs %d", i, len(f.Data), p.SrcW, p.SrcH, p.SrcStride, need)
		}
	}
	dims, _, err := checkShape(in, prof, []int{len(frames), 3, h, w})
	if err != nil {
		return nil, err
	}
	return dims, nil
}

// stagingAlign is the alignment of each frame in the staging buffers
// (cudaMalloc's).
const stagingAlign = 256

// stagingLayout places the frames one after another in the pinned and
// device staging buffers, each at an aligned offset, and returns the
// offsets and the bytes needed.
func stagingLayout(frames []FrameView) (offs []int, total int) {
	offs = make([]int, len(frames))
	for i, f := range frames {
		p := f.Prep
		p.SrcBatchStride = 0
		offs[i] = total
		total += (int(p.InputBytes(1)) + stagingAlign - 1) &^ (stagingAlign - 1)
	}
	return offs, total
}

// staging is a Context's pinned host buffer and device buffer for frames
// on their way to the preprocessing kernel, grown as needed. Only the
// Context's thread touches it, and only while its stream is idle.
type staging struct {
	host *cuda.HostBuffer
	dev  *cuda.Buffer
}

// reserve makes both buffers at least n bytes (grown by a quarter more, so
// that slowly growing batches do not reallocate on every call).
func (s *staging) reserve(n int) error {
	if s.host != nil && s.host.Size() >= n && s.dev != nil && s.dev.Size() >= n {
		return nil
	}
	s.free()
	n += n / 4
	var err error
	if s.host, err = cuda.HostAlloc(n); err != nil {
		return fmt.Errorf("trt: frame staging: %w", err)
	}
	if s.dev, err = cuda.Malloc(n); err != nil {
		s.free()
		return fmt.Errorf("trt: frame staging: %w", err)
	}
	return nil
}

// free releases both buffers. Idempotent.
func (s *staging) free() {
	s.host.Free()
	s.dev.Free()
	s.host, s.dev = nil, nil
}
