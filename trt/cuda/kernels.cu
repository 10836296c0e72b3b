// kernels.cu: conveyor's CUDA pre- and post-processing (DeepStream's
// nvvideoconvert and nvdsosd blur, without GStreamer). See kernels.h.
#include "kernels.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int fail(char** err, const char* what, cudaError_t e) {
    if (err != nullptr) {
        std::string m = std::string(what) + ": " + cudaGetErrorString(e);
        char* p = static_cast<char*>(std::malloc(m.size() + 1));
        if (p != nullptr) std::memcpy(p, m.c_str(), m.size() + 1);
        *err = p;
    }
    if (e == cudaErrorMemoryAllocation) return CV_ERR_OOM;
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) return CV_ERR_NO_GPU;
    return CV_ERR;
}

int check(char** err, const char* what, cudaError_t e) {
    if (err != nullptr) *err = nullptr;
    return e == cudaSuccess ? CV_OK : fail(err, what, e);
}

__device__ __forceinline__ void store(float* p, float v) { *p = v; }

// u8f converts a byte to float without I2F, which runs at a quarter of the
// ALU rate (16 per clock per SM on Hopper) and, at 12 per pixel, bounds the
// kernels: 0x4B000000 | b is the float 2^23 + b, exactly.
__device__ __forceinline__ float u8f(uint32_t b) { return __uint_as_float(0x4B000000u | b) - 8388608.f; }
__device__ __forceinline__ void store(__half* p, float v) { *p = __float2half_rn(v); }

template <typename T>
__global__ void preprocessKernel(const uint8_t* __restrict__ src, T* __restrict__ dst, cv_preprocess_params p) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int b = blockIdx.z;
    if (x >= p.dst_w || y >= p.dst_h) return;
    const size_t plane = static_cast<size_t>(p.dst_w) * p.dst_h;
    T* out = dst + static_cast<size_t>(b) * 3 * plane + static_cast<size_t>(y) * p.dst_w + x;
    float v0 = p.pad_value, v1 = p.pad_value, v2 = p.pad_value;
    const int ix = x - p.pad_x, iy = y - p.pad_y;
    if (ix >= 0 && iy >= 0 && ix < p.inner_w && iy < p.inner_h) {
        const uint8_t* img = src + static_cast<size_t>(b) * p.src_batch_stride;
        // OpenCV INTER_LINEAR: centre-aligned, edges clamped.
        float fx = (ix + 0.5f) * (static_cast<float>(p.src_w) / p.inner_w) - 0.5f;
        float fy = (iy + 0.5f) * (static_cast<float>(p.src_h) / p.inner_h) - 0.5f;
        fx = fmaxf(fx, 0.f);
        fy = fmaxf(fy, 0.f);
        int x0 = min(static_cast<int>(fx), p.src_w - 1), y0 = min(static_cast<int>(fy), p.src_h - 1);
        int x1 = min(x0 + 1, p.src_w - 1), y1 = min(y0 + 1, p.src_h - 1);
        float ax = fx - x0, ay = fy - y0;
        if (x0 == p.src_w - 1) ax = 0.f;
        if (y0 == p.src_h - 1) ay = 0.f;
        const uint8_t* r0 = img + static_cast<size_t>(y0) * p.src_stride;
        const uint8_t* r1 = img + static_cast<size_t>(y1) * p.src_stride;
        float c[3];
#pragma unroll
        for (int k = 0; k < 3; k++) {
            float a = u8f(__ldg(r0 + 3 * x0 + k)), bb = u8f(__ldg(r0 + 3 * x1 + k));
            float cc = u8f(__ldg(r1 + 3 * x0 + k)), d = u8f(__ldg(r1 + 3 * x1 + k));
            float top = a + (bb - a) * ax, bot = cc + (d - cc) * ax;
            c[k] = top + (bot - top) * ay;
        }
        v0 = c[0];
        v1 = c[1];
        v2 = c[2];
    }
    if (p.swap_rb) {
        float t = v0;
        v0 = v2;
        v2 = t;
    }
    store(out, (v0 - p.mean[0]) * p.scale[0]);
    store(out + plane, (v1 - p.mean[1]) * p.scale[1]);
    store(out + 2 * plane, (v2 - p.mean[2]) * p.scale[2]);
}

struct Row {
    const uint8_t* r0;
    const uint8_t* r1;
    float ay;
};

