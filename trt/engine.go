//go:build tensorrt

package trt

/*
#include <stdlib.h>
#include "engine.h"
#include "platform.h"
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
)

// Engine is a TensorRT runtime and one engine (ICudaEngine) deserialised by
// it, shared by the Contexts (execution contexts) made from it. The runtime
// and engine are destroyed when the Engine and every Context made from it
// are closed: contexts first, then the engine, then the runtime.
type Engine struct {
	device int
	// Path is the plan that was loaded; Key its cache key when known.
	Path string
	Key  CacheKey
	plan ioPlan
	io   []TensorDesc
	logf func(format string, args ...any)

	mu     sync.Mutex
	refs   int
	closed bool
	broken error // the sticky CUDA error that ended this process's GPU use
	rt     *C.trt_runtime
	eng    *C.trt_engine
}

// Load returns the engine o asks for: o.Plan if it fits this TensorRT and
// GPU, else the cached engine for o.ONNX, else a fresh build that goes into
// the cache. A plan built by another TensorRT or GPU is rebuilt (one line
// through o.Logf) unless o.NoRebuild is set, which makes it ErrStalePlan.
func Load(ctx context.Context, o Options) (*Engine, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	plat, err := Detect(o.Device)
	if err != nil {
		return nil, err
	}
	if o.Plan != "" {
		why := ""
		if k, err := ReadKey(o.Plan); err == nil && k.Platform != plat {
			why = fmt.Sprintf("built for %s", k.Platform)
		}
		if why == "" {
			e, err := loadPlan(o.Plan, o.Device, o.Logf)
			if err == nil || !errors.Is(err, ErrStalePlan) {
				return e, err
			}
			why = err.Error()
		}
		if o.ONNX == "" || o.NoRebuild {
			return nil, fmt.Errorf("%w: %s: %s; this is %s: rebuild it with conveyor engine build", ErrStalePlan, o.Plan, why, plat)
		}
		logf(&o.BuildOptions, "trt: engine %s cannot be used (%s): rebuilding from %s for %s", o.Plan, why, o.ONNX, plat)
		o.Plan = ""
		o.NoRebuild = false
	}
	cache, err := OpenCache(o.CacheDir)
	if err != nil {
		return nil, err
	}
	// The key resolves the precision for this TensorRT: fp16 on TensorRT 11
	// fails here, before any parsing.
	key, err := NewCacheKey(&o.BuildOptions, plat)
	if err != nil {
		return nil, err
	}
	path, stale, err := cache.Lookup(o.ONNX, key)
	if err != nil {
		return nil, err
	}
	if path != "" {
		e, err := loadPlan(path, o.Device, o.Logf)
		if err == nil || !errors.Is(err, ErrStalePlan) {
			if e != nil {
				e.Key = key
			}
			return e, err
		}
		stale = err.Error()
	}
	if stale != "" {
		if o.NoRebuild {
			return nil, fmt.Errorf("%w: cached engine of %s was %s; this is %s", ErrStalePlan, o.ONNX, stale, plat)
		}
		logf(&o.BuildOptions, "trt: cached engine of %s was %s: rebuilding for %s", o.ONNX, stale, plat)
	}
	plan, err := buildPlan(ctx, &o.BuildOptions, plat, key.Precision, cache)
	if err != nil {
		return nil, err
	}
	path = cache.PlanPath(o.ONNX, key)
	if err := WritePlan(path, plan, key); err != nil {
		return nil, err
	}
	e, err := loadPlan(path, o.Device, o.Logf)
	if e != nil {
		e.Key = key
	}
	return e, err
}

func loadPlan(path string, device int, logf func(string, ...any)) (*Engine, error) {
	plan, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trt: load engine: %w", err)
	}
	if len(plan) == 0 {
		return nil, fmt.Errorf("trt: load engine: %s is empty", path)
	}
	e := &Engine{device: device, Path: path, refs: 1, logf: logf}
	err = onDevice(device, func() error {
		defer drainLog(logf) // e.g. "the plan was built on another device model"
		var msg *C.char
		if err := call("create runtime", C.trt_runtime_create(&e.rt, &msg), msg); err != nil {
			return err
		}
		// TensorRT copies the plan while deserialising: Go memory is fine.
		if err := call("load "+path, C.trt_engine_deserialize(e.rt, unsafe.Pointer(&plan[0]), C.size_t(len(plan)), &e.eng, &msg), msg); err != nil {
			return err
		}
		var prof *Profile
		for i := 0; i < int(C.trt_engine_num_io(e.eng)); i++ {
			var d C.trt_tensor_desc
			if err := call("engine io", C.trt_engine_io(e.eng, C.int32_t(i), &d, &msg), msg); err != nil {
				return err
			}
			t := descFromC(&d)
			e.io = append(e.io, t)
			if t.Input && t.dynamic() {
				var p C.trt_profile
				var found C.int32_t
				cname := C.CString(t.Name)
				err := call("engine profile", C.trt_engine_profile(e.eng, cname, &p, &found, &msg), msg)
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
		e.plan, err = planIO(e.io, prof)
		return err
	})
	if err != nil {
		e.destroy()
		return nil, err
	}
	return e, nil
}

// Inputs describes the engine's input as TensorRT reports it.
func (e *Engine) Inputs() []meta.TensorInfo { return []meta.TensorInfo{e.plan.input.Info()} }

// Outputs describes the engine's outputs, in engine order.
func (e *Engine) Outputs() []meta.TensorInfo {
	out := make([]meta.TensorInfo, len(e.plan.outputs))
	for i, t := range e.plan.outputs {
		out[i] = t.Info()
	}
	return out
}

// MaxBatch is the largest batch the engine takes: its profile's maximum
// for a dynamic batch, else the input's fixed first dimension.
func (e *Engine) MaxBatch() int { return e.plan.maxBatch() }

// Close drops the caller's reference; the engine and runtime go when the
// last Context made from the Engine is closed too. Idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.release()
	return nil
}

func (e *Engine) acquire() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if e.broken != nil {
		return e.broken
	}
	e.refs++
	return nil
}

func (e *Engine) release() {
	e.mu.Lock()
	e.refs--
	last := e.refs == 0
	e.mu.Unlock()
	if last {
		e.destroy()
	}
}

// breakDown records a sticky CUDA error: the CUDA context of this process
// is unusable, so no Context of this Engine can run again (nor a new one
// be made): conveyor ends the run and the process must restart.
func (e *Engine) breakDown(err error) {
	e.mu.Lock()
	if e.broken == nil {
		e.broken = fmt.Errorf("%w (%v): restart conveyor", ErrBroken, err)
	}
	e.mu.Unlock()
}

func (e *Engine) brokenErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.broken
}

// destroy deletes the engine, then the runtime that made it, on the
// engine's device (even when that cannot be made current any more: the
// objects are freed all the same).
func (e *Engine) destroy() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var msg *C.char
	_ = call("set device", C.trt_cuda_set_device(C.int32_t(e.device), &msg), msg)
	if e.eng != nil {
		C.trt_engine_destroy(e.eng)
		e.eng = nil
	}
	if e.rt != nil {
		C.trt_runtime_destroy(e.rt)
		e.rt = nil
	}
	drainLog(e.logf)
}
