//go:build tensorrt

// trt_wrapper.cpp: conveyor's C ABI shim over the TensorRT C++ API.
//
// One source for TensorRT 8.5/8.6 and 10.x (and it compiles for 11), branching
// only on NV_TENSORRT_MAJOR (never on NV_TENSORRT_VERSION, whose meaning
// changed in 10). Every extern "C" function catches every C++ exception and
// turns it into a status plus a malloc'ed message.
//
// Errors that TensorRT reports through its logger (parser and builder
// messages, "expecting library version X got Y") are collected per thread
// while a shim call runs and appended to that call's message: scratch that
// each call clears on entry, not error state that outlives a call.

#include "trt_wrapper.h"

#include <NvInfer.h>
#include <NvInferVersion.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace {

using nvinfer1::ILogger;

thread_local std::string tlLogged;

// Logger is the process-wide TensorRT logger: TensorRT keeps the first
// logger it is given, so there is exactly one, never destroyed. It keeps
// errors for the current call and drops the rest (the package logs nothing).
class Logger final : public ILogger {
public:
    void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
        if (severity > Severity::kERROR || msg == nullptr) {
            return;
        }
        try {
            if (tlLogged.size() < 4096) {
                if (!tlLogged.empty()) {
                    tlLogged += "; ";
                }
                tlLogged += msg;
            }
        } catch (...) {
        }
    }
};

Logger& logger() {
    static Logger* l = new Logger();  // intentionally leaked: TensorRT may log until exit
    return *l;
}

char* dup(std::string const& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, s.c_str(), s.size() + 1);
    }
    return p;
}

trt_status fail(char** err, trt_status code, std::string msg) {
    if (!tlLogged.empty()) {
        msg += ": " + tlLogged;
        tlLogged.clear();
    }
    if (err != nullptr) {
        *err = dup(msg);
    }
    return code;
}

trt_status cudaFail(char** err, char const* what, cudaError_t e) {
    trt_status code = TRT_ERR;
    if (e == cudaErrorMemoryAllocation) {
        code = TRT_ERR_OOM;
    } else if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        code = TRT_ERR_NO_GPU;
    }
    return fail(err, code, std::string(what) + ": " + cudaGetErrorString(e));
}

// guard runs fn, turning every C++ exception into a status and message.
template <typename F>
trt_status guard(char** err, F fn) {
    if (err != nullptr) {
        *err = nullptr;
    }
    tlLogged.clear();
    try {
        trt_status s = fn();
        tlLogged.clear();
        return s;
    } catch (std::bad_alloc const&) {
        return fail(err, TRT_ERR_OOM, "out of host memory");
    } catch (std::exception const& e) {
        return fail(err, TRT_ERR, std::string("c++ exception: ") + e.what());
    } catch (...) {
        return fail(err, TRT_ERR, "unknown c++ exception");
    }
}

bool toDims(int32_t nb, int64_t const* src, nvinfer1::Dims& d) {
    if (nb < 0 || nb > nvinfer1::Dims::MAX_DIMS) {
        return false;
    }
    d.nbDims = nb;
    for (int32_t i = 0; i < nb; i++) {
        // Dims32 in 8.x, Dims64 in 10.x.
        using Elem = typename std::remove_reference<decltype(d.d[0])>::type;
        if (src[i] > static_cast<int64_t>(std::numeric_limits<Elem>::max()) || src[i] < -1) {
            return false;
        }
        d.d[i] = static_cast<Elem>(src[i]);
    }
    return true;
}

void fromDims(nvinfer1::Dims const& d, int32_t* nb, int64_t* dst) {
    int32_t n = d.nbDims < 0 ? 0 : d.nbDims;
    if (n > TRT_MAX_DIMS) {
        n = TRT_MAX_DIMS;
    }
    *nb = d.nbDims < 0 ? -1 : n;
    for (int32_t i = 0; i < n; i++) {
        dst[i] = static_cast<int64_t>(d.d[i]);
    }
}

