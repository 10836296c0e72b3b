// Package trt is conveyor's TensorRT backend: it builds TensorRT engines from
// ONNX files, caches them, and runs them on an NVIDIA GPU behind the
// infer.Engine interface.
//
// The TensorRT calls go through a small C ABI shim (trt_wrapper.h,
// trt_wrapper.cpp: opaque handles, a status plus a caller-freed message,
// every C++ exception caught) that builds only with `-tags tensorrt`
// (`make trt`). Without the tag every entry point returns ErrNotBuilt,
// whose message says how to build with TensorRT. One shim source builds
// against TensorRT 8.5/8.6 (JetPack 5.1, 6.0) and 10.x (JetPack 6.1+, x86).
//
// Everything that does not need TensorRT lives in plain Go files and is
// tested everywhere: options and their validation, optimization-profile
// parsing ("1:4:8"), decoding of the loaded library's version, the engine
// cache key and paths, I/O discovery checks and buffer sizing.
//
// Threading: a Model (a TensorRT runtime and one deserialised engine) may be
// shared; each Engine owns one execution context and one CUDA stream, which
// live on one goroutine locked to its OS thread. Infer sends work to that
// goroutine and waits for it, so an Engine is used by one goroutine at a
// time, as infer.Engine requires; N inference workers open N Engines from
// one Model.
//
// GPU preprocessing: with -tags "tensorrt cuda" (FramesBuilt), an Engine's
// InferFrames takes raw BGR8 frames (FrameView) instead of a tensor: each is
// copied into the Engine's pinned staging buffer, uploaded asynchronously on
// the context's stream, and the trt/cuda kernel writes it (resized, padded,
// colour-ordered, normalized, float32 or float16 as the binding is) into its
// batch slot of the input binding; enqueueV3 and the output copies follow on
// the same stream. The frame crosses the bus once; the CPU only copies it
// into pinned memory. With TensorRT but without the kernels it returns ErrNoCUDA.
//
// Ownership: the tensors Infer returns point into the Engine's pinned host
// buffers and stay valid until the next Infer or Close. Close is idempotent.
// InferFrames reads FrameView.Data during the call only and keeps nothing.
// C objects are destroyed in reverse creation order: contexts, then the
// engine, then the runtime (the runtime outlives every engine it made).
package trt
