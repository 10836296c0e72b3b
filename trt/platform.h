// platform.h: loading TensorRT, its versions, and the CUDA device
// (platform.cpp; called from platform.go). See shim.h for the conventions.
#ifndef CONVEYOR_TRT_PLATFORM_H
#define CONVEYOR_TRT_PLATFORM_H

#include "shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What trt_load found. */
typedef struct {
    int32_t lib_version;    /* getInferLibVersion(): 8502 on 8.5.2, 100300 on 10.3.0 */
    int32_t lib_build;      /* getInferLibBuildVersion() (10+), else -1 */
    int32_t parser_version; /* getNvOnnxParserVersion() */
    int32_t plugins;        /* 1: libnvinfer_plugin loaded and its plugins registered */
    char lib_path[512];     /* the libnvinfer file actually loaded */
    char plugin_error[512]; /* why the plugins are missing, when plugins is 0 */
} trt_lib_info;

/* Loads libnvinfer.so.N and libnvonnxparser.so.N, N being the major version
   of the headers the shim was compiled with, through dlopen (so
   LD_LIBRARY_PATH applies), and, when present, libnvinfer_plugin.so.N,
   whose initLibNvInferPlugins registers TensorRT's plugins (EfficientNMS_TRT
   and the like) for the ONNX parser and for deserialisation. Runs once per
   process; later calls return the first outcome. TRT_ERR_NO_LIB when a
   library or an entry point is missing. Every builder, runtime and engine
   call needs it to have succeeded. */
trt_status trt_load(char** err);
/* After a successful trt_load. */
trt_status trt_lib_info_get(trt_lib_info* out, char** err);

/* The headers the shim was compiled with: major*10000 + minor*100 + patch,
   and NV_TENSORRT_BUILD. */
int32_t trt_header_version(void);
int32_t trt_header_build(void);

typedef struct {
    char name[256];
    int32_t cc_major;
    int32_t cc_minor;
    int32_t sm_count;
    uint64_t total_mem;
} trt_device_info;

/* CUDA device queries; the calling thread's current device becomes device. */
trt_status trt_cuda_device(int32_t device, trt_device_info* out, char** err);
trt_status trt_cuda_set_device(int32_t device, char** err);

#ifdef __cplusplus
}
#endif

#endif
