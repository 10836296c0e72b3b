// shim.hpp: C++ helpers shared by the shim's .cpp files (platform, build,
// engine, context). Never included from Go: cgo sees only the C headers.
//
// One source for TensorRT 8.5/8.6, 10.x and 11.x, branching only on
// NV_TENSORRT_MAJOR (never on NV_TENSORRT_VERSION, whose meaning changed in
// 10). TensorRT's libraries are not linked: platform.cpp loads them with
// dlopen and the shim calls TensorRT's exported C entry points through the
// table below, so a binary built with -tags tensorrt starts (and runs the
// OpenCV backend) where TensorRT is missing.
#ifndef CONVEYOR_TRT_SHIM_HPP
#define CONVEYOR_TRT_SHIM_HPP

#include "shim.h"

#include <NvInfer.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

namespace conveyor_trt {

// Lib holds TensorRT's exported C entry points, resolved once by trt_load.
// The inline factories of the headers (createInferBuilder, createParser...)
// are these calls with the headers' version: the shim makes them itself.
struct Lib {
    void* (*createInferBuilder)(void* logger, int32_t version);
    void* (*createInferRuntime)(void* logger, int32_t version);
    int32_t (*getInferLibVersion)();
    int32_t (*getInferLibBuildVersion)();  // TensorRT 10+; NULL on 8.x
    void* (*createOnnxParser)(void* network, void* logger, int version);
    int (*getNvOnnxParserVersion)();
};

// lib returns the loaded entry points; NULL until trt_load has succeeded.
Lib const* lib();

// pluginError says why TensorRT's plugin library is not loaded ("" when
// it is), for the parser's messages.
std::string pluginError();

// logger is the process-wide TensorRT logger. TensorRT keeps the first
// logger it is given, so there is exactly one, never destroyed. During a
// shim call, errors logged on the calling thread are appended to that
// call's message; everything else at warning level or above goes to the
// queue that trt_log_drain empties.
nvinfer1::ILogger& logger();

// Scratch of the current shim call on this thread (see guard).
extern thread_local std::string tlLogged;
extern thread_local bool tlInCall;

char* dup(std::string const& s);

// queueLog adds one line to the queue trt_log_drain empties ("E " or "W "
// and the message).
void queueLog(std::string line);

// fail stores msg (plus what TensorRT logged during the call) in *err.
trt_status fail(char** err, trt_status code, std::string msg);

// cudaFail maps a CUDA error to a status: sticky errors (an illegal
// address, a kernel fault...) leave the process unable to use the GPU and
// become TRT_ERR_BROKEN.
trt_status cudaFail(char** err, char const* what, cudaError_t e);

// guard runs fn, turning every C++ exception into a status and message.
template <typename F>
trt_status guard(char** err, F fn) {
    if (err != nullptr) {
        *err = nullptr;
    }
    struct InCall {
        InCall() {
            tlLogged.clear();
            tlInCall = true;
        }
        ~InCall() {
            tlInCall = false;
            if (!tlLogged.empty()) {
                // Errors TensorRT logged during a call that still succeeded:
                // not this call's failure, but worth seeing.
                queueLog("E " + tlLogged);
                tlLogged.clear();
            }
        }
    } in;
    try {
        return fn();
    } catch (std::bad_alloc const&) {
        return fail(err, TRT_ERR_OOM, "out of host memory");
    } catch (std::exception const& e) {
        return fail(err, TRT_ERR, std::string("c++ exception: ") + e.what());
    } catch (...) {
        return fail(err, TRT_ERR, "unknown c++ exception");
    }
}

// needLib fails a call made before trt_load succeeded.
inline bool needLib(char** err, trt_status* s) {
    if (lib() != nullptr) {
        return true;
    }
    *s = fail(err, TRT_ERR_NO_LIB, "TensorRT is not loaded (trt_load)");
    return false;
}

bool toDims(int32_t nb, int64_t const* src, nvinfer1::Dims& d);
void fromDims(nvinfer1::Dims const& d, int32_t* nb, int64_t* dst);
int32_t dtype(nvinfer1::DataType t);

}  // namespace conveyor_trt

// The engine handle (engine.h), shared by engine.cpp and context.cpp.
struct trt_engine {
    std::unique_ptr<nvinfer1::ICudaEngine> engine;
};

#endif
