// Package trt is conveyor's TensorRT backend: it builds TensorRT engines from
// ONNX files, caches them, and runs them on an NVIDIA GPU behind the
// infer.Engine interface. Names follow TensorRT's: an Engine holds one
// deserialised engine (ICudaEngine), a Context one execution context.
//
// The TensorRT calls go through a small C ABI shim that builds only with
// `-tags tensorrt` (`make trt`), one .h/.cpp pair per job beside the .go file
// that calls it: platform (loading TensorRT, versions, the CUDA device),
// build (ONNX to plan), engine (runtime and deserialisation), context
// (execution context, enqueueV3, buffers), and shim.h/shim.cpp for what they
// share (status codes, types, the logger). Opaque handles, a status plus a
// caller-freed message, every C++ exception caught. Without the tag every
// entry point returns ErrNotBuilt, whose message says how to build with
// TensorRT. One shim source builds against TensorRT 8.5/8.6 (JetPack 5.1,
// 6.0), 10.x (JetPack 6.1+, x86) and 11.x.
//
// TensorRT's libraries are not linked: LoadLibrary opens libnvinfer.so.N and
// libnvonnxparser.so.N (N: the headers' major version) with dlopen, and
// libnvinfer_plugin.so.N when present, then checks the loaded version
// against the headers (CheckLibrary) and the range this code knows
// (Version.Supported). A binary built with -tags tensorrt therefore starts,
// and runs the OpenCV backend, where TensorRT is missing; --backend auto
// then picks OpenCV. The CUDA runtime is linked statically.
//
// Everything that does not need TensorRT lives in plain Go files and is
// tested everywhere: options and their validation, precision per TensorRT
// version (Precision.Resolve), optimization profiles ("1:4:8", --shape, the
// profile of conveyor run's --batch), version decoding and checks, the
// engine cache key and paths, the timing-cache file's fallback, the log
// lines, I/O discovery checks and buffer sizing.
//
// Threading: an Engine (a TensorRT runtime and one deserialised engine) may
// be shared; each Context owns one execution context and one CUDA stream,
// which live on one goroutine locked to its OS thread. Infer sends work to
// that goroutine and waits for it, so a Context is used by one goroutine at
// a time, as infer.Engine requires; N inference workers open N Contexts
// from one Engine. TensorRT's logger is process-wide: its warnings, from any
// thread, queue in the shim and reach BuildOptions.Logf after each call.
//
// GPU preprocessing: with -tags "tensorrt cuda" (FramesBuilt), a Context's
// InferFrames takes raw BGR8 frames (FrameView) instead of a tensor: each is
// copied into the Context's pinned staging buffer, uploaded asynchronously
// on the context's stream, and the trt/cuda kernel writes it (resized,
// padded, colour-ordered, normalized, float32 or float16 as the binding is)
// into its batch slot of the input binding; enqueueV3 and the output copies
// follow on the same stream. The frame crosses the bus once; the CPU only
// copies it into pinned memory. With TensorRT but without the kernels it
// returns ErrNoCUDA.
//
// Errors: every failed call leaves the stream idle. A sticky CUDA error (an
// illegal address, a kernel fault) breaks the Engine: every later call of
// any of its Contexts returns ErrBroken, and the process must restart.
//
// Ownership: the tensors Infer returns point into the Context's pinned host
// buffers and stay valid until the next Infer or Close. Close is idempotent.
// InferFrames reads FrameView.Data during the call only and keeps nothing.
// C objects are destroyed in reverse creation order: contexts, then the
// engine, then the runtime (the runtime outlives every engine it made).
package trt
