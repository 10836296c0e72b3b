//go:build tensorrt

package trt

/*
#include "platform.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Built reports whether this binary has TensorRT support (-tags tensorrt).
const Built = true

// Headers is the TensorRT whose headers this binary was compiled against.
func Headers() Version {
	v := int(C.trt_header_version())
	return Version{Major: v / 10000, Minor: v / 100 % 100, Patch: v % 100, Build: int(C.trt_header_build())}
}

// Library is what Load found of TensorRT at run time.
type Library struct {
	Version Version
	// Path is the libnvinfer file loaded.
	Path string
	// Plugins reports whether libnvinfer_plugin was loaded (its plugins
	// registered); PluginError says why not.
	Plugins     bool
	PluginError string
}

var (
	libOnce sync.Once
	lib     Library
	libErr  error
)

// LoadLibrary loads TensorRT (once per process: libnvinfer.so.N and
// libnvonnxparser.so.N for the headers' major version N, and
// libnvinfer_plugin.so.N when present) and checks that this conveyor can
// use it: CheckLibrary against the headers, then Supported. A missing
// library is ErrNoLibrary, with a message that says what to install.
func LoadLibrary() (Library, error) {
	libOnce.Do(func() { lib, libErr = loadLibrary() })
	return lib, libErr
}

func loadLibrary() (Library, error) {
	hdr := Headers()
	var msg *C.char
	if err := call("load TensorRT", C.trt_load(&msg), msg); err != nil {
		return Library{}, fmt.Errorf("%w: install TensorRT %d (%d.%d or newer: JetPack, NVIDIA's libnvinfer%d and libnvonnxparsers%d packages, or a tarball whose lib folder is in LD_LIBRARY_PATH); this conveyor was built against TensorRT %s", err, hdr.Major, hdr.Major, hdr.Minor, hdr.Major, hdr.Major, hdr)
	}
	var info C.trt_lib_info
	if err := call("TensorRT version", C.trt_lib_info_get(&info, &msg), msg); err != nil {
		return Library{}, err
	}
	v, err := DecodeVersion(int32(info.lib_version))
	if err != nil {
		return Library{}, err
	}
	if info.lib_build > 0 {
		v.Build = int(info.lib_build)
	}
	l := Library{Version: v, Path: C.GoString(&info.lib_path[0]), Plugins: info.plugins != 0, PluginError: C.GoString(&info.plugin_error[0])}
	if err := CheckLibrary(hdr, v); err != nil {
		return l, fmt.Errorf("%w (%s)", err, l.Path)
	}
	if err := v.Supported(); err != nil {
		return l, err
	}
	return l, nil
}

// onDevice runs fn on the calling goroutine locked to its OS thread, with
// device current on that thread (CUDA's current device is per thread).
func onDevice(device int, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var msg *C.char
	if err := call("set device", C.trt_cuda_set_device(C.int32_t(device), &msg), msg); err != nil {
		return err
	}
	return fn()
}

// Detect returns the TensorRT library actually loaded and the GPU: what a
// plan built now is tied to.
func Detect(device int) (Platform, error) {
	l, err := LoadLibrary()
	if err != nil {
		return Platform{}, err
	}
	var info C.trt_device_info
	var msg *C.char
	if err := call("cuda device", C.trt_cuda_device(C.int32_t(device), &info, &msg), msg); err != nil {
		return Platform{}, err
	}
	return Platform{
		TensorRT:          l.Version,
		GPU:               C.GoString(&info.name[0]),
		ComputeCapability: fmt.Sprintf("%d.%d", int(info.cc_major), int(info.cc_minor)),
		SMs:               int(info.sm_count),
		MemoryGiB:         MemoryGiB(uint64(info.total_mem)),
	}, nil
}

// Available reports whether TensorRT and a GPU can be used, for
// --backend auto: nil when both are there.
func Available() error {
	_, err := Detect(0)
	return err
}

func logf(o *BuildOptions, format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// errClosed is returned by a Context or Engine used after Close.
var errClosed = errors.New("trt: engine is closed")
