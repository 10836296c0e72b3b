//go:build tensorrt

// context.cpp: execution contexts, enqueueV3 and memory (context.h).

#include "context.h"

#include "shim.hpp"

#include <memory>

using namespace conveyor_trt;

// Destruction: the context before its stream.
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

namespace {

// settle waits for the stream after a failure, so that no queued copy still
// reads or writes the caller's buffers, and reports the first error.
trt_status settle(trt_context* c, char** err, char const* what, cudaError_t first) {
    cudaError_t s = cudaStreamSynchronize(c->stream);
    if (first == cudaSuccess) {
        first = s;
    }
    return cudaFail(err, what, first);
}

}  // namespace

extern "C" {

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
                return settle(c, err, "cuda: copy input", e);
            }
        }
        if (!c->context->enqueueV3(c->stream)) {
            cudaError_t s = cudaStreamSynchronize(c->stream);  // the copies above may still read host memory
            if (s != cudaSuccess) {
                return cudaFail(err, "enqueueV3 failed", s);
            }
            return fail(err, TRT_ERR, "enqueueV3 failed");
        }
        for (int32_t i = 0; i < n_d2h; i++) {
            e = cudaMemcpyAsync(d2h[i].dst, d2h[i].src, d2h[i].bytes, cudaMemcpyDeviceToHost, c->stream);
            if (e != cudaSuccess) {
                return settle(c, err, "cuda: copy output", e);
            }
        }
        e = cudaStreamSynchronize(c->stream);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: inference", e);
    });
}

trt_status trt_context_sync(trt_context* c, char** err) {
    return guard(err, [&]() -> trt_status {
        cudaError_t e = cudaStreamSynchronize(c->stream);
        return e == cudaSuccess ? TRT_OK : cudaFail(err, "cuda: synchronize", e);
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
