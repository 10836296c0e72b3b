// engine.h: the TensorRT runtime and a deserialised engine (engine.cpp;
// called from engine.go). See shim.h for the conventions.
#ifndef CONVEYOR_TRT_ENGINE_H
#define CONVEYOR_TRT_ENGINE_H

#include "shim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trt_runtime trt_runtime;
typedef struct trt_engine trt_engine;

/* Runtime: release with trt_runtime_destroy, after every engine it made.
   Needs trt_load. */
trt_status trt_runtime_create(trt_runtime** out, char** err);
void trt_runtime_destroy(trt_runtime* r);

/* Engine: release with trt_engine_destroy, after all its contexts and
   before its runtime. plan may be freed after the call. */
trt_status trt_engine_deserialize(trt_runtime* r, const void* plan, size_t plan_len, trt_engine** out, char** err);
void trt_engine_destroy(trt_engine* e);
int32_t trt_engine_num_io(trt_engine* e);
trt_status trt_engine_io(trt_engine* e, int32_t i, trt_tensor_desc* out, char** err);
/* Profile 0 of an input; *found is 0 when the engine has no profile. */
trt_status trt_engine_profile(trt_engine* e, const char* name, trt_profile* out, int32_t* found, char** err);

#ifdef __cplusplus
}
#endif

#endif
