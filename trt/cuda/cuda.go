//go:build cuda

package cuda

// libconveyorcuda.a comes from build.sh (nvcc); libcudart_static.a keeps
// the test binary free of a libcudart.so dependency, so it runs on any
// machine with the NVIDIA driver.

/*
#cgo CFLAGS: -I${SRCDIR}
#cgo LDFLAGS: -L${SRCDIR}/../../out/cuda -lconveyorcuda
#cgo LDFLAGS: -L/usr/local/cuda/lib64 -L/usr/lib/x86_64-linux-gnu -L/usr/lib/aarch64-linux-gnu
#cgo LDFLAGS: -l:libcudart_static.a -ldl -lrt -lpthread -lstdc++
#include <stdlib.h>
#include "kernels.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Built reports whether the CUDA kernels are linked in.
const Built = true

// ErrNoGPU is returned when no CUDA device can be used.
var ErrNoGPU = errors.New("cuda: no GPU")

// ErrOutOfMemory is returned when device memory runs out.
var ErrOutOfMemory = errors.New("cuda: out of GPU memory")

func status(s C.int, msg *C.char) error {
	if s == C.CV_OK {
		return nil
	}
	text := "unknown error"
	if msg != nil {
		text = C.GoString(msg)
		C.cv_free(unsafe.Pointer(msg))
	}
	switch s {
	case C.CV_ERR_NO_GPU:
		return fmt.Errorf("%w: %s", ErrNoGPU, text)
	case C.CV_ERR_OOM:
		return fmt.Errorf("%w: %s", ErrOutOfMemory, text)
	}
	return errors.New(text)
}

// DeviceName is the name of CUDA device dev ("NVIDIA H100 80GB HBM3").
func DeviceName(dev int) (string, error) {
	var buf [256]C.char
	var msg *C.char
	if err := status(C.cv_device_name(C.int(dev), &buf[0], 256, &msg), msg); err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// Buffer is device memory. Free it once; Free is idempotent.
type Buffer struct {
	ptr  unsafe.Pointer
	size int
}

// Malloc allocates n bytes of device memory.
func Malloc(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cuda: malloc: size must be positive, not %d", n)
	}
	b := &Buffer{size: n}
	var msg *C.char
	if err := status(C.cv_malloc(C.size_t(n), &b.ptr, &msg), msg); err != nil {
		return nil, err
	}
	return b, nil
}

// Ptr is the device address.
func (b *Buffer) Ptr() unsafe.Pointer { return b.ptr }

// Size is the buffer's size in bytes.
func (b *Buffer) Size() int { return b.size }

// Free releases the memory.
func (b *Buffer) Free() {
	if b != nil && b.ptr != nil {
		C.cv_dev_free(b.ptr)
		b.ptr = nil
	}
}

// Upload copies src to the start of the buffer (synchronously).
func (b *Buffer) Upload(src []byte) error {
	if len(src) > b.size {
		return fmt.Errorf("cuda: upload: %d bytes into a %d-byte buffer", len(src), b.size)
	}
	if len(src) == 0 {
		return nil
	}
	var msg *C.char
	return status(C.cv_memcpy_htod(b.ptr, unsafe.Pointer(&src[0]), C.size_t(len(src)), &msg), msg)
}

// Download copies the start of the buffer into dst (synchronously).
func (b *Buffer) Download(dst []byte) error {
	if len(dst) > b.size {
		return fmt.Errorf("cuda: download: %d bytes from a %d-byte buffer", len(dst), b.size)
	}
	if len(dst) == 0 {
		return nil
	}
	var msg *C.char
	return status(C.cv_memcpy_dtoh(unsafe.Pointer(&dst[0]), b.ptr, C.size_t(len(dst)), &msg), msg)
}

// Stream is a non-blocking CUDA stream. Close it once; Close is idempotent.
type Stream struct {
	s        unsafe.Pointer
	borrowed bool
}

// StreamFrom wraps a cudaStream_t created elsewhere (a TensorRT execution
// context's), so that kernels can be queued on it. Close does not destroy
// a borrowed stream: its owner does.
func StreamFrom(s unsafe.Pointer) *Stream { return &Stream{s: s, borrowed: true} }

// Ptr is the cudaStream_t.
func (s *Stream) Ptr() unsafe.Pointer { return s.s }

// NewStream creates a stream.
func NewStream() (*Stream, error) {
	st := &Stream{}
	var msg *C.char
	if err := status(C.cv_stream_create(&st.s, &msg), msg); err != nil {
		return nil, err
	}
	return st, nil
}

// Sync waits for everything queued on the stream and reports kernel errors.
func (s *Stream) Sync() error {
	var msg *C.char
	return status(C.cv_stream_sync(s.s, &msg), msg)
}

// Close destroys the stream.
func (s *Stream) Close() {
	if s != nil && s.s != nil {
		if !s.borrowed {
			C.cv_stream_destroy(s.s)
		}
		s.s = nil
	}
}

// Event is a CUDA event, for timing work on a stream.
type Event struct{ e unsafe.Pointer }

// NewEvent creates an event. Close it once.
func NewEvent() (*Event, error) {
	ev := &Event{}
	var msg *C.char
	if err := status(C.cv_event_create(&ev.e, &msg), msg); err != nil {
		return nil, err
	}
	return ev, nil
}

// Record records the event on s.
func (e *Event) Record(s *Stream) error {
	var msg *C.char
	return status(C.cv_event_record(e.e, s.s, &msg), msg)
}

// Millis waits for end and returns the milliseconds from start to end.
func Millis(start, end *Event) (float32, error) {
	var ms C.float
	var msg *C.char
	if err := status(C.cv_event_elapsed(start.e, end.e, &ms, &msg), msg); err != nil {
		return 0, err
	}
	return float32(ms), nil
}

// Close destroys the event.
func (e *Event) Close() {
	if e != nil && e.e != nil {
		C.cv_event_destroy(e.e)
		e.e = nil
	}
}

// HostBuffer is pinned (page-locked) host memory: the staging area from
// which frames are uploaded asynchronously. Free it once; Free is
// idempotent.
type HostBuffer struct {
	ptr  unsafe.Pointer
	size int
}

// HostAlloc allocates n bytes of pinned host memory.
func HostAlloc(n int) (*HostBuffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cuda: host alloc: size must be positive, not %d", n)
	}
	h := &HostBuffer{size: n}
	var msg *C.char
	if err := status(C.cv_host_alloc(C.size_t(n), &h.ptr, &msg), msg); err != nil {
		return nil, err
	}
	return h, nil
}

// Bytes is the buffer as a slice (C memory: valid until Free).
func (h *HostBuffer) Bytes() []byte { return unsafe.Slice((*byte)(h.ptr), h.size) }

// Ptr is the host address.
func (h *HostBuffer) Ptr() unsafe.Pointer { return h.ptr }

// Size is the buffer's size in bytes.
func (h *HostBuffer) Size() int { return h.size }

// Free releases the memory. Work queued on a stream that reads it must
// have finished.
func (h *HostBuffer) Free() {
	if h != nil && h.ptr != nil {
		C.cv_host_free(h.ptr)
		h.ptr = nil
	}
}

// UploadAsync queues a copy of n bytes from pinned host memory src to
// device memory dst on s. src must not change until s has passed the copy.
func UploadAsync(s *Stream, dst, src unsafe.Pointer, n int) error {
	if n <= 0 || dst == nil || src == nil {
		return fmt.Errorf("cuda: upload: bad copy of %d bytes", n)
	}
	var msg *C.char
	return status(C.cv_memcpy_htod_async(dst, src, C.size_t(n), s.s, &msg), msg)
}

// CopyAsync queues a device-to-device copy of n bytes on s.
func CopyAsync(s *Stream, dst, src unsafe.Pointer, n int) error {
	var msg *C.char
	return status(C.cv_memcpy_dtod_async(dst, src, C.size_t(n), s.s, &msg), msg)
}

// PreprocessAsync queues the preprocess kernel on s: batch BGR8 frames at
// src (device memory laid out as p says) become an NCHW tensor at dst
// (p.OutputBytes(batch) bytes of device memory).
func PreprocessAsync(s *Stream, src, dst unsafe.Pointer, batch int, p Preprocess) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if batch < 1 || batch > 65535 {
		return fmt.Errorf("cuda: preprocess: batch must be 1..65535, not %d", batch)
	}
	if src == nil || dst == nil {
		return errors.New("cuda: preprocess: nil device pointer")
	}
	g := p.Geometry()
	cp := (*C.cv_preprocess_params)(C.calloc(1, C.size_t(unsafe.Sizeof(C.cv_preprocess_params{}))))
	defer C.free(unsafe.Pointer(cp))
	cp.src_w, cp.src_h, cp.src_stride = C.int32_t(p.SrcW), C.int32_t(p.SrcH), C.int32_t(p.SrcStride)
	cp.src_batch_stride = C.int64_t(p.batchStride())
	cp.dst_w, cp.dst_h = C.int32_t(p.DstW), C.int32_t(p.DstH)
	cp.inner_w, cp.inner_h = C.int32_t(g.InnerW), C.int32_t(g.InnerH)
	cp.pad_x, cp.pad_y = C.int32_t(g.PadX), C.int32_t(g.PadY)
	cp.pad_value = C.float(p.PadValue)
	if p.SwapRB {
		cp.swap_rb = 1
	}
	for c := 0; c < 3; c++ {
		cp.mean[c] = C.float(p.Mean[c])
		cp.scale[c] = C.float(p.scale(c))
	}
	if p.FP16 {
		cp.fp16 = 1
	}
	var msg *C.char
	return status(C.cv_preprocess(src, dst, C.int32_t(batch), cp, s.s, &msg), msg)
}

// Pixelator blurs boxes by pixelation. It keeps a device buffer for the
// cell list; Close frees it. Use it from one goroutine.
type Pixelator struct {
	mu    sync.Mutex
	cells *Buffer
}

// PixelateAsync queues the pixelation of boxes (clipped to the image) in
// the BGR8 image at img (w x h pixels, stride bytes per row), in cell x
// cell squares, on s.
func (px *Pixelator) PixelateAsync(s *Stream, img unsafe.Pointer, w, h, stride int, boxes []Rect, cell int) error {
	if img == nil || w < 1 || h < 1 || stride < 3*w {
		return fmt.Errorf("cuda: pixelate: bad image %dx%d stride %d", w, h, stride)
	}
	cells, err := Cells(boxes, w, h, cell)
	if err != nil || len(cells) == 0 {
		return err
	}
	px.mu.Lock()
	defer px.mu.Unlock()
	need := len(cells) * 4
	if px.cells == nil || px.cells.size < need {
		// The previous list may still be in use by queued work.
		if px.cells != nil {
			if err := s.Sync(); err != nil {
				return err
			}
			px.cells.Free()
		}
		if px.cells, err = Malloc(max(need, 4096)); err != nil {
			return err
		}
	}
	var msg *C.char
	err = status(C.cv_pixelate(img, C.int32_t(w), C.int32_t(h), C.int32_t(stride),
		(*C.int32_t)(unsafe.Pointer(&cells[0])), C.int32_t(len(cells)/4), px.cells.ptr, s.s, &msg), msg)
	runtime.KeepAlive(cells)
	return err
}

// Close frees the cell buffer. Idempotent.
func (px *Pixelator) Close() {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.cells.Free()
	px.cells = nil
}