int32_t dtype(nvinfer1::DataType t) {
    switch (t) {
    case nvinfer1::DataType::kFLOAT: return TRT_DTYPE_FLOAT;
    case nvinfer1::DataType::kHALF: return TRT_DTYPE_HALF;
    case nvinfer1::DataType::kINT8: return TRT_DTYPE_INT8;
    case nvinfer1::DataType::kINT32: return TRT_DTYPE_INT32;
    case nvinfer1::DataType::kBOOL: return TRT_DTYPE_BOOL;
    case nvinfer1::DataType::kUINT8: return TRT_DTYPE_UINT8;
#if NV_TENSORRT_MAJOR >= 10
    case nvinfer1::DataType::kFP8: return TRT_DTYPE_FP8;
    case nvinfer1::DataType::kBF16: return TRT_DTYPE_BF16;
    case nvinfer1::DataType::kINT64: return TRT_DTYPE_INT64;
    case nvinfer1::DataType::kINT4: return TRT_DTYPE_INT4;
#endif
    default: return TRT_DTYPE_UNKNOWN;
    }
}

#if NV_TENSORRT_MAJOR < 11
// CacheCalibrator feeds TensorRT a calibration cache made elsewhere; it has no
// calibration data, so a cache that does not cover the network fails the build.
class CacheCalibrator final : public nvinfer1::IInt8EntropyCalibrator2 {
public:
    CacheCalibrator(void const* data, size_t len)
        : mCache(static_cast<char const*>(data), static_cast<char const*>(data) + len) {}
    int32_t getBatchSize() const noexcept override { return 1; }
    bool getBatch(void* /*bindings*/[], char const* /*names*/[], int32_t /*nb*/) noexcept override { return false; }
    void const* readCalibrationCache(std::size_t& length) noexcept override {
        length = mCache.size();
        return mCache.empty() ? nullptr : mCache.data();
    }
    void writeCalibrationCache(void const* /*ptr*/, std::size_t /*length*/) noexcept override {}

private:
    std::string mCache;
};
#endif

}  // namespace

// Handles. Destruction order inside each follows the samples: parser,
// network, builder; context before stream.
struct trt_builder {
    std::unique_ptr<nvinfer1::IBuilder> builder;
    std::unique_ptr<nvinfer1::INetworkDefinition> network;
    std::unique_ptr<nvonnxparser::IParser> parser;
    ~trt_builder() {
        parser.reset();
        network.reset();
        builder.reset();
    }
};

struct trt_runtime {
    std::unique_ptr<nvinfer1::IRuntime> runtime;
};

struct trt_engine {
    std::unique_ptr<nvinfer1::ICudaEngine> engine;
};

struct trt_context {
    std::unique_ptr<nvinfer1::IExecutionContext> context;
    cudaStream_t stream = nullptr;
    ~trt_context() {
        context.reset();
        if (stream != nullptr) {
            cudaStreamDestroy(stream);
        }
    }
};

extern "C" {

void trt_free(void* p) { std::free(p); }

int32_t trt_lib_version(void) { return getInferLibVersion(); }

int32_t trt_parser_version(void) { return getNvOnnxParserVersion(); }

int32_t trt_header_version(void) {
    return NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH;
}

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

trt_status trt_builder_create(void const* onnx, size_t onnx_len, trt_builder** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        std::unique_ptr<trt_builder> b(new trt_builder());
        b->builder.reset(nvinfer1::createInferBuilder(logger()));
        if (!b->builder) {
            return fail(err, TRT_ERR, "create builder failed (is a GPU present?)");
        }
#if NV_TENSORRT_MAJOR < 10
        // 8.x: the ONNX parser supports only explicit-batch networks.
        uint32_t flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#else
        uint32_t flags = 0;  // always explicit batch; the flag is deprecated (removed in 11)
#endif
        b->network.reset(b->builder->createNetworkV2(flags));
        if (!b->network) {
            return fail(err, TRT_ERR, "create network failed");
        }
        b->parser.reset(nvonnxparser::createParser(*b->network, logger()));
        if (!b->parser) {
            return fail(err, TRT_ERR, "create onnx parser failed");
        }
        if (!b->parser->parse(onnx, onnx_len)) {
            std::string msg = "onnx parser rejected the model";
            for (int32_t i = 0; i < b->parser->getNbErrors(); i++) {
                nvonnxparser::IParserError const* pe = b->parser->getError(i);
                if (pe == nullptr) {
                    continue;
                }
                msg += i == 0 ? ": " : "; ";
                msg += "node " + std::to_string(pe->node()) + ": " + (pe->desc() ? pe->desc() : "?");
            }
            return fail(err, TRT_ERR_PARSE, msg);
        }
        *out = b.release();
        return TRT_OK;
    });
}

