// trt_wrapper.h: the C ABI of conveyor's TensorRT shim (trt_wrapper.cpp).
//
// Only opaque handles and plain C types cross this boundary; C++ stays in the
// .cpp. Every function that can fail returns a trt_status and, on failure,
// stores a message in *err that the caller frees with trt_free (err may be
// NULL). There is no global error state. Each create function names its
// release function. Dimensions are int64 whatever TensorRT uses (Dims32 in
// 8.x, Dims64 in 10.x); the shim converts.
//
// Mirrored in trt.go (status codes) and tensor.go (TRT_DTYPE_*): change
// here, change there.
#ifndef CONVEYOR_TRT_WRAPPER_H
#define CONVEYOR_TRT_WRAPPER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t trt_status;
#define TRT_OK 0
#define TRT_ERR 1          /* anything else */
#define TRT_ERR_NO_GPU 2   /* no CUDA device or driver */
#define TRT_ERR_OOM 3      /* out of host or device memory */
#define TRT_ERR_PLAN 4     /* a plan TensorRT cannot deserialise (other version or GPU) */
#define TRT_ERR_PARSE 5    /* the ONNX parser rejected the model */
#define TRT_ERR_SHAPE 6    /* an input shape TensorRT refused */

#define TRT_MAX_DIMS 8

/* Element types; the values match nvinfer1::DataType where both exist. */
#define TRT_DTYPE_FLOAT 0
#define TRT_DTYPE_HALF 1
#define TRT_DTYPE_INT8 2
#define TRT_DTYPE_INT32 3
#define TRT_DTYPE_BOOL 4
#define TRT_DTYPE_UINT8 5
#define TRT_DTYPE_FP8 6
#define TRT_DTYPE_BF16 7
#define TRT_DTYPE_INT64 8
#define TRT_DTYPE_INT4 9
#define TRT_DTYPE_UNKNOWN 99

typedef struct trt_builder trt_builder;
typedef struct trt_runtime trt_runtime;
typedef struct trt_engine trt_engine;
typedef struct trt_context trt_context;

/* One input or output. name belongs to the builder or engine it came from
   and is valid while that lives: copy it. */
typedef struct {
    const char* name;
    int32_t is_input;
    int32_t dtype;
    int32_t nb_dims;
    int64_t dims[TRT_MAX_DIMS];
} trt_tensor_desc;

/* An optimization profile entry for one input. */
typedef struct {
    const char* name;
    int32_t nb_dims;
    int64_t min[TRT_MAX_DIMS];
    int64_t opt[TRT_MAX_DIMS];
    int64_t max[TRT_MAX_DIMS];
} trt_profile;

typedef struct {
    uint64_t workspace_bytes;
    int32_t fp16;
    int32_t int8;               /* needs calib_cache */
    const void* calib_cache;    /* INT8 calibration cache bytes, or NULL */
    size_t calib_cache_len;
    const void* timing_cache;   /* serialised timing cache, or NULL for a new one */
    size_t timing_cache_len;
    const trt_profile* profiles; /* one profile covering these inputs */
    int32_t nb_profiles;
} trt_build_config;

typedef struct {
    char name[256];
    int32_t cc_major;
    int32_t cc_minor;
    uint64_t total_mem;
} trt_device_info;

/* A copy between pinned host memory and device memory. */
typedef struct {
    void* dst;
    const void* src;
    size_t bytes;
} trt_copy;

/* trt_free frees messages and blobs returned by this API. */
void trt_free(void* p);

/* getInferLibVersion() of the library actually loaded (8.x: 8502; 10.x: 100300). */
int32_t trt_lib_version(void);
/* getNvOnnxParserVersion() of the parser library loaded. */
int32_t trt_parser_version(void);
/* The headers the shim was compiled with, as major*10000 + minor*100 + patch. */
int32_t trt_header_version(void);

/* CUDA device queries; the calling thread's current device becomes device. */
trt_status trt_cuda_device(int32_t device, trt_device_info* out, char** err);
trt_status trt_cuda_set_device(int32_t device, char** err);

/* Builder: parses onnx (the bytes may be freed after the call) into an
   explicit-batch network. Release with trt_builder_destroy. */
trt_status trt_builder_create(const void* onnx, size_t onnx_len, trt_builder** out, char** err);
void trt_builder_destroy(trt_builder* b);
int32_t trt_builder_num_inputs(trt_builder* b);
trt_status trt_builder_input(trt_builder* b, int32_t i, trt_tensor_desc* out, char** err);
/* Builds a serialised engine. *plan and *timing (the updated timing cache)
   are malloc'ed: release with trt_free. */
trt_status trt_builder_build(trt_builder* b, const trt_build_config* cfg, void** plan, size_t* plan_len,
                             void** timing, size_t* timing_len, char** err);

/* Runtime: release with trt_runtime_destroy, after every engine it made. */
trt_status trt_runtime_create(trt_runtime** out, char** err);
void trt_runtime_destroy(trt_runtime* r);

/* Engine: release with trt_engine_destroy, after all its contexts and before its runtime. */
trt_status trt_engine_deserialize(trt_runtime* r, const void* plan, size_t plan_len, trt_engine** out, char** err);
void trt_engine_destroy(trt_engine* e);
int32_t trt_engine_num_io(trt_engine* e);
trt_status trt_engine_io(trt_engine* e, int32_t i, trt_tensor_desc* out, char** err);
/* Profile 0 of an input; *found is 0 when the engine has no profile. */
trt_status trt_engine_profile(trt_engine* e, const char* name, trt_profile* out, int32_t* found, char** err);

/* Execution context with its own non-blocking CUDA stream: release with
   trt_context_destroy. Use it from one thread. */
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
   for it. n_h2d may be 0 when the input binding was filled on the stream. */
trt_status trt_context_run(trt_context* c, const trt_copy* h2d, int32_t n_h2d, const trt_copy* d2h, int32_t n_d2h,
                           char** err);

/* Device memory (trt_device_free) and pinned host memory (trt_host_free). */
trt_status trt_device_alloc(size_t bytes, void** out, char** err);
void trt_device_free(void* p);
trt_status trt_host_alloc(size_t bytes, void** out, char** err);
void trt_host_free(void* p);

#ifdef __cplusplus
}
#endif

#endif
