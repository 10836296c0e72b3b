// Package cuda holds conveyor's GPU pre- and post-processing: DeepStream's
// nvvideoconvert (resize or letterbox, colour order, normalization,
// HWC→NCHW, float32 or float16, for a batch) and its blur of detected
// objects (pixelation of boxes in place), as CUDA kernels (kernels.cu).
//
// The package knows nothing of gocv: it takes device pointers, sizes in
// pixels and strides in bytes, so its test binary runs on a GPU machine
// without OpenCV. The kernels are built by nvcc into libconveyorcuda.a
// (build.sh, which picks the GPU architectures the nvcc at hand can
// compile: sm_72 to sm_120 across CUDA 11.4 to 13.x) and linked with
// `-tags cuda`; without the tag every GPU entry point returns ErrNotBuilt. The CPU references (PreprocessCPU,
// PixelateCPU) and the geometry are plain Go, built and tested everywhere.
//
// The TensorRT path (trt.Context.InferFrames) queues the kernels on a
// TensorRT execution context's stream (StreamFrom, which does not own it):
// frames go from pinned host memory (HostAlloc) to the GPU with UploadAsync
// and are preprocessed straight into the engine's input binding.
//
// The preprocess kernel has three forms: a copy kernel when the picture is
// not scaled (word loads: one pixel per source pixel), a bilinear kernel
// for four pixels per thread (dst_w a multiple of 4), and a scalar one.
//
// Threading: a Stream, and the Buffers and Pixelator used with it, belong
// to one goroutine at a time; calls on a stream run in order on the GPU.
// Buffers are device memory owned by the caller: Free each once.
package cuda
