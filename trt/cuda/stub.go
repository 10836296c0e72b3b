//go:build !cuda

package cuda

import "unsafe"

// Built reports whether the CUDA kernels are linked in.
const Built = false

// DeviceName returns ErrNotBuilt.
func DeviceName(dev int) (string, error) { return "", ErrNotBuilt }

// Buffer is device memory; without CUDA none can exist.
type Buffer struct{}

// Malloc returns ErrNotBuilt.
func Malloc(n int) (*Buffer, error) { return nil, ErrNotBuilt }

// Ptr returns nil.
func (b *Buffer) Ptr() unsafe.Pointer { return nil }

// Size returns 0.
func (b *Buffer) Size() int { return 0 }

// Free does nothing.
func (b *Buffer) Free() {}

// Upload returns ErrNotBuilt.
func (b *Buffer) Upload(src []byte) error { return ErrNotBuilt }

// Download returns ErrNotBuilt.
func (b *Buffer) Download(dst []byte) error { return ErrNotBuilt }

// Stream is a CUDA stream; without CUDA none can exist.
type Stream struct{}

// NewStream returns ErrNotBuilt.
func NewStream() (*Stream, error) { return nil, ErrNotBuilt }

// StreamFrom wraps a stream made elsewhere; without CUDA nothing can use it.
func StreamFrom(s unsafe.Pointer) *Stream { return &Stream{} }

// Ptr returns nil.
func (s *Stream) Ptr() unsafe.Pointer { return nil }

// HostBuffer is pinned host memory; without CUDA none can exist.
type HostBuffer struct{}

// HostAlloc returns ErrNotBuilt.
func HostAlloc(n int) (*HostBuffer, error) { return nil, ErrNotBuilt }

// Bytes returns nil.
func (h *HostBuffer) Bytes() []byte { return nil }

// Ptr returns nil.
func (h *HostBuffer) Ptr() unsafe.Pointer { return nil }

// Size returns 0.
func (h *HostBuffer) Size() int { return 0 }

// Free does nothing.
func (h *HostBuffer) Free() {}

// UploadAsync returns ErrNotBuilt.
func UploadAsync(s *Stream, dst, src unsafe.Pointer, n int) error { return ErrNotBuilt }

// Sync returns ErrNotBuilt.
func (s *Stream) Sync() error { return ErrNotBuilt }

// Close does nothing.
func (s *Stream) Close() {}

// PreprocessAsync returns ErrNotBuilt.
func PreprocessAsync(s *Stream, src, dst unsafe.Pointer, batch int, p Preprocess) error {
	return ErrNotBuilt
}

// Pixelator blurs boxes by pixelation; without CUDA it cannot.
type Pixelator struct{}

// PixelateAsync returns ErrNotBuilt.
func (px *Pixelator) PixelateAsync(s *Stream, img unsafe.Pointer, w, h, stride int, boxes []Rect, cell int) error {
	return ErrNotBuilt
}

// Close does nothing.
func (px *Pixelator) Close() {}