void trt_builder_destroy(trt_builder* b) { delete b; }

int32_t trt_builder_num_inputs(trt_builder* b) { return b->network->getNbInputs(); }

trt_status trt_builder_input(trt_builder* b, int32_t i, trt_tensor_desc* out, char** err) {
    return guard(err, [&]() -> trt_status {
        if (i < 0 || i >= b->network->getNbInputs()) {
            return fail(err, TRT_ERR, "no input " + std::to_string(i));
        }
        nvinfer1::ITensor* t = b->network->getInput(i);
        std::memset(out, 0, sizeof(*out));
        out->name = t->getName();
        out->is_input = 1;
        out->dtype = dtype(t->getType());
        fromDims(t->getDimensions(), &out->nb_dims, out->dims);
        return TRT_OK;
    });
}

trt_status trt_builder_build(trt_builder* b, trt_build_config const* c, void** plan, size_t* plan_len, void** timing,
                             size_t* timing_len, char** err) {
    return guard(err, [&]() -> trt_status {
        *plan = nullptr;
        *plan_len = 0;
        *timing = nullptr;
        *timing_len = 0;
        std::unique_ptr<nvinfer1::IBuilderConfig> cfg(b->builder->createBuilderConfig());
        if (!cfg) {
            return fail(err, TRT_ERR, "create builder config failed");
        }
        cfg->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, static_cast<size_t>(c->workspace_bytes));
#if NV_TENSORRT_MAJOR < 11
        std::unique_ptr<CacheCalibrator> calib;
        if (c->fp16 || c->int8) {
            cfg->setFlag(nvinfer1::BuilderFlag::kFP16);
        }
        if (c->int8) {
            if (c->calib_cache == nullptr || c->calib_cache_len == 0) {
                return fail(err, TRT_ERR, "int8 needs a calibration cache");
            }
            cfg->setFlag(nvinfer1::BuilderFlag::kINT8);
            calib.reset(new CacheCalibrator(c->calib_cache, c->calib_cache_len));
            cfg->setInt8Calibrator(calib.get());
        }
#else
        if (c->fp16 || c->int8) {
            return fail(err, TRT_ERR,
                        "TensorRT 11 removed the fp16/int8 builder flags: export a reduced-precision ONNX model and build it as fp32");
        }
#endif
        if (c->nb_profiles > 0) {
            nvinfer1::IOptimizationProfile* p = b->builder->createOptimizationProfile();  // owned by the builder
            if (p == nullptr) {
                return fail(err, TRT_ERR, "create optimization profile failed");
            }
            for (int32_t i = 0; i < c->nb_profiles; i++) {
                trt_profile const& in = c->profiles[i];
                nvinfer1::Dims mn, op, mx;
                if (!toDims(in.nb_dims, in.min, mn) || !toDims(in.nb_dims, in.opt, op) || !toDims(in.nb_dims, in.max, mx)) {
                    return fail(err, TRT_ERR_SHAPE, std::string("profile of ") + in.name + ": bad dimensions");
                }
                if (!p->setDimensions(in.name, nvinfer1::OptProfileSelector::kMIN, mn) ||
                    !p->setDimensions(in.name, nvinfer1::OptProfileSelector::kOPT, op) ||
                    !p->setDimensions(in.name, nvinfer1::OptProfileSelector::kMAX, mx)) {
                    return fail(err, TRT_ERR_SHAPE, std::string("profile of ") + in.name + " rejected");
                }
            }
            if (cfg->addOptimizationProfile(p) < 0) {
                return fail(err, TRT_ERR_SHAPE, "optimization profile rejected");
            }
#if NV_TENSORRT_MAJOR < 11
            if (c->int8 && !cfg->setCalibrationProfile(p)) {
                return fail(err, TRT_ERR_SHAPE, "calibration profile rejected");
            }
#endif
        }
        std::unique_ptr<nvinfer1::ITimingCache> tc(
            cfg->createTimingCache(c->timing_cache, c->timing_cache ? c->timing_cache_len : 0));
        if (!tc && c->timing_cache != nullptr) {
            tlLogged.clear();  // an unusable timing cache only costs time: start a new one
            tc.reset(cfg->createTimingCache(nullptr, 0));
        }
        if (!tc || !cfg->setTimingCache(*tc, false)) {
            return fail(err, TRT_ERR, "timing cache rejected");
        }
        std::unique_ptr<nvinfer1::IHostMemory> blob(b->builder->buildSerializedNetwork(*b->network, *cfg));
        if (!blob || blob->size() == 0) {
            return fail(err, TRT_ERR, "engine build failed");
        }
        void* p = std::malloc(blob->size());
        if (p == nullptr) {
            return fail(err, TRT_ERR_OOM, "out of host memory for the plan");
        }
        std::memcpy(p, blob->data(), blob->size());
        *plan = p;
        *plan_len = blob->size();
        nvinfer1::ITimingCache const* used = cfg->getTimingCache();
        if (used != nullptr) {
            std::unique_ptr<nvinfer1::IHostMemory> ts(used->serialize());
            if (ts && ts->size() > 0) {
                void* q = std::malloc(ts->size());
                if (q != nullptr) {
                    std::memcpy(q, ts->data(), ts->size());
                    *timing = q;
                    *timing_len = ts->size();
                }
            }
        }
        return TRT_OK;
    });
}

