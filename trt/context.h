// context.h: an execution context with its CUDA stream, the copies around
// enqueueV3, and device and pinned host memory (context.cpp; called from
// context.go). See shim.h for the conventions.
#ifndef CONVEYOR_TRT_CONTEXT_H
#define CONVEYOR_TRT_CONTEXT_H

#include "engine.h"
#include "shim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trt_context trt_context;

/* A copy between pinned host memory and device memory. */
typedef struct {
    void* dst;
    const void* src;
    size_t bytes;
} trt_copy;

/* Execution context with its own non-blocking CUDA stream: release with
   trt_context_destroy, before its engine. Use it from one thread. */
trt_status trt_context_create(trt_engine* e, trt_context** out, char** err);
void trt_context_destroy(trt_context* c);
trt_status trt_context_set_input_shape(trt_context* c, const char* name, int32_t nb_dims, const int64_t* dims, char** err);
trt_status trt_context_tensor_shape(trt_context* c, const char* name, int32_t* nb_dims, int64_t* dims, char** err);
/* dev must stay allocated while the context may run (256-byte aligned: cudaMalloc's). */
trt_status trt_context_set_address(trt_context* c, const char* name, void* dev, char** err);
/* The context's cudaStream_t, for work queued before trt_context_run (the
   CUDA preprocessing that writes the input binding). Owned by the context. */
void* trt_context_stream(trt_context* c);
/* Copies h2d, enqueueV3, copies d2h, all on the context's stream, then waits
   for it. n_h2d may be 0 when the input binding was filled on the stream.
   Whatever fails, the stream is idle when it returns (the host buffers may
   be reused at once). TRT_ERR_BROKEN: a sticky CUDA error. */
trt_status trt_context_run(trt_context* c, const trt_copy* h2d, int32_t n_h2d, const trt_copy* d2h, int32_t n_d2h,
                           char** err);
/* Waits for everything queued on the context's stream. */
trt_status trt_context_sync(trt_context* c, char** err);

/* Device memory (trt_device_free) and pinned host memory (trt_host_free). */
trt_status trt_device_alloc(size_t bytes, void** out, char** err);
void trt_device_free(void* p);
trt_status trt_host_alloc(size_t bytes, void** out, char** err);
void trt_host_free(void* p);

#ifdef __cplusplus
}
#endif

#endif