__device__ __forceinline__ void sample(const cv_preprocess_params& p, const Row& row, int ix, float* c) {
    float fx = fmaxf((ix + 0.5f) * (static_cast<float>(p.src_w) / p.inner_w) - 0.5f, 0.f);
    int x0 = min(static_cast<int>(fx), p.src_w - 1);
    int x1 = min(x0 + 1, p.src_w - 1);
    float ax = x0 == p.src_w - 1 ? 0.f : fx - x0;
#pragma unroll
    for (int k = 0; k < 3; k++) {
        float a = u8f(__ldg(row.r0 + 3 * x0 + k)), bb = u8f(__ldg(row.r0 + 3 * x1 + k));
        float cc = u8f(__ldg(row.r1 + 3 * x0 + k)), d = u8f(__ldg(row.r1 + 3 * x1 + k));
        float top = a + (bb - a) * ax, bot = cc + (d - cc) * ax;
        c[k] = top + (bot - top) * row.ay;
    }
}

__device__ __forceinline__ void store4(float* p, const float* v) { *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]); }
__device__ __forceinline__ void store4(__half* p, const float* v) {
    __half2 a = __floats2half2_rn(v[0], v[1]), b = __floats2half2_rn(v[2], v[3]);
    uint2 u;
    u.x = *reinterpret_cast<unsigned*>(&a);
    u.y = *reinterpret_cast<unsigned*>(&b);
    *reinterpret_cast<uint2*>(p) = u;
}

// preprocess4Kernel is preprocessKernel for dst_w % 4 == 0: four pixels per
// thread and one vector store per plane.
template <typename T>
__global__ void preprocess4Kernel(const uint8_t* __restrict__ src, T* __restrict__ dst, cv_preprocess_params p) {
    const int x = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int b = blockIdx.z;
    if (x >= p.dst_w || y >= p.dst_h) return;
    const size_t plane = static_cast<size_t>(p.dst_w) * p.dst_h;
    T* out = dst + static_cast<size_t>(b) * 3 * plane + static_cast<size_t>(y) * p.dst_w + x;
    const int iy = y - p.pad_y;
    const bool rowIn = iy >= 0 && iy < p.inner_h;
    Row row{nullptr, nullptr, 0.f};
    if (rowIn) {
        const uint8_t* img = src + static_cast<size_t>(b) * p.src_batch_stride;
        float fy = fmaxf((iy + 0.5f) * (static_cast<float>(p.src_h) / p.inner_h) - 0.5f, 0.f);
        int y0 = min(static_cast<int>(fy), p.src_h - 1);
        int y1 = min(y0 + 1, p.src_h - 1);
        row.ay = y0 == p.src_h - 1 ? 0.f : fy - y0;
        row.r0 = img + static_cast<size_t>(y0) * p.src_stride;
        row.r1 = img + static_cast<size_t>(y1) * p.src_stride;
    }
    float o[3][4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        float c[3] = {p.pad_value, p.pad_value, p.pad_value};
        const int ix = x + j - p.pad_x;
        if (rowIn && ix >= 0 && ix < p.inner_w) sample(p, row, ix, c);
        if (p.swap_rb) {
            float t = c[0];
            c[0] = c[2];
            c[2] = t;
        }
#pragma unroll
        for (int k = 0; k < 3; k++) o[k][j] = (c[k] - p.mean[k]) * p.scale[k];
    }
    store4(out, o[0]);
    store4(out + plane, o[1]);
    store4(out + 2 * plane, o[2]);
}

