// shim.h: what every part of conveyor's TensorRT C ABI shares: status
// codes, element types, tensor and profile descriptions, trt_free and the
// log queue. The parts, each a .h/.cpp pair with the .go file that calls it:
//
//   platform.h  loading TensorRT (dlopen), versions, the CUDA device
//   build.h     ONNX -> serialised engine (plan)
//   engine.h    runtime and deserialised engine
//   context.h   execution context, stream, copies and buffers
//
// Only opaque handles and plain C types cross this boundary; C++ stays in
// the .cpp files (their shared helpers are in shim.hpp, never included from
// Go). Every function that can fail returns a trt_status and, on failure,
// stores a message in *err that the caller frees with trt_free (err may be
// NULL). There is no global error state. Each create function names its
// release function. Dimensions are int64 whatever TensorRT uses (Dims32 in
// 8.x, Dims64 in 10.x); the shim converts.
//
// Mirrored in errors.go (status codes) and tensor.go (TRT_DTYPE_*): change
// here, change there.
#ifndef CONVEYOR_TRT_SHIM_H
#define CONVEYOR_TRT_SHIM_H

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
#define TRT_ERR_BROKEN 7   /* a sticky CUDA error: this process can no longer use the GPU */
#define TRT_ERR_NO_LIB 8   /* libnvinfer or libnvonnxparser could not be loaded */

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

/* trt_free frees messages and blobs returned by this API. */
void trt_free(void* p);

/* TensorRT's warnings and errors that did not belong to a failing call
   (those logged by TensorRT's own threads, and every warning), oldest
   first, one per line, each starting with "W " or "E ". NULL when there is
   none; else release with trt_free. Cheap when the queue is empty. */
char* trt_log_drain(void);

#ifdef __cplusplus
}
#endif

#endif
