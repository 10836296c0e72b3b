//go:build tensorrt

// shim.cpp: the helpers every part of the shim shares (shim.hpp): the
// logger and its queue, messages, status mapping, dimensions and types.

#include "shim.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

namespace conveyor_trt {

thread_local std::string tlLogged;
thread_local bool tlInCall = false;

namespace {

// The queue of messages for trt_log_drain: bounded, so that a TensorRT that
// repeats a warning thousands of times (tactic workspace on a small Jetson)
// while nobody drains cannot grow it without end.
constexpr size_t kQueueMax = 256;
std::mutex gQueueMu;
std::deque<std::string> gQueue;
size_t gDropped = 0;
std::atomic<size_t> gPending{0};

class Logger final : public nvinfer1::ILogger {
public:
    void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
        if (msg == nullptr || severity > Severity::kWARNING) {
            return;
        }
        try {
            bool error = severity <= Severity::kERROR;
            if (error && tlInCall) {
                // The calling thread's error: it explains this call's failure.
                if (tlLogged.size() < 4096) {
                    if (!tlLogged.empty()) {
                        tlLogged += "; ";
                    }
                    tlLogged += msg;
                }
                return;
            }
            queueLog(std::string(error ? "E " : "W ") + msg);
        } catch (...) {
        }
    }
};

}  // namespace

void queueLog(std::string line) {
    try {
        std::lock_guard<std::mutex> l(gQueueMu);
        if (gQueue.size() >= kQueueMax) {
            gDropped++;
        } else {
            gQueue.push_back(std::move(line));
        }
        gPending.store(gQueue.size() + gDropped);
    } catch (...) {
    }
}

nvinfer1::ILogger& logger() {
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

namespace {

// sticky reports the CUDA errors after which, in CUDA's own words, "the
// process must be terminated and relaunched" (driver_types.h). Numbers, not
// names: some names are newer than CUDA 11.4.
bool sticky(cudaError_t e) {
    switch (static_cast<int>(e)) {
    case 214:  // cudaErrorECCUncorrectable
    case 700:  // cudaErrorIllegalAddress
    case 702:  // cudaErrorLaunchTimeout
    case 710:  // cudaErrorAssert
    case 714:  // cudaErrorHardwareStackError
    case 715:  // cudaErrorIllegalInstruction
    case 716:  // cudaErrorMisalignedAddress
    case 717:  // cudaErrorInvalidAddressSpace
    case 718:  // cudaErrorInvalidPc
    case 719:  // cudaErrorLaunchFailure
    case 810:  // cudaErrorMpsClientTerminated
    case 911:  // cudaErrorExternalDevice
        return true;
    }
    return false;
}

}  // namespace

trt_status cudaFail(char** err, char const* what, cudaError_t e) {
    trt_status code = TRT_ERR;
    if (sticky(e)) {
        code = TRT_ERR_BROKEN;
    } else if (e == cudaErrorMemoryAllocation) {
        code = TRT_ERR_OOM;
        cudaGetLastError();  // a failed allocation is not sticky: clear it
    } else if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        code = TRT_ERR_NO_GPU;
    }
    return fail(err, code, std::string(what) + ": " + cudaGetErrorString(e));
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

}  // namespace conveyor_trt

using namespace conveyor_trt;

extern "C" {

void trt_free(void* p) { std::free(p); }

char* trt_log_drain(void) {
    if (gPending.load() == 0) {
        return nullptr;
    }
    try {
        std::string out;
        {
            std::lock_guard<std::mutex> l(gQueueMu);
            for (std::string const& m : gQueue) {
                out += m;
                out += '\n';
            }
            if (gDropped > 0) {
                out += "W (" + std::to_string(gDropped) + " more TensorRT messages dropped)\n";
            }
            gQueue.clear();
            gDropped = 0;
            gPending.store(0);
        }
        return out.empty() ? nullptr : dup(out);
    } catch (...) {
        return nullptr;
    }
}

}  // extern "C"