// preprocessCopyKernel is preprocess4Kernel for a picture placed without
// scaling (inner size = frame size: conveyor's 1080p-to-1080p case, or
// padding only). Every output pixel is one source pixel, so a thread reads
// its four pixels' 12 bytes as three 4-byte words instead of 48 single
// bytes (the bilinear weights are 0 there: the results are the same
// bits). aligned: the source rows and the picture's left edge lie on
// 4-byte boundaries; otherwise, and across the picture's edges, it reads
// bytes.
template <typename T>
__global__ void preprocessCopyKernel(const uint8_t* __restrict__ src, T* __restrict__ dst, cv_preprocess_params p,
                                     int aligned) {
    const int x = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int b = blockIdx.z;
    if (x >= p.dst_w || y >= p.dst_h) return;
    float c[3][4];
#pragma unroll
    for (int j = 0; j < 4; j++) c[0][j] = c[1][j] = c[2][j] = p.pad_value;
    const int ix = x - p.pad_x, iy = y - p.pad_y;
    if (iy >= 0 && iy < p.inner_h) {
        const uint8_t* row = src + static_cast<size_t>(b) * p.src_batch_stride + static_cast<size_t>(iy) * p.src_stride;
        if (aligned && ix >= 0 && ix + 3 < p.inner_w) {
            const uint32_t* w = reinterpret_cast<const uint32_t*>(row + 3 * ix);
            const uint32_t w0 = __ldg(w), w1 = __ldg(w + 1), w2 = __ldg(w + 2);
            // B G R | B G R | B G R | B G R over w0 w1 w2, low byte first.
            c[0][0] = u8f(w0 & 0xff), c[1][0] = u8f((w0 >> 8) & 0xff), c[2][0] = u8f((w0 >> 16) & 0xff);
            c[0][1] = u8f(w0 >> 24), c[1][1] = u8f(w1 & 0xff), c[2][1] = u8f((w1 >> 8) & 0xff);
            c[0][2] = u8f((w1 >> 16) & 0xff), c[1][2] = u8f(w1 >> 24), c[2][2] = u8f(w2 & 0xff);
            c[0][3] = u8f((w2 >> 8) & 0xff), c[1][3] = u8f((w2 >> 16) & 0xff), c[2][3] = u8f(w2 >> 24);
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                if (ix + j >= 0 && ix + j < p.inner_w) {
#pragma unroll
                    for (int k = 0; k < 3; k++) c[k][j] = u8f(__ldg(row + 3 * (ix + j) + k));
                }
            }
        }
    }
    float o[3][4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        if (p.swap_rb) {
            float t = c[0][j];
            c[0][j] = c[2][j];
            c[2][j] = t;
        }
#pragma unroll
        for (int k = 0; k < 3; k++) o[k][j] = (c[k][j] - p.mean[k]) * p.scale[k];
    }
    const size_t plane = static_cast<size_t>(p.dst_w) * p.dst_h;
    T* out = dst + static_cast<size_t>(b) * 3 * plane + static_cast<size_t>(y) * p.dst_w + x;
    store4(out, o[0]);
    store4(out + plane, o[1]);
    store4(out + 2 * plane, o[2]);
}

__global__ void pixelateKernel(uint8_t* img, int w, int h, int stride, const int4* __restrict__ cells) {
    const int4 c = cells[blockIdx.x];
    const int n = c.z * c.w;
    if (n <= 0) return;
    unsigned s0 = 0, s1 = 0, s2 = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const uint8_t* px = img + static_cast<size_t>(c.y + i / c.z) * stride + 3 * (c.x + i % c.z);
        s0 += px[0];
        s1 += px[1];
        s2 += px[2];
    }
    for (int off = 16; off > 0; off >>= 1) {
        s0 += __shfl_down_sync(0xffffffffu, s0, off);
        s1 += __shfl_down_sync(0xffffffffu, s1, off);
        s2 += __shfl_down_sync(0xffffffffu, s2, off);
    }
    __shared__ unsigned sum[3][32];
    __shared__ uint8_t mean[3];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sum[0][warp] = s0;
        sum[1][warp] = s1;
        sum[2][warp] = s2;
    }
    __syncthreads();
    if (threadIdx.x < 3) {
        unsigned t = 0;
        for (int k = 0; k < (blockDim.x + 31) / 32; k++) t += sum[threadIdx.x][k];
        mean[threadIdx.x] = static_cast<uint8_t>((t + n / 2) / n);
    }
    __syncthreads();
    const uint8_t m0 = mean[0], m1 = mean[1], m2 = mean[2];
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        uint8_t* px = img + static_cast<size_t>(c.y + i / c.z) * stride + 3 * (c.x + i % c.z);
        px[0] = m0;
        px[1] = m1;
        px[2] = m2;
    }
    (void)w;
    (void)h;
}

}  // namespace

