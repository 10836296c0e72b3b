// build.h: building a serialised engine (plan) from an ONNX model
// (build.cpp; called from build.go). See shim.h for the conventions.
#ifndef CONVEYOR_TRT_BUILD_H
#define CONVEYOR_TRT_BUILD_H

#include "shim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trt_builder trt_builder;

typedef struct {
    uint64_t workspace_bytes;
    int32_t fp16;                /* TensorRT < 11: allow FP16 kernels */
    int32_t int8;                /* TensorRT < 11: allow INT8 kernels; needs calib_cache */
    const void* calib_cache;     /* INT8 calibration cache bytes, or NULL */
    size_t calib_cache_len;
    const void* timing_cache;    /* serialised timing cache, or NULL for a new one */
    size_t timing_cache_len;
    const trt_profile* profiles; /* one profile covering these inputs */
    int32_t nb_profiles;
} trt_build_config;

/* A build's products; plan and timing are malloc'ed: release with trt_free. */
typedef struct {
    void* plan;
    size_t plan_len;
    void* timing;           /* the updated timing cache, or NULL */
    size_t timing_len;
    int32_t timing_rejected; /* 1: TensorRT refused the given timing cache, or the build failed with it:
                                the build was made (or tried again) with a new one */
} trt_build_result;

/* Builder: parses onnx (the bytes may be freed after the call) into a
   network (explicit batch; strongly typed when strongly_typed is 1, which
   needs TensorRT 10+, and always on 11). Release with trt_builder_destroy.
   Needs trt_load. */
trt_status trt_builder_create(const void* onnx, size_t onnx_len, int32_t strongly_typed, trt_builder** out,
                              char** err);
void trt_builder_destroy(trt_builder* b);
int32_t trt_builder_num_inputs(trt_builder* b);
trt_status trt_builder_input(trt_builder* b, int32_t i, trt_tensor_desc* out, char** err);
/* Builds a serialised engine into *out (zeroed first). A timing cache that
   TensorRT refuses (made by another TensorRT or GPU), or with which the build
   fails, is replaced by a new one (the build is tried once more) and
   reported in out->timing_rejected: never the cause of a failure. */
trt_status trt_builder_build(trt_builder* b, const trt_build_config* cfg, trt_build_result* out, char** err);

#ifdef __cplusplus
}
#endif

#endif
