//go:build tensorrt && !customenv

package trt

// Default places of TensorRT's headers and CUDA: JetPack and NVIDIA's
// Debian/Ubuntu packages put TensorRT's headers in /usr/include/<triplet>,
// CUDA in /usr/local/cuda. For a tarball install add
// CGO_CXXFLAGS=-I<trt>/include; build with -tags customenv to drop these
// defaults entirely (gocv's convention).
//
// TensorRT's libraries are not linked: platform.cpp loads them with dlopen,
// so the binary starts where TensorRT is missing. The CUDA runtime is
// linked statically (as trt/cuda does), so it needs only the NVIDIA driver:
// no libcudart.so.N of one exact version at run time.
//
// -Wno-deprecated-declarations: the 8.5, 10.x and 11.x headers trip it on
// their own (IPluginV2, kFP16 from 10.12).

/*
#cgo CXXFLAGS: -std=c++14 -Wno-deprecated-declarations
#cgo CXXFLAGS: -I/usr/local/cuda/include -I/usr/include/aarch64-linux-gnu -I/usr/include/x86_64-linux-gnu
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/lib/aarch64-linux-gnu -L/usr/lib/x86_64-linux-gnu
#cgo LDFLAGS: -l:libcudart_static.a -ldl -lrt -lpthread -lstdc++
*/
import "C"