extern "C" {

void cv_free(void* p) { std::free(p); }

int cv_device_name(int device, char* name, size_t len, char** err) {
    cudaDeviceProp p;
    int s = check(err, "cuda: device properties", cudaGetDeviceProperties(&p, device));
    if (s == CV_OK && len > 0) {
        std::strncpy(name, p.name, len - 1);
        name[len - 1] = 0;
    }
    return s;
}

int cv_malloc(size_t bytes, void** out, char** err) {
    cudaError_t e = cudaMalloc(out, bytes);
    if (e != cudaSuccess) cudaGetLastError();  // a failed allocation is not sticky: clear it
    return check(err, "cuda: malloc", e);
}
void cv_dev_free(void* p) {
    if (p) cudaFree(p);
}
int cv_memcpy_htod(void* dst, const void* src, size_t bytes, char** err) {
    return check(err, "cuda: copy to device", cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
int cv_memcpy_dtoh(void* dst, const void* src, size_t bytes, char** err) {
    return check(err, "cuda: copy to host", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
int cv_memcpy_dtod_async(void* dst, const void* src, size_t bytes, void* stream, char** err) {
    return check(err, "cuda: copy on device",
                 cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream)));
}
int cv_host_alloc(size_t bytes, void** out, char** err) {
    *out = nullptr;
    cudaError_t e = cudaHostAlloc(out, bytes, cudaHostAllocDefault);
    if (e != cudaSuccess) cudaGetLastError();
    return check(err, "cuda: allocate pinned memory", e);
}
void cv_host_free(void* p) {
    if (p) cudaFreeHost(p);
}
int cv_memcpy_htod_async(void* dst, const void* src, size_t bytes, void* stream, char** err) {
    return check(err, "cuda: upload",
                 cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream)));
}
int cv_stream_create(void** out, char** err) {
    cudaStream_t s = nullptr;
    int r = check(err, "cuda: create stream", cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *out = s;
    return r;
}
void cv_stream_destroy(void* s) {
    if (s) cudaStreamDestroy(static_cast<cudaStream_t>(s));
}
int cv_stream_sync(void* s, char** err) {
    return check(err, "cuda: synchronize", cudaStreamSynchronize(static_cast<cudaStream_t>(s)));
}
int cv_event_create(void** out, char** err) {
    cudaEvent_t e = nullptr;
    int r = check(err, "cuda: create event", cudaEventCreate(&e));
    *out = e;
    return r;
}
void cv_event_destroy(void* e) {
    if (e) cudaEventDestroy(static_cast<cudaEvent_t>(e));
}
int cv_event_record(void* e, void* stream, char** err) {
    return check(err, "cuda: record event", cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(stream)));
}
int cv_event_elapsed(void* start, void* end, float* ms, char** err) {
    cudaError_t e = cudaEventSynchronize(static_cast<cudaEvent_t>(end));
    if (e == cudaSuccess) e = cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end));
    return check(err, "cuda: event time", e);
}

int cv_preprocess(const void* src, void* dst, int32_t batch, const cv_preprocess_params* p, void* stream, char** err) {
    cudaGetLastError();  // clear an earlier, unrelated error (a failed cudaMalloc) so it is not reported here
    dim3 block(32, 8);
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const bool vec = p->dst_w % 4 == 0 && (reinterpret_cast<uintptr_t>(dst) & 15) == 0;
    if (vec && p->inner_w == p->src_w && p->inner_h == p->src_h) {
        const int aligned = (reinterpret_cast<uintptr_t>(src) & 3) == 0 && p->src_stride % 4 == 0 &&
                            p->src_batch_stride % 4 == 0 && p->pad_x % 4 == 0;
        dim3 grid((p->dst_w / 4 + 31) / 32, (p->dst_h + 7) / 8, batch);
        if (p->fp16) {
            preprocessCopyKernel<__half><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<__half*>(dst),
                                                                *p, aligned);
        } else {
            preprocessCopyKernel<float><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<float*>(dst), *p,
                                                               aligned);
        }
        return check(err, "cuda: preprocess", cudaGetLastError());
    }
    if (vec) {
        dim3 grid((p->dst_w / 4 + 31) / 32, (p->dst_h + 7) / 8, batch);
        if (p->fp16) {
            preprocess4Kernel<__half><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<__half*>(dst), *p);
        } else {
            preprocess4Kernel<float><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<float*>(dst), *p);
        }
        return check(err, "cuda: preprocess", cudaGetLastError());
    }
    dim3 grid((p->dst_w + 31) / 32, (p->dst_h + 7) / 8, batch);
    if (p->fp16) {
        preprocessKernel<__half><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<__half*>(dst), *p);
    } else {
        preprocessKernel<float><<<grid, block, 0, s>>>(static_cast<const uint8_t*>(src), static_cast<float*>(dst), *p);
    }
    return check(err, "cuda: preprocess", cudaGetLastError());
}

int cv_pixelate(void* img, int32_t w, int32_t h, int32_t stride, const int32_t* cells, int32_t n, void* dev_cells,
                void* stream, char** err) {
    if (n <= 0) return check(err, "", cudaSuccess);
    cudaGetLastError();  // as in cv_preprocess
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    int r = check(err, "cuda: copy cells",
                  cudaMemcpyAsync(dev_cells, cells, static_cast<size_t>(n) * 16, cudaMemcpyHostToDevice, s));
    if (r != CV_OK) return r;
    pixelateKernel<<<n, 256, 0, s>>>(static_cast<uint8_t*>(img), w, h, stride, static_cast<const int4*>(dev_cells));
    return check(err, "cuda: pixelate", cudaGetLastError());
}

}  // extern "C"
