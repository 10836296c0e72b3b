//go:build tensorrt

package trt

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// call turns a shim status and its caller-freed message into an error.
func call(op string, s C.trt_status, msg *C.char) error {
	text := ""
	if msg != nil {
		text = C.GoString(msg)
		C.trt_free(unsafe.Pointer(msg))
	}
	return shimError(op, int(s), text)
}

// drainLog hands TensorRT's queued warnings (from any thread) to logf, one
// line each, repeats folded (logLines). Without logf they are dropped.
func drainLog(logf func(format string, args ...any)) {
	p := C.trt_log_drain()
	if p == nil {
		return
	}
	raw := C.GoString(p)
	C.trt_free(unsafe.Pointer(p))
	if logf == nil {
		return
	}
	for _, l := range logLines(raw) {
		logf("%s", l)
	}
}