trt_status trt_runtime_create(trt_runtime** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        std::unique_ptr<trt_runtime> r(new trt_runtime());
        r->runtime.reset(nvinfer1::createInferRuntime(logger()));
        if (!r->runtime) {
            return fail(err, TRT_ERR, "create runtime failed (is a GPU present?)");
        }
        *out = r.release();
        return TRT_OK;
    });
}

void trt_runtime_destroy(trt_runtime* r) { delete r; }

trt_status trt_engine_deserialize(trt_runtime* r, void const* plan, size_t plan_len, trt_engine** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        std::unique_ptr<trt_engine> e(new trt_engine());
        e->engine.reset(r->runtime->deserializeCudaEngine(plan, plan_len));
        if (!e->engine) {
            return fail(err, TRT_ERR_PLAN, "deserialize engine failed");
        }
        *out = e.release();
        return TRT_OK;
    });
}

void trt_engine_destroy(trt_engine* e) { delete e; }

int32_t trt_engine_num_io(trt_engine* e) { return e->engine->getNbIOTensors(); }

trt_status trt_engine_io(trt_engine* e, int32_t i, trt_tensor_desc* out, char** err) {
    return guard(err, [&]() -> trt_status {
        if (i < 0 || i >= e->engine->getNbIOTensors()) {
            return fail(err, TRT_ERR, "no tensor " + std::to_string(i));
        }
        char const* name = e->engine->getIOTensorName(i);
        if (name == nullptr) {
            return fail(err, TRT_ERR, "tensor " + std::to_string(i) + " has no name");
        }
        std::memset(out, 0, sizeof(*out));
        out->name = name;
        out->is_input = e->engine->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT ? 1 : 0;
        out->dtype = dtype(e->engine->getTensorDataType(name));
        fromDims(e->engine->getTensorShape(name), &out->nb_dims, out->dims);
        return TRT_OK;
    });
}

trt_status trt_engine_profile(trt_engine* e, char const* name, trt_profile* out, int32_t* found, char** err) {
    return guard(err, [&]() -> trt_status {
        *found = 0;
        std::memset(out, 0, sizeof(*out));
        if (e->engine->getNbOptimizationProfiles() < 1) {
            return TRT_OK;
        }
        nvinfer1::Dims mn = e->engine->getProfileShape(name, 0, nvinfer1::OptProfileSelector::kMIN);
        nvinfer1::Dims op = e->engine->getProfileShape(name, 0, nvinfer1::OptProfileSelector::kOPT);
        nvinfer1::Dims mx = e->engine->getProfileShape(name, 0, nvinfer1::OptProfileSelector::kMAX);
        if (mn.nbDims <= 0) {
            return TRT_OK;  // static input: not in the profile
        }
        int32_t nb = 0;
        fromDims(mn, &nb, out->min);
        fromDims(op, &nb, out->opt);
        fromDims(mx, &nb, out->max);
        out->name = name;
        out->nb_dims = nb;
        *found = 1;
        return TRT_OK;
    });
}

