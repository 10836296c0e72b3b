//go:build tensorrt

// build.cpp: ONNX -> serialised engine (build.h), as sampleOnnxMNIST and
// trtexec do: builder, network, parser; config with workspace, precision,
// optimization profile and timing cache; buildSerializedNetwork.

#include "build.h"

#include "shim.hpp"

#include <NvOnnxParser.h>

#include <cstdlib>
#include <cstring>
#include <memory>

using namespace conveyor_trt;

namespace {

#if NV_TENSORRT_MAJOR < 11
// CacheCalibrator feeds TensorRT a calibration cache made elsewhere; it has no
// calibration data, so a cache that does not cover the network fails the build.
// TensorRT 11 removed INT8 calibration (precision comes from Q/DQ nodes).
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

void* copyOut(void const* data, size_t n) {
    void* p = std::malloc(n);
    if (p != nullptr) {
        std::memcpy(p, data, n);
    }
    return p;
}

}  // namespace

// Destruction order follows the samples: parser, network, builder.
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

extern "C" {

trt_status trt_builder_create(void const* onnx, size_t onnx_len, int32_t strongly_typed, trt_builder** out,
                              char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        trt_status s = TRT_OK;
        if (!needLib(err, &s)) {
            return s;
        }
        std::unique_ptr<trt_builder> b(new trt_builder());
        b->builder.reset(static_cast<nvinfer1::IBuilder*>(lib()->createInferBuilder(&logger(), NV_TENSORRT_VERSION)));
        if (!b->builder) {
            return fail(err, TRT_ERR, "create builder failed (is a GPU present?)");
        }
        uint32_t flags = 0;
#if NV_TENSORRT_MAJOR < 10
        // 8.x: the ONNX parser supports only explicit-batch networks; no strong typing.
        flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
        if (strongly_typed) {
            return fail(err, TRT_ERR, "strongly typed networks need TensorRT 10 or newer");
        }
#elif NV_TENSORRT_MAJOR == 10
        // Always explicit batch (the flag is deprecated); typed on request.
        if (strongly_typed) {
            flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
        }
#else
        (void)strongly_typed;  // 11: always strongly typed (the flag is deprecated and ignored)
#endif
        b->network.reset(b->builder->createNetworkV2(flags));
        if (!b->network) {
            return fail(err, TRT_ERR, "create network failed");
        }
        b->parser.reset(static_cast<nvonnxparser::IParser*>(
            lib()->createOnnxParser(b->network.get(), &logger(), NV_ONNX_PARSER_VERSION)));
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
            std::string why = pluginError();
            if (!why.empty()) {
                msg += " (TensorRT's plugins are not loaded: " + why + ")";
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

trt_status trt_builder_build(trt_builder* b, trt_build_config const* c, trt_build_result* out, char** err) {
    return guard(err, [&]() -> trt_status {
        std::memset(out, 0, sizeof(*out));
        // Declared before the config so that it is destroyed after it: the
        // config refers to the timing cache set on it until it goes.
        std::unique_ptr<nvinfer1::ITimingCache> tc;
#if NV_TENSORRT_MAJOR < 11
        std::unique_ptr<CacheCalibrator> calib;  // likewise outlives the config
#endif
        std::unique_ptr<nvinfer1::IBuilderConfig> cfg(b->builder->createBuilderConfig());
        if (!cfg) {
            return fail(err, TRT_ERR, "create builder config failed");
        }
        cfg->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, static_cast<size_t>(c->workspace_bytes));
#if NV_TENSORRT_MAJOR < 11
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
        // platform.go refuses these before parsing; this is the safety net.
        if (c->fp16 || c->int8) {
            return fail(err, TRT_ERR,
                        "TensorRT 11 removed the fp16/int8 builder flags: precision comes from the ONNX model's own types");
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
        // The timing cache only saves time: one TensorRT refuses (another
        // TensorRT version or GPU) is replaced by a new one, never fatal,
        // and the caller overwrites the file with the new cache.
        if (c->timing_cache != nullptr && c->timing_cache_len > 0) {
            tc.reset(cfg->createTimingCache(c->timing_cache, c->timing_cache_len));
            if (!tc || !cfg->setTimingCache(*tc, false)) {
                tc.reset();
                tlLogged.clear();  // TensorRT's complaint about the old cache explains nothing later
                out->timing_rejected = 1;
            }
        }
        bool given = tc != nullptr;
        // fresh sets a new, empty timing cache on the config; the one it
        // replaces is destroyed only after the config stopped using it.
        auto fresh = [&]() -> bool {
            std::unique_ptr<nvinfer1::ITimingCache> n(cfg->createTimingCache(nullptr, 0));
            if (!n || !cfg->setTimingCache(*n, false)) {
                return false;
            }
            tc = std::move(n);
            return true;
        };
        if (!tc && !fresh()) {
            return fail(err, TRT_ERR, "create timing cache failed");
        }
        std::unique_ptr<nvinfer1::IHostMemory> blob(b->builder->buildSerializedNetwork(*b->network, *cfg));
        if ((!blob || blob->size() == 0) && given) {
            // A cache TensorRT accepted can still be what breaks the build
            // (made by another TensorRT build or device): once more without.
            tlLogged.clear();
            if (!fresh()) {
                return fail(err, TRT_ERR, "create timing cache failed");
            }
            out->timing_rejected = 1;
            blob.reset(b->builder->buildSerializedNetwork(*b->network, *cfg));
        }
        if (!blob || blob->size() == 0) {
            return fail(err, TRT_ERR, "engine build failed");
        }
        out->plan = copyOut(blob->data(), blob->size());
        if (out->plan == nullptr) {
            return fail(err, TRT_ERR_OOM, "out of host memory for the plan");
        }
        out->plan_len = blob->size();
        nvinfer1::ITimingCache const* used = cfg->getTimingCache();
        if (used != nullptr) {
            std::unique_ptr<nvinfer1::IHostMemory> ts(used->serialize());
            if (ts && ts->size() > 0) {
                out->timing = copyOut(ts->data(), ts->size());
                out->timing_len = out->timing != nullptr ? ts->size() : 0;
            }
        }
        return TRT_OK;
    });
}

}  // extern "C"
