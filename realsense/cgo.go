//go:build cgo

package realsense

// The only cgo flags of this package: librealsense2 is not linked, it is
// loaded at run time (rs2.c), so only libdl is needed. No headers of
// librealsense are needed either (rs2.h declares what is used).

// #cgo LDFLAGS: -ldl
import "C"