trt_status trt_context_create(trt_engine* e, trt_context** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        std::unique_ptr<trt_context> c(new trt_context());
        cudaError_t ce = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
        if (ce != cudaSuccess) {
            c->stream = nullptr;
            return cudaFail(err, "cuda: create stream", ce);
        }
        c->context.reset(e->engine->createExecutionContext());
        if (!c->context) {
            return fail(err, TRT_ERR_OOM, "create execution context failed (out of GPU memory?)");
        }
        *out = c.release();
        return TRT_OK;
    });
}

void trt_context_destroy(trt_context* c) { delete c; }

void* trt_context_stream(trt_context* c) { return c != nullptr ? static_cast<void*>(c->stream) : nullptr; }

trt_status trt_context_set_input_shape(trt_context* c, char const* name, int32_t nb_dims, int64_t const* dims,
                                       char** err) {
    return guard(err, [&]() -> trt_status {
        nvinfer1::Dims d;
        if (!toDims(nb_dims, dims, d)) {
            return fail(err, TRT_ERR_SHAPE, std::string("input ") + name + ": bad dimensions");
        }
        if (!c->context->setInputShape(name, d)) {
            return fail(err, TRT_ERR_SHAPE, std::string("input ") + name + ": shape rejected");
        }
        return TRT_OK;
    });
}

trt_status trt_context_tensor_shape(trt_context* c, char const* name, int32_t* nb_dims, int64_t* dims, char** err) {
    return guard(err, [&]() -> trt_status {
        fromDims(c->context->getTensorShape(name), nb_dims, dims);
        if (*nb_dims < 0) {
            return fail(err, TRT_ERR_SHAPE, std::string("tensor ") + name + ": shape unknown");
        }
        return TRT_OK;
    });
}

trt_status trt_context_set_address(trt_context* c, char const* name, void* dev, char** err) {
    return guard(err, [&]() -> trt_status {
        if (!c->context->setTensorAddress(name, dev)) {
            return fail(err, TRT_ERR, std::string("tensor ") + name + ": address rejected");
        }
        return TRT_OK;
    });
}

trt_status trt_context_run(trt_context* c, trt_copy const* h2d, int32_t n_h2d, trt_copy const* d2h, int32_t n_d2h,
                           char** err) {
    return guard(err, [&]() -> trt_status {
        cudaError_t e;
        for (int32_t i = 0; i < n_h2d; i++) {
            e = cudaMemcpyAsync(h2d[i].dst, h2d[i].src, h2d[i].bytes, cudaMemcpyHostToDevice, c->stream);
            if (e != cudaSuccess) {
                return cudaFail(err, "cuda: copy input", e);
            }
        }
        if (!c->context->enqueueV3(c->stream)) {
            cudaStreamSynchronize(c->stream);  // the copies above may still read host memory
            return fail(err, TRT_ERR, "enqueueV3 failed");
        }
        for (int32_t i = 0; i < n_d2h; i++) {
            e = cudaMemcpyAsync(d2h[i].dst, d2h[i].src, d2h[i].bytes, cudaMemcpyDeviceToHost, c->stream);
            if (e != cudaSuccess) {
                cudaStreamSynchronize(c->stream);
                return cudaFail(err, "cuda: copy output", e);
            }
        }
        e = cudaStreamSynchronize(c->stream);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: inference", e);
    });
}

trt_status trt_device_alloc(size_t bytes, void** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        cudaError_t e = cudaMalloc(out, bytes);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: allocate device memory", e);
    });
}

void trt_device_free(void* p) {
    if (p != nullptr) {
        cudaFree(p);
    }
}

trt_status trt_host_alloc(size_t bytes, void** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        cudaError_t e = cudaHostAlloc(out, bytes, cudaHostAllocDefault);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: allocate pinned memory", e);
    });
}

void trt_host_free(void* p) {
    if (p != nullptr) {
        cudaFreeHost(p);
    }
}

}  // extern "C"
