//go:build tensorrt

// platform.cpp: loads TensorRT with dlopen (platform.h) and queries the
// CUDA device.
//
// Why dlopen: a binary linked against libnvinfer.so.10 does not start at all
// where that exact file is missing, not even to run the OpenCV backend. The
// headers stay the ABI contract: the sonames are those of the headers' major
// version, and platform.go compares the library's version with the headers'.

#include "platform.h"

#include "shim.hpp"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace conveyor_trt {
namespace {

Lib gLib;
bool gLoaded = false;
std::string gLoadError;
std::string gLibPath;
std::string gPluginError;
bool gPlugins = false;
std::once_flag gOnce;

std::string soname(char const* base) { return std::string(base) + ".so." + std::to_string(NV_TENSORRT_MAJOR); }

void* open(std::string const& name, std::string& why) {
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        char const* e = dlerror();
        why = e != nullptr ? e : name + ": cannot be loaded";
    }
    return h;
}

template <typename T>
bool sym(void* h, char const* name, std::string const& lib, T& out, std::string& why) {
    dlerror();
    out = reinterpret_cast<T>(dlsym(h, name));
    if (out == nullptr) {
        why = lib + " has no " + name + " (not TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + "?)";
        return false;
    }
    return true;
}

// load runs once. The libraries stay loaded for the life of the process:
// TensorRT objects and its logger pointer must outlive every use.
void load() {
    std::string nvinfer = soname("libnvinfer"), parser = soname("libnvonnxparser");
    void* hi = open(nvinfer, gLoadError);
    if (hi == nullptr) {
        return;
    }
    Lib l{};
    if (!sym(hi, "createInferBuilder_INTERNAL", nvinfer, l.createInferBuilder, gLoadError) ||
        !sym(hi, "createInferRuntime_INTERNAL", nvinfer, l.createInferRuntime, gLoadError) ||
        !sym(hi, "getInferLibVersion", nvinfer, l.getInferLibVersion, gLoadError)) {
        return;
    }
    // 10+ only; its absence is not an error.
    l.getInferLibBuildVersion = reinterpret_cast<int32_t (*)()>(dlsym(hi, "getInferLibBuildVersion"));
    void* hp = open(parser, gLoadError);
    if (hp == nullptr) {
        return;
    }
    if (!sym(hp, "createNvOnnxParser_INTERNAL", parser, l.createOnnxParser, gLoadError) ||
        !sym(hp, "getNvOnnxParserVersion", parser, l.getNvOnnxParserVersion, gLoadError)) {
        return;
    }
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(l.getInferLibVersion), &info) != 0 && info.dli_fname != nullptr) {
        char real[PATH_MAX];
        gLibPath = realpath(info.dli_fname, real) != nullptr ? real : info.dli_fname;
    }
    // Plugins: optional. Without them only models using plugin ops fail,
    // and then the parser's message is extended with gPluginError.
    std::string plugin = soname("libnvinfer_plugin");
    void* hg = open(plugin, gPluginError);
    if (hg != nullptr) {
        bool (*init)(void*, char const*) = nullptr;
        if (sym(hg, "initLibNvInferPlugins", plugin, init, gPluginError)) {
            gPlugins = init(&logger(), "");
            if (!gPlugins) {
                gPluginError = "initLibNvInferPlugins failed";
            }
        }
    }
    gLib = l;
    gLoaded = true;
}

}  // namespace

Lib const* lib() { return gLoaded ? &gLib : nullptr; }

std::string pluginError() { return gPlugins ? std::string() : gPluginError; }

}  // namespace conveyor_trt

using namespace conveyor_trt;

extern "C" {

trt_status trt_load(char** err) {
    return guard(err, [&]() -> trt_status {
        std::call_once(gOnce, load);
        if (!gLoaded) {
            return fail(err, TRT_ERR_NO_LIB, gLoadError);
        }
        return TRT_OK;
    });
}

trt_status trt_lib_info_get(trt_lib_info* out, char** err) {
    return guard(err, [&]() -> trt_status {
        trt_status s = TRT_OK;
        if (!needLib(err, &s)) {
            return s;
        }
        std::memset(out, 0, sizeof(*out));
        out->lib_version = gLib.getInferLibVersion();
        out->lib_build = gLib.getInferLibBuildVersion != nullptr ? gLib.getInferLibBuildVersion() : -1;
        out->parser_version = gLib.getNvOnnxParserVersion();
        out->plugins = gPlugins ? 1 : 0;
        std::strncpy(out->lib_path, gLibPath.c_str(), sizeof(out->lib_path) - 1);
        std::strncpy(out->plugin_error, gPluginError.c_str(), sizeof(out->plugin_error) - 1);
        return TRT_OK;
    });
}

int32_t trt_header_version(void) {
    return NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH;
}

int32_t trt_header_build(void) { return NV_TENSORRT_BUILD; }

trt_status trt_cuda_device(int32_t device, trt_device_info* out, char** err) {
    return guard(err, [&]() -> trt_status {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess) {
            return cudaFail(err, "cuda: device count", e);
        }
        if (n == 0) {
            return fail(err, TRT_ERR_NO_GPU, "cuda: no GPU found");
        }
        if (device < 0 || device >= n) {
            return fail(err, TRT_ERR_NO_GPU, "cuda: no device " + std::to_string(device) + " (" + std::to_string(n) + " found)");
        }
        cudaDeviceProp p;
        if ((e = cudaGetDeviceProperties(&p, device)) != cudaSuccess) {
            return cudaFail(err, "cuda: device properties", e);
        }
        std::memset(out, 0, sizeof(*out));
        std::strncpy(out->name, p.name, sizeof(out->name) - 1);
        out->cc_major = p.major;
        out->cc_minor = p.minor;
        out->sm_count = p.multiProcessorCount;
        out->total_mem = p.totalGlobalMem;
        return TRT_OK;
    });
}

trt_status trt_cuda_set_device(int32_t device, char** err) {
    return guard(err, [&]() -> trt_status {
        cudaError_t e = cudaSetDevice(device);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: set device", e);
    });
}

}  // extern "C"
