//go:build !customenv

package main

// Change here, change there: gocv's cgo.go and pipeline/infer/cgo_flags.go
// use the same pkg-config name. Build with -tags customenv and set
// CGO_CPPFLAGS, CGO_CXXFLAGS and CGO_LDFLAGS yourself to use an OpenCV that
// pkg-config does not know.

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
*/
import "C"
