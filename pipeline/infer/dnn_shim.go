package infer

/*
#include <stdlib.h>
#include "dnn_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"gocv.io/x/gocv"
)

// cError turns a message from the shim into an error and frees it.
func cError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

// probe loads path in OpenCV with every C++ exception caught and, when dims
// is not empty, runs one forward pass on zeros of that shape, asking for
// outs. It is what stands between a bad file and gocv's abort.
func probe(path string, dims []int, outs []string) error {
	cPath := C.CString(path)
	defer C.free(unsafe.Pointer(cPath))
	var cDims *C.int
	if len(dims) > 0 {
		d := make([]C.int, len(dims))
		for i, v := range dims {
			d[i] = C.int(v)
		}
		cDims = &d[0]
	}
	cOuts := make([]*C.char, max(len(outs), 1))
	for i, o := range outs {
		cOuts[i] = C.CString(o)
		defer C.free(unsafe.Pointer(cOuts[i]))
	}
	// The Go slices passed here hold no Go pointers (cOuts holds C memory),
	// and C keeps none after the call.
	return cError(C.conveyor_dnn_probe(cPath, cDims, C.int(len(dims)), &cOuts[0], C.int(len(outs))))
}

// netPtr is the cv::dnn::Net* inside a gocv Net. gocv 0.31 does not export
// it; its Net is a struct holding that one pointer (TestNetLayout checks the
// size). Change here if gocv's Net changes.
func netPtr(n *gocv.Net) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(n)) }

// forwarder runs a network's forward pass through the shim, with the output
// names in C memory and the output Mats allocated once and reused.
type forwarder struct {
	names  []*C.char // C strings
	mats   []gocv.Mat
	cNames unsafe.Pointer // C array of the names
	cPtrs  unsafe.Pointer // C array of the Mats' cv::Mat*
}

func newForwarder(names []string) *forwarder {
	f := &forwarder{}
	for _, n := range names {
		f.names = append(f.names, C.CString(n))
		m := gocv.NewMat()
		f.mats = append(f.mats, m)
	}
	size := C.size_t(len(names)) * C.size_t(unsafe.Sizeof(uintptr(0)))
	f.cPtrs, f.cNames = C.malloc(size), C.malloc(size)
	ptrs := unsafe.Slice((*unsafe.Pointer)(f.cPtrs), len(names))
	for i := range f.mats {
		ptrs[i] = unsafe.Pointer(f.mats[i].Ptr())
	}
	copy(unsafe.Slice((**C.char)(f.cNames), len(names)), f.names)
	return f
}

// forward runs net and returns the output Mats, valid until the next call.
func (f *forwarder) forward(net *gocv.Net) ([]gocv.Mat, error) {
	if err := cError(C.conveyor_net_forward(netPtr(net), (**C.char)(f.cNames), C.int(len(f.names)), (*unsafe.Pointer)(f.cPtrs))); err != nil {
		return nil, err
	}
	return f.mats, nil
}

func (f *forwarder) close() {
	for i := range f.names {
		C.free(unsafe.Pointer(f.names[i]))
		f.mats[i].Close()
	}
	C.free(f.cPtrs)
	C.free(f.cNames)
	f.names, f.mats, f.cPtrs, f.cNames = nil, nil, nil, nil
}

// SetNumThreads sets OpenCV's worker-thread count (cv::setNumThreads,
// which gocv 0.31 does not bind). It is process-wide: it affects every
// OpenCV call, DNN or not, in every goroutine. n = 0 runs OpenCV
// sequentially on the calling thread; n < 0 restores OpenCV's default (the
// number of CPUs). With several inference workers, n around CPUs/workers
// avoids oversubscription.
func SetNumThreads(n int) error {
	if err := cError(C.conveyor_set_num_threads(C.int(n))); err != nil {
		return fmt.Errorf("infer: set threads: %w", err)
	}
	return nil
}

// NumThreads returns OpenCV's current worker-thread count
// (cv::getNumThreads).
func NumThreads() int { return int(C.conveyor_get_num_threads()) }
