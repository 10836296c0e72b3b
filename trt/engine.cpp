//go:build tensorrt

// engine.cpp: runtime, deserialisation and I/O discovery by name (engine.h).

#include "engine.h"

#include "shim.hpp"

#include <cstring>
#include <memory>

using namespace conveyor_trt;

struct trt_runtime {
    std::unique_ptr<nvinfer1::IRuntime> runtime;
};

extern "C" {

trt_status trt_runtime_create(trt_runtime** out, char** err) {
    return guard(err, [&]() -> trt_status {
        *out = nullptr;
        trt_status s = TRT_OK;
        if (!needLib(err, &s)) {
            return s;
        }
        std::unique_ptr<trt_runtime> r(new trt_runtime());
        r->runtime.reset(static_cast<nvinfer1::IRuntime*>(lib()->createInferRuntime(&logger(), NV_TENSORRT_VERSION)));
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

}  // extern "C"
