// kernels.h: C ABI of conveyor's CUDA pre- and post-processing kernels
// (kernels.cu, built by nvcc into libconveyorcuda.a: see build.sh).
//
// Only plain C types cross: device pointers, sizes in pixels, strides in
// bytes. Every function returns 0 or a non-zero status and stores a message
// in *err that the caller frees with cv_free. Launches are asynchronous on
// the given stream. Mirrored in cuda.go: change here, change there.
#ifndef CONVEYOR_CUDA_KERNELS_H
#define CONVEYOR_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_OK 0
#define CV_ERR 1
#define CV_ERR_NO_GPU 2
#define CV_ERR_OOM 3

typedef struct {
    int32_t src_w, src_h, src_stride; /* BGR8 HWC; stride in bytes */
    int64_t src_batch_stride;         /* bytes between frames */
    int32_t dst_w, dst_h;             /* NCHW output; planes of dst_w*dst_h */
    int32_t inner_w, inner_h;         /* size of the resized picture inside dst */
    int32_t pad_x, pad_y;             /* its top-left corner */
    float pad_value;                  /* raw pixel value of the padding (before normalization) */
    int32_t swap_rb;                  /* 1: output channel 0 is R */
    float mean[3], scale[3];          /* out[c] = (v[c] - mean[c]) * scale[c], in output order */
    int32_t fp16;                     /* 1: half output, else float */
} cv_preprocess_params;

void cv_free(void* p);
int cv_device_name(int device, char* name, size_t len, char** err);
int cv_malloc(size_t bytes, void** out, char** err);
void cv_dev_free(void* p);
int cv_memcpy_htod(void* dst, const void* src, size_t bytes, char** err);
int cv_memcpy_dtoh(void* dst, const void* src, size_t bytes, char** err);
int cv_memcpy_dtod_async(void* dst, const void* src, size_t bytes, void* stream, char** err);
/* Pinned (page-locked) host memory, for asynchronous uploads. */
int cv_host_alloc(size_t bytes, void** out, char** err);
void cv_host_free(void* p);
/* src must be pinned host memory that stays untouched until the stream passes the copy. */
int cv_memcpy_htod_async(void* dst, const void* src, size_t bytes, void* stream, char** err);
int cv_stream_create(void** out, char** err);
void cv_stream_destroy(void* s);
int cv_stream_sync(void* s, char** err);
int cv_event_create(void** out, char** err);
void cv_event_destroy(void* e);
int cv_event_record(void* e, void* stream, char** err);
int cv_event_elapsed(void* start, void* end, float* ms, char** err);

/* Resize (bilinear, OpenCV's half-pixel convention) + letterbox + colour
   order + normalization + HWC->NCHW for batch frames at src into dst. */
int cv_preprocess(const void* src, void* dst, int32_t batch, const cv_preprocess_params* p, void* stream, char** err);

/* Pixelate cells in place: cells holds n (x, y, w, h) int32 quadruples in
   host memory (copied to dev_cells, of at least 16*n bytes, before the
   call returns); each cell becomes its mean colour. */
int cv_pixelate(void* img, int32_t w, int32_t h, int32_t stride, const int32_t* cells, int32_t n, void* dev_cells,
                void* stream, char** err);

#ifdef __cplusplus
}
#endif

#endif
