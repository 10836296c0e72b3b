package cuda

// KernelsID names the libconveyorcuda.a this binary linked (the first 16
// hex digits of its sha256), set by make trt and scripts/jetson-build.sh
// with -ldflags -X; empty otherwise. Setting it also makes go build relink
// a binary when only the library changed (a new kernels.cu, another nvcc):
// go build decides from the Go inputs alone, which the library is not.
var KernelsID string
