//go:build tensorrt

package trt

/*
#include <stdlib.h>
#include "context.h"
#include "platform.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// Context is one TensorRT execution context with its CUDA stream, device
// buffers and pinned host buffers, all owned by one goroutine locked to its
// OS thread. It implements infer.Engine (and infer.FrameEngine).
type Context struct {
	e    *Engine
	reqs chan *request
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

type request struct {
	input  meta.Tensor
	frames []FrameView // set for InferFrames
	out    []meta.Tensor
	err    error
	reply  chan struct{}
}

// Open loads the engine (see Load) and makes one Context that owns it.
func Open(ctx context.Context, o Options) (*Context, error) {
	e, err := Load(ctx, o)
	if err != nil {
		return nil, err
	}
	c, err := e.NewContext()
	e.Close() // the Context holds its own reference
	return c, err
}

// NewContext makes an execution context for another inference worker.
// Close it before or after the Engine: the Engine's objects live until
// both are closed.
func (e *Engine) NewContext() (*Context, error) {
	if err := e.acquire(); err != nil {
		return nil, err
	}
	c := &Context{e: e, reqs: make(chan *request), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go c.loop(ready)
	if err := <-ready; err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

// buffer is one tensor's device memory and pinned host memory.
type buffer struct {
	desc  TensorDesc
	name  *C.char
	dev   unsafe.Pointer
	host  unsafe.Pointer
	bytes int64
	shape []int64
	conv  []float32 // float16 outputs converted for the caller
}

// loop owns the context, stream and buffers for the Context's whole life.
func (c *Context) loop(ready chan<- error) {
	defer close(c.done)
	defer c.e.release()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var ctx *C.trt_context
	var bufs []*buffer
	var st staging
	defer func() {
		if ctx != nil {
			// Every call ends with the stream idle; this is for safety.
			var msg *C.char
			_ = call("synchronize", C.trt_context_sync(ctx, &msg), msg)
		}
		st.free()
		if ctx != nil {
			C.trt_context_destroy(ctx)
		}
		for _, b := range bufs {
			C.trt_device_free(b.dev)
			C.trt_host_free(b.host)
			C.free(unsafe.Pointer(b.name))
		}
		drainLog(c.e.logf)
	}()
	var msg *C.char
	setup := func() error {
		defer drainLog(c.e.logf)
		if err := call("set device", C.trt_cuda_set_device(C.int32_t(c.e.device), &msg), msg); err != nil {
			return err
		}
		if err := call("create context", C.trt_context_create(c.e.eng, &ctx, &msg), msg); err != nil {
			return err
		}
		p := c.e.plan
		in := &buffer{desc: p.input, name: C.CString(p.input.Name), shape: p.maxInput}
		bufs = append(bufs, in)
		if err := setShape(ctx, in.name, p.maxInput); err != nil {
			return err
		}
		for _, o := range p.outputs {
			bufs = append(bufs, &buffer{desc: o, name: C.CString(o.Name)})
		}
		for _, b := range bufs {
			if !b.desc.Input {
				s, err := tensorShape(ctx, b.name, b.desc.Name)
				if err != nil {
					return err
				}
				b.shape = s
			}
			n, err := bufferBytes(b.shape, b.desc.DType)
			if err != nil {
				return err
			}
			b.bytes = n
			if err := call("allocate "+b.desc.Name, C.trt_device_alloc(C.size_t(n), &b.dev, &msg), msg); err != nil {
				return err
			}
			if err := call("allocate "+b.desc.Name, C.trt_host_alloc(C.size_t(n), &b.host, &msg), msg); err != nil {
				return err
			}
			if err := call("bind "+b.desc.Name, C.trt_context_set_address(ctx, b.name, b.dev, &msg), msg); err != nil {
				return err
			}
		}
		return nil
	}
	if err := setup(); err != nil {
		c.fail(err)
		ready <- err
		return
	}
	ready <- nil

	current := bufs[0].shape
	copies := (*C.trt_copy)(C.calloc(C.size_t(len(bufs)), C.size_t(unsafe.Sizeof(C.trt_copy{}))))
	defer C.free(unsafe.Pointer(copies))
	cp := unsafe.Slice(copies, len(bufs))
	for {
		var r *request
		select {
		case <-c.quit:
			return
		case r = <-c.reqs:
		}
		if err := c.e.brokenErr(); err != nil {
			r.err = err
		} else if r.frames != nil {
			r.out, r.err = c.runFrames(ctx, bufs, &current, cp, &st, r.frames)
		} else {
			r.out, r.err = c.run(ctx, bufs, &current, cp, r.input)
		}
		c.fail(r.err)
		drainLog(c.e.logf)
		close(r.reply)
	}
}

// fail marks the Engine broken after a sticky CUDA error (ErrBroken).
func (c *Context) fail(err error) {
	if err != nil && errors.Is(err, ErrBroken) {
		c.e.breakDown(err)
	}
}

// run does one inference on the Context's thread: set the input shape if it
// changed, copy the input into pinned memory, then copy in, enqueueV3 and
// copy out on the context's stream, and wait.
func (c *Context) run(ctx *C.trt_context, bufs []*buffer, current *[]int64, cp []C.trt_copy, input meta.Tensor) ([]meta.Tensor, error) {
	in := bufs[0]
	dims, err := checkInput(in.desc, c.e.plan.profile, input)
	if err != nil {
		return nil, err
	}
	if err := reshape(ctx, bufs, current, dims); err != nil {
		return nil, err
	}
	n := len(input.Data)
	switch in.desc.DType {
	case Float32:
		copy(unsafe.Slice((*float32)(in.host), n), input.Data)
	case Float16:
		h := unsafe.Slice((*uint16)(in.host), n)
		for i, v := range input.Data {
			h[i] = cuda.FloatToHalf(v)
		}
	}
	cp[0] = C.trt_copy{dst: in.dev, src: in.host, bytes: C.size_t(n * in.desc.DType.Size())}
	return execute(ctx, bufs, cp, 1)
}

// reshape sets the input shape to dims if it is not already, and reads the
// output shapes that follow from it.
func reshape(ctx *C.trt_context, bufs []*buffer, current *[]int64, dims []int64) error {
	if slices.Equal(dims, *current) {
		return nil
	}
	if err := setShape(ctx, bufs[0].name, dims); err != nil {
		return err
	}
	var err error
	for _, b := range bufs[1:] {
		if b.shape, err = tensorShape(ctx, b.name, b.desc.Name); err != nil {
			return err
		}
	}
	*current = dims
	return nil
}

// execute runs the shim's copy-in (cp[:nIn]), enqueueV3 and copy-out on the
// context's stream, waits, and returns the outputs as views of the pinned
// buffers (float16 ones converted). The stream is idle when it returns,
// whatever happened (trt_context_run synchronizes on every path).
func execute(ctx *C.trt_context, bufs []*buffer, cp []C.trt_copy, nIn int) ([]meta.Tensor, error) {
	for i, b := range bufs[1:] {
		nb, err := bufferBytes(b.shape, b.desc.DType)
		if err != nil {
			return nil, err
		}
		if nb > b.bytes {
			return nil, fmt.Errorf("trt: output %q of shape %s outgrew its buffer (%d > %d bytes)", b.desc.Name, dimsString(b.shape), nb, b.bytes)
		}
		cp[nIn+i] = C.trt_copy{dst: b.host, src: b.dev, bytes: C.size_t(nb)}
	}
	var h2d *C.trt_copy
	if nIn > 0 {
		h2d = &cp[0]
	}
	var msg *C.char
	if err := call("infer", C.trt_context_run(ctx, h2d, C.int32_t(nIn), &cp[nIn], C.int32_t(len(bufs)-1), &msg), msg); err != nil {
		return nil, err
	}
	out := make([]meta.Tensor, 0, len(bufs)-1)
	for _, b := range bufs[1:] {
		count := 1
		shape := make([]int, len(b.shape))
		for i, d := range b.shape {
			shape[i] = int(d)
			count *= int(d)
		}
		var data []float32
		if b.desc.DType == Float32 {
			data = unsafe.Slice((*float32)(b.host), count)
		} else {
			if cap(b.conv) < count {
				b.conv = make([]float32, count)
			}
			data = b.conv[:count]
			h := unsafe.Slice((*uint16)(b.host), count)
			for i := range data {
				data[i] = cuda.HalfToFloat(h[i])
			}
		}
		out = append(out, meta.Tensor{Name: b.desc.Name, Shape: shape, Data: data})
	}
	return out, nil
}

// runFrames does one inference from raw frames on the Context's thread:
// each frame is copied into the pinned staging buffer and uploaded on the
// context's stream, the CUDA preprocessing writes it into its batch slot
// of the input binding (in the binding's own type), then enqueueV3 and the
// output copies follow on the same stream. Nothing of the frames is kept.
// Whatever fails, the stream is idle on return: the staging buffer may be
// written by the next call.
func (c *Context) runFrames(ctx *C.trt_context, bufs []*buffer, current *[]int64, cp []C.trt_copy, st *staging, frames []FrameView) ([]meta.Tensor, error) {
	in := bufs[0]
	dims, err := checkFrames(in.desc, c.e.plan.profile, frames)
	if err != nil {
		return nil, err
	}
	if err := reshape(ctx, bufs, current, dims); err != nil {
		return nil, err
	}
	offs, total := stagingLayout(frames)
	if err := st.reserve(total); err != nil {
		return nil, err
	}
	slot := int(dims[1] * dims[2] * dims[3] * int64(in.desc.DType.Size()))
	s := cuda.StreamFrom(C.trt_context_stream(ctx))
	host := st.host.Bytes()
	for i, f := range frames {
		p := f.Prep
		p.SrcBatchStride = 0
		p.FP16 = in.desc.DType == Float16
		n := int(p.InputBytes(1))
		copy(host[offs[i]:offs[i]+n], f.Data[:n])
		src := unsafe.Add(st.dev.Ptr(), offs[i])
		err := cuda.UploadAsync(s, src, unsafe.Add(st.host.Ptr(), offs[i]), n)
		if err == nil {
			err = cuda.PreprocessAsync(s, src, unsafe.Add(in.dev, i*slot), 1, p)
		}
		if err != nil {
			return nil, settle(ctx, fmt.Errorf("trt: frame %d: %w", i, err))
		}
	}
	return execute(ctx, bufs, cp, 0)
}

// settle waits for the context's stream after a failed step, so that no
// queued copy still reads the staging buffer, and returns err, or the
// stream's own error when that is a sticky one (ErrBroken).
func settle(ctx *C.trt_context, err error) error {
	var msg *C.char
	if serr := call("synchronize", C.trt_context_sync(ctx, &msg), msg); serr != nil && errors.Is(serr, ErrBroken) {
		return fmt.Errorf("%w (after %v)", serr, err)
	}
	return err
}

func setShape(ctx *C.trt_context, name *C.char, dims []int64) error {
	var cd [maxDims]C.int64_t
	for i, d := range dims {
		cd[i] = C.int64_t(d)
	}
	var msg *C.char
	return call("set input shape "+dimsString(dims), C.trt_context_set_input_shape(ctx, name, C.int32_t(len(dims)), &cd[0], &msg), msg)
}

func tensorShape(ctx *C.trt_context, name *C.char, goName string) ([]int64, error) {
	var cd [maxDims]C.int64_t
	var nb C.int32_t
	var msg *C.char
	if err := call("shape of "+goName, C.trt_context_tensor_shape(ctx, name, &nb, &cd[0], &msg), msg); err != nil {
		return nil, err
	}
	s := make([]int64, int(nb))
	for i := range s {
		s[i] = int64(cd[i])
	}
	return s, nil
}

// Infer runs the engine on input (float32, NCHW, batch in dimension 0, within
// the engine's profile). The returned tensors' Data is the Context's pinned
// memory, valid until the next Infer or Close. Once the work is handed to
// the Context's thread, Infer waits for it whatever ctx does. After a
// sticky CUDA error every call returns ErrBroken.
func (c *Context) Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error) {
	return c.send(ctx, &request{input: input, reply: make(chan struct{})})
}

// InferFrames runs the engine on raw BGR8 frames, preprocessed on the GPU:
// each frame crosses the bus once (pinned staging buffer, asynchronous
// copy on the context's stream) and the CUDA kernel writes it, resized,
// padded, colour-ordered and normalized as its Prep says, straight into
// batch slot i of the engine's input binding, in the binding's type
// (float32 or float16). All frames must have the same Prep.DstW x DstH,
// and their number must lie in the engine's batch profile (MaxBatch).
// Frame data is only read during the call. The returned tensors are as
// Infer's: valid until the next call or Close. A binary built without
// -tags cuda returns ErrNoCUDA.
func (c *Context) InferFrames(ctx context.Context, frames []FrameView) ([]meta.Tensor, error) {
	if !cuda.Built {
		return nil, ErrNoCUDA
	}
	if len(frames) == 0 {
		return nil, errors.New("trt: infer frames: no frames")
	}
	return c.send(ctx, &request{frames: frames, reply: make(chan struct{})})
}

func (c *Context) send(ctx context.Context, r *request) ([]meta.Tensor, error) {
	select {
	case c.reqs <- r:
	case <-c.done:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-r.reply
	return r.out, r.err
}

// Inputs describes the engine's input (-1 for a dynamic dimension).
func (c *Context) Inputs() []meta.TensorInfo { return c.e.Inputs() }

// Outputs describes the engine's outputs, in engine order.
func (c *Context) Outputs() []meta.TensorInfo { return c.e.Outputs() }

// MaxBatch is the largest batch one call takes (Engine.MaxBatch).
func (c *Context) MaxBatch() int { return c.e.MaxBatch() }

// Close stops the Context's thread, which destroys its execution context
// and stream and frees its buffers, then drops its reference on the
// Engine. Idempotent; it must not race with Infer (infer.Engine's
// one-goroutine rule).
func (c *Context) Close() error {
	c.once.Do(func() {
		close(c.quit)
		<-c.done
	})
	return nil
}
