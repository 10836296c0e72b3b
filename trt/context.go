//go:build tensorrt

package trt

/*
#include <stdlib.h>
#include "trt_wrapper.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/trt/cuda"
)

// Built reports whether this binary has TensorRT support (-tags tensorrt).
const Built = true

// call turns a shim status and its caller-freed message into an error.
func call(op string, s C.trt_status, msg *C.char) error {
	text := ""
	if msg != nil {
		text = C.GoString(msg)
		C.trt_free(unsafe.Pointer(msg))
	}
	return shimError(op, int(s), text)
}

// onDevice runs fn on the calling goroutine locked to its OS thread, with
// device current on that thread (CUDA's current device is per thread).
func onDevice(device int, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var msg *C.char
	if err := call("set device", C.trt_cuda_set_device(C.int32_t(device), &msg), msg); err != nil {
		return err
	}
	return fn()
}

// Detect returns the TensorRT library actually loaded and the GPU: what a
// plan built now is tied to.
func Detect(device int) (Platform, error) {
	v, err := DecodeVersion(int32(C.trt_lib_version()))
	if err != nil {
		return Platform{}, err
	}
	if err := v.Supported(); err != nil {
		return Platform{}, err
	}
	var info C.trt_device_info
	var msg *C.char
	if err := call("cuda device", C.trt_cuda_device(C.int32_t(device), &info, &msg), msg); err != nil {
		return Platform{}, err
	}
	return Platform{
		TensorRT:          v,
		GPU:               C.GoString(&info.name[0]),
		ComputeCapability: fmt.Sprintf("%d.%d", int(info.cc_major), int(info.cc_minor)),
	}, nil
}

// Available reports whether TensorRT and a GPU can be used, for
// --backend auto: nil when both are there.
func Available() error {
	_, err := Detect(0)
	return err
}

func logf(o *BuildOptions, format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Build builds an engine from o.ONNX and writes it, with its cache key in
// a .json file beside it, to o.Out, or to the engine cache when Out is
// empty. It returns the plan's path. A build takes seconds to minutes and
// cannot be interrupted: ctx is checked before it starts.
func Build(ctx context.Context, o BuildOptions) (string, error) {
	if err := o.Validate(); err != nil {
		return "", err
	}
	plat, err := Detect(o.Device)
	if err != nil {
		return "", err
	}
	cache, err := OpenCache(o.CacheDir)
	if err != nil {
		return "", err
	}
	key, err := NewCacheKey(&o, plat)
	if err != nil {
		return "", err
	}
	plan, err := buildPlan(ctx, &o, plat, cache)
	if err != nil {
		return "", err
	}
	out := o.Out
	if out == "" {
		out = cache.PlanPath(o.ONNX, key)
	}
	if err := WritePlan(out, plan, key); err != nil {
		return "", err
	}
	return out, nil
}

// buildPlan parses the ONNX model, resolves its optimization profile and
// builds a serialised engine, reading and updating the timing cache.
func buildPlan(ctx context.Context, o *BuildOptions, plat Platform, cache *Cache) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	onnx, err := os.ReadFile(o.ONNX)
	if err != nil {
		return nil, fmt.Errorf("trt: build: %w", err)
	}
	var calib []byte
	if o.precision() == INT8 {
		if calib, err = os.ReadFile(o.CalibrationCache); err != nil {
			return nil, fmt.Errorf("trt: build: %w", err)
		}
	}
	timingPath := o.TimingCache
	if timingPath == "" {
		timingPath = cache.TimingCachePath(plat)
	}
	timing, err := os.ReadFile(timingPath)
	if err != nil && !errNotExist(err) {
		return nil, fmt.Errorf("trt: build: timing cache: %w", err)
	}

	var plan, newTiming []byte
	err = onDevice(o.Device, func() error {
		cOnnx := C.CBytes(onnx)
		defer C.free(cOnnx)
		var b *C.trt_builder
		var msg *C.char
		if err := call("build "+o.ONNX, C.trt_builder_create(cOnnx, C.size_t(len(onnx)), &b, &msg), msg); err != nil {
			return err
		}
		defer C.trt_builder_destroy(b)

		var inputs []TensorDesc
		for i := 0; i < int(C.trt_builder_num_inputs(b)); i++ {
			var d C.trt_tensor_desc
			if err := call("build: input", C.trt_builder_input(b, C.int32_t(i), &d, &msg), msg); err != nil {
				return err
			}
			inputs = append(inputs, descFromC(&d))
		}
		profiles, err := ResolveProfiles(inputs, o.Batch, o.Shapes)
		if err != nil {
			return err
		}

		// Everything the config points to lives in C memory for the call.
		cfg := (*C.trt_build_config)(C.calloc(1, C.size_t(unsafe.Sizeof(C.trt_build_config{}))))
		defer C.free(unsafe.Pointer(cfg))
		cfg.workspace_bytes = C.uint64_t(o.workspace())
		if o.precision() == FP16 {
			cfg.fp16 = 1
		}
		if o.precision() == INT8 {
			cfg.int8 = 1
			cfg.calib_cache = C.CBytes(calib)
			cfg.calib_cache_len = C.size_t(len(calib))
			defer C.free(cfg.calib_cache)
		}
		if len(timing) > 0 {
			cfg.timing_cache = C.CBytes(timing)
			cfg.timing_cache_len = C.size_t(len(timing))
			defer C.free(cfg.timing_cache)
		}
		if len(profiles) > 0 {
			arr := (*C.trt_profile)(C.calloc(C.size_t(len(profiles)), C.size_t(unsafe.Sizeof(C.trt_profile{}))))
			defer C.free(unsafe.Pointer(arr))
			ps := unsafe.Slice(arr, len(profiles))
			for i, p := range profiles {
				name := C.CString(p.Name)
				defer C.free(unsafe.Pointer(name))
				ps[i].name = name
				ps[i].nb_dims = C.int32_t(len(p.Min))
				for j := range p.Min {
					ps[i].min[j] = C.int64_t(p.Min[j])
					ps[i].opt[j] = C.int64_t(p.Opt[j])
					ps[i].max[j] = C.int64_t(p.Max[j])
				}
			}
			cfg.profiles = arr
			cfg.nb_profiles = C.int32_t(len(profiles))
		}
		var cPlan, cTiming unsafe.Pointer
		var nPlan, nTiming C.size_t
		if err := call("build "+o.ONNX, C.trt_builder_build(b, cfg, &cPlan, &nPlan, &cTiming, &nTiming, &msg), msg); err != nil {
			return err
		}
		plan = C.GoBytes(cPlan, C.int(nPlan))
		C.trt_free(cPlan)
		if cTiming != nil {
			newTiming = C.GoBytes(cTiming, C.int(nTiming))
			C.trt_free(cTiming)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(newTiming) > 0 {
		// The timing cache only saves time: failing to write it is not fatal.
		_ = writeAtomic(timingPath, newTiming)
	}
	return plan, nil
}

func descFromC(d *C.trt_tensor_desc) TensorDesc {
	t := TensorDesc{Name: C.GoString(d.name), Input: d.is_input != 0, DType: DataType(d.dtype)}
	n := int(d.nb_dims)
	if n < 0 {
		n = 0
	}
	for i := 0; i < n && i < maxDims; i++ {
		t.Shape = append(t.Shape, int64(d.dims[i]))
	}
	return t
}

// Model is a TensorRT runtime and one engine deserialised by it, shared by
// the Engines (execution contexts) made from it. The runtime and engine
// are destroyed when the Model and every Engine made from it are closed,
// contexts first, then the engine, then the runtime.
type Model struct {
	device int
	// Path is the plan that was loaded; Key its cache key when known.
	Path string
	Key  CacheKey
	plan ioPlan
	io   []TensorDesc

	mu     sync.Mutex
	refs   int
	closed bool
	rt     *C.trt_runtime
	eng    *C.trt_engine
}

// Load returns the engine o asks for: o.Engine if it fits this TensorRT and
// GPU, else the cached engine for o.ONNX, else a fresh build that goes into
// the cache. A plan built by another TensorRT or GPU is rebuilt (one line
// through o.Logf) unless o.NoRebuild is set, which makes it ErrStalePlan.
func Load(ctx context.Context, o Options) (*Model, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	plat, err := Detect(o.Device)
	if err != nil {
		return nil, err
	}
	if o.Engine != "" {
		why := ""
		if k, err := ReadKey(o.Engine); err == nil && k.Platform != plat {
			why = fmt.Sprintf("built for %s", k.Platform)
		}
		if why == "" {
			m, err := loadPlan(o.Engine, o.Device)
			if err == nil || !errors.Is(err, ErrStalePlan) {
				return m, err
			}
			why = err.Error()
		}
		if o.ONNX == "" || o.NoRebuild {
			return nil, fmt.Errorf("%w: %s: %s; this is %s: rebuild it with conveyor engine build", ErrStalePlan, o.Engine, why, plat)
		}
		logf(&o.BuildOptions, "trt: engine %s cannot be used (%s): rebuilding from %s for %s", o.Engine, why, o.ONNX, plat)
		o.Engine = ""
		o.NoRebuild = false
	}
	cache, err := OpenCache(o.CacheDir)
	if err != nil {
		return nil, err
	}
	key, err := NewCacheKey(&o.BuildOptions, plat)
	if err != nil {
		return nil, err
	}
	path, stale, err := cache.Lookup(o.ONNX, key)
	if err != nil {
		return nil, err
	}
	if path != "" {
		m, err := loadPlan(path, o.Device)
		if err == nil || !errors.Is(err, ErrStalePlan) {
			if m != nil {
				m.Key = key
			}
			return m, err
		}
		stale = err.Error()
	}
	if stale != "" {
		if o.NoRebuild {
			return nil, fmt.Errorf("%w: cached engine of %s was %s; this is %s", ErrStalePlan, o.ONNX, stale, plat)
		}
		logf(&o.BuildOptions, "trt: cached engine of %s was %s: rebuilding for %s", o.ONNX, stale, plat)
	}
	plan, err := buildPlan(ctx, &o.BuildOptions, plat, cache)
	if err != nil {
		return nil, err
	}
	path = cache.PlanPath(o.ONNX, key)
	if err := WritePlan(path, plan, key); err != nil {
		return nil, err
	}
	m, err := loadPlan(path, o.Device)
	if m != nil {
		m.Key = key
	}
	return m, err
}

func loadPlan(path string, device int) (*Model, error) {
	plan, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trt: load engine: %w", err)
	}
	m := &Model{device: device, Path: path, refs: 1}
	err = onDevice(device, func() error {
		var msg *C.char
		if err := call("create runtime", C.trt_runtime_create(&m.rt, &msg), msg); err != nil {
			return err
		}
		cPlan := C.CBytes(plan)
		defer C.free(cPlan)
		if err := call("load "+path, C.trt_engine_deserialize(m.rt, cPlan, C.size_t(len(plan)), &m.eng, &msg), msg); err != nil {
			return err
		}
		var prof *Profile
		for i := 0; i < int(C.trt_engine_num_io(m.eng)); i++ {
			var d C.trt_tensor_desc
			if err := call("engine io", C.trt_engine_io(m.eng, C.int32_t(i), &d, &msg), msg); err != nil {
				return err
			}
			t := descFromC(&d)
			m.io = append(m.io, t)
			if t.Input && t.dynamic() {
				var p C.trt_profile
				var found C.int32_t
				cname := C.CString(t.Name)
				err := call("engine profile", C.trt_engine_profile(m.eng, cname, &p, &found, &msg), msg)
				C.free(unsafe.Pointer(cname))
				if err != nil {
					return err
				}
				if found != 0 {
					prof = &Profile{Name: t.Name}
					for j := 0; j < int(p.nb_dims) && j < maxDims; j++ {
						prof.Min = append(prof.Min, int64(p.min[j]))
						prof.Opt = append(prof.Opt, int64(p.opt[j]))
						prof.Max = append(prof.Max, int64(p.max[j]))
					}
				}
			}
		}
		m.plan, err = planIO(m.io, prof)
		return err
	})
	if err != nil {
		m.destroy()
		return nil, err
	}
	return m, nil
}

// Inputs describes the engine's input as TensorRT reports it.
func (m *Model) Inputs() []meta.TensorInfo { return []meta.TensorInfo{m.plan.input.Info()} }

// Outputs describes the engine's outputs, in engine order.
func (m *Model) Outputs() []meta.TensorInfo {
	out := make([]meta.TensorInfo, len(m.plan.outputs))
	for i, t := range m.plan.outputs {
		out[i] = t.Info()
	}
	return out
}

// Close drops the caller's reference; the engine and runtime go when the
// last Engine made from the Model is closed too. Idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.release()
	return nil
}

func (m *Model) acquire() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("trt: model is closed")
	}
	m.refs++
	return nil
}

func (m *Model) release() {
	m.mu.Lock()
	m.refs--
	last := m.refs == 0
	m.mu.Unlock()
	if last {
		m.destroy()
	}
}

// destroy deletes the engine, then the runtime that made it.
func (m *Model) destroy() {
	_ = onDevice(m.device, func() error {
		if m.eng != nil {
			C.trt_engine_destroy(m.eng)
			m.eng = nil
		}
		if m.rt != nil {
			C.trt_runtime_destroy(m.rt)
			m.rt = nil
		}
		return nil
	})
}

// Engine is one TensorRT execution context with its CUDA stream, device
// buffers and pinned host buffers, all owned by one goroutine locked to its
// OS thread. It implements infer.Engine.
type Engine struct {
	m    *Model
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

// Open loads the model (see Load) and makes one Engine that owns it.
func Open(ctx context.Context, o Options) (*Engine, error) {
	m, err := Load(ctx, o)
	if err != nil {
		return nil, err
	}
	e, err := m.NewEngine()
	m.Close() // the Engine holds its own reference
	return e, err
}

// NewEngine makes an execution context for another inference worker.
// Close it before or after the Model: the Model's engine lives until both are.
func (m *Model) NewEngine() (*Engine, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	e := &Engine{m: m, reqs: make(chan *request), quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go e.loop(ready)
	if err := <-ready; err != nil {
		<-e.done
		return nil, err
	}
	return e, nil
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

// loop owns the context, stream and buffers for the Engine's whole life.
func (e *Engine) loop(ready chan<- error) {
	defer close(e.done)
	defer e.m.release()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var ctx *C.trt_context
	var bufs []*buffer
	var st staging
	defer func() {
		st.free() // nothing is queued: every call ends with the stream idle
		if ctx != nil {
			C.trt_context_destroy(ctx)
		}
		for _, b := range bufs {
			C.trt_device_free(b.dev)
			C.trt_host_free(b.host)
			C.free(unsafe.Pointer(b.name))
		}
	}()
	var msg *C.char
	setup := func() error {
		if err := call("set device", C.trt_cuda_set_device(C.int32_t(e.m.device), &msg), msg); err != nil {
			return err
		}
		if err := call("create context", C.trt_context_create(e.m.eng, &ctx, &msg), msg); err != nil {
			return err
		}
		p := e.m.plan
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
		case <-e.quit:
			return
		case r = <-e.reqs:
		}
		if r.frames != nil {
			r.out, r.err = e.runFrames(ctx, bufs, &current, cp, &st, r.frames)
		} else {
			r.out, r.err = e.run(ctx, bufs, &current, cp, r.input)
		}
		close(r.reply)
	}
}

// run does one inference on the Engine's thread: set the input shape if it
// changed, copy the input into pinned memory, then copy in, enqueueV3 and
// copy out on the context's stream, and wait.
func (e *Engine) run(ctx *C.trt_context, bufs []*buffer, current *[]int64, cp []C.trt_copy, input meta.Tensor) ([]meta.Tensor, error) {
	in := bufs[0]
	dims, err := checkInput(in.desc, e.m.plan.profile, input)
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
	if equalDims(dims, *current) {
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
// buffers (float16 ones converted).
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

// runFrames does one inference from raw frames on the Engine's thread:
// each frame is copied into the pinned staging buffer and uploaded on the
// context's stream, the CUDA preprocessing writes it into its batch slot
// of the input binding (in the binding's own type), then enqueueV3 and the
// output copies follow on the same stream. Nothing of the frames is kept.
func (e *Engine) runFrames(ctx *C.trt_context, bufs []*buffer, current *[]int64, cp []C.trt_copy, st *staging, frames []FrameView) ([]meta.Tensor, error) {
	in := bufs[0]
	dims, err := checkFrames(in.desc, e.m.plan.profile, frames)
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
		if err := cuda.UploadAsync(s, src, unsafe.Add(st.host.Ptr(), offs[i]), n); err != nil {
			_ = s.Sync()
			return nil, fmt.Errorf("trt: frame %d: %w", i, err)
		}
		if err := cuda.PreprocessAsync(s, src, unsafe.Add(in.dev, i*slot), 1, p); err != nil {
			_ = s.Sync()
			return nil, fmt.Errorf("trt: frame %d: %w", i, err)
		}
	}
	out, err := execute(ctx, bufs, cp, 0)
	if err != nil {
		_ = s.Sync() // the staging buffer must be idle before the next call writes it
	}
	return out, err
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
// the engine's profile). The returned tensors' Data is the Engine's pinned
// memory, valid until the next Infer or Close. Once the work is handed to
// the Engine's thread, Infer waits for it whatever ctx does.
func (e *Engine) Infer(ctx context.Context, input meta.Tensor) ([]meta.Tensor, error) {
	r := &request{input: input, reply: make(chan struct{})}
	select {
	case e.reqs <- r:
	case <-e.done:
		return nil, errors.New("trt: infer: engine is closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-r.reply
	return r.out, r.err
}

// InferFrames runs the engine on raw BGR8 frames, preprocessed on the GPU:
// each frame crosses the bus once (pinned staging buffer, asynchronous
// copy on the context's stream) and the CUDA kernel writes it, resized,
// padded, colour-ordered and normalized as its Prep says, straight into
// batch slot i of the engine's input binding, in the binding's type
// (float32 or float16). All frames must have the same Prep.DstW x DstH,
// and their number must lie in the engine's batch profile. Frame data is
// only read during the call. The returned tensors are as Infer's: valid
// until the next call or Close. A binary built without -tags cuda returns
// ErrNoCUDA.
func (e *Engine) InferFrames(ctx context.Context, frames []FrameView) ([]meta.Tensor, error) {
	if !cuda.Built {
		return nil, ErrNoCUDA
	}
	if len(frames) == 0 {
		return nil, errors.New("trt: infer frames: no frames")
	}
	r := &request{frames: frames, reply: make(chan struct{})}
	select {
	case e.reqs <- r:
	case <-e.done:
		return nil, errors.New("trt: infer frames: engine is closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-r.reply
	return r.out, r.err
}

// Inputs describes the engine's input (-1 for a dynamic dimension).
func (e *Engine) Inputs() []meta.TensorInfo { return e.m.Inputs() }

// Outputs describes the engine's outputs, in engine order.
func (e *Engine) Outputs() []meta.TensorInfo { return e.m.Outputs() }

// Close stops the Engine's thread, which destroys its context and stream and
// frees its buffers, then drops its reference on the Model. Idempotent; it
// must not race with Infer (infer.Engine's one-goroutine rule).
func (e *Engine) Close() error {
	e.once.Do(func() {
		close(e.quit)
		<-e.done
	})
	return nil
}
