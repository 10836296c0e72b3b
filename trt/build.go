//go:build tensorrt

package trt

/*
#include <stdlib.h>
#include "build.h"
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"unsafe"
)

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
	plan, err := buildPlan(ctx, &o, plat, key.Precision, cache)
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
// builds a serialised engine in precision prec (resolved for plat: see
// Precision.Resolve), reading and updating the timing cache.
func buildPlan(ctx context.Context, o *BuildOptions, plat Platform, prec Precision, cache *Cache) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if prec == Model && plat.TensorRT.Major >= 11 && o.precision() != Model {
		logf(o, "trt: TensorRT %s builds %s with the ONNX model's own types (strong typing): fp16 needs an fp16 model", plat.TensorRT, o.ONNX)
	}
	onnx, err := os.ReadFile(o.ONNX)
	if err != nil {
		return nil, fmt.Errorf("trt: build: %w", err)
	}
	if len(onnx) == 0 {
		return nil, fmt.Errorf("trt: build: %s is empty", o.ONNX)
	}
	var calib []byte
	if prec == INT8 {
		if calib, err = os.ReadFile(o.CalibrationCache); err != nil {
			return nil, fmt.Errorf("trt: build: %w", err)
		}
	}
	timingPath := o.TimingCache
	if timingPath == "" {
		timingPath = cache.TimingCachePath(plat)
	}
	timing, err := readTimingCache(timingPath)
	if err != nil {
		return nil, err
	}

	var plan, newTiming []byte
	rejected := false
	err = onDevice(o.Device, func() error {
		defer drainLog(o.Logf)
		var b *C.trt_builder
		var msg *C.char
		typed := C.int32_t(0)
		if prec == Model {
			typed = 1
		}
		// The ONNX bytes are only read during the call (cgo's rules allow
		// Go memory there); the shim keeps nothing of them.
		if err := call("build "+o.ONNX, C.trt_builder_create(unsafe.Pointer(&onnx[0]), C.size_t(len(onnx)), typed, &b, &msg), msg); err != nil {
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
		profiles, err := ResolveProfiles(inputs, o.Batch, o.Shapes, o.FixedBatchOK)
		if err != nil {
			return err
		}

		// Everything the config points to lives in C memory for the call.
		cfg := (*C.trt_build_config)(C.calloc(1, C.size_t(unsafe.Sizeof(C.trt_build_config{}))))
		defer C.free(unsafe.Pointer(cfg))
		cfg.workspace_bytes = C.uint64_t(o.workspace())
		if prec == FP16 {
			cfg.fp16 = 1
		}
		if prec == INT8 {
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
		var res C.trt_build_result
		err = call("build "+o.ONNX, C.trt_builder_build(b, cfg, &res, &msg), msg)
		rejected = res.timing_rejected != 0
		defer C.trt_free(res.plan)
		defer C.trt_free(res.timing)
		if err != nil {
			return err
		}
		plan = goBytes(res.plan, res.plan_len)
		newTiming = goBytes(res.timing, res.timing_len)
		return nil
	})
	updateTimingCache(timingPath, rejected, newTiming, o.Logf)
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// goBytes copies n bytes of C memory. C.GoBytes takes a C int and fails
// for plans of 2 GiB or more; a slice over the C memory has no such limit.
func goBytes(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(p), int(n))...)
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
