//go:build tensorrt && !customenv

package trt

// Default places of TensorRT and CUDA: JetPack and NVIDIA's Debian/Ubuntu
// packages put headers in /usr/include/<triplet> and libraries in
// /usr/lib/<triplet>, CUDA in /usr/local/cuda. For a tarball install add
// CGO_CXXFLAGS=-I<trt>/include CGO_LDFLAGS=-L<trt>/lib; build with
// -tags customenv to drop these defaults entirely (gocv's convention).
//
// -Wno-deprecated-declarations: the 8.5 and 10.x headers trip it on their
// own (IPluginV2, kFP16 from 10.12).

/*
#cgo CXXFLAGS: -std=c++14 -Wno-deprecated-declarations
#cgo CXXFLAGS: -I/usr/local/cuda/include -I/usr/include/aarch64-linux-gnu -I/usr/include/x86_64-linux-gnu
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/lib/aarch64-linux-gnu -L/usr/lib/x86_64-linux-gnu
#cgo LDFLAGS: -lnvinfer -lnvonnxparser -lcudart -lstdc++
*/
import "C"
