package cuda

import (
	"errors"
	"fmt"
	"math"
)

// ErrNotBuilt is returned by the GPU entry points of a binary built
// without `-tags cuda`.
var ErrNotBuilt = errors.New("cuda: conveyor was built without CUDA kernels: run trt/cuda/build.sh and build with -tags cuda (make trt)")

// Preprocess describes how BGR8 frames become a network input.
type Preprocess struct {
	// SrcW, SrcH are the frame size in pixels, SrcStride its row pitch in
	// bytes (at least 3*SrcW), SrcBatchStride the bytes between frames of a
	// batch (0 means SrcStride*SrcH).
	SrcW, SrcH, SrcStride int
	SrcBatchStride        int64
	// DstW, DstH are the network input size.
	DstW, DstH int
	// Letterbox keeps the aspect ratio and pads; otherwise the frame is
	// stretched to DstW x DstH.
	Letterbox bool
	// Center puts a letterboxed picture in the middle; otherwise it sits
	// top-left (YuNet pads right and bottom).
	Center bool
	// ResizeW, ResizeH, when both > 0, are the exact size of the resized
	// picture inside DstW x DstH (at the top-left, or centred with Center);
	// the rest is padding. They override Letterbox: use them to reproduce a
	// plan computed elsewhere (models.Plan, whose padded input is a multiple
	// of 32 while the picture keeps the aspect of the size asked for).
	ResizeW, ResizeH int
	// PadValue is the raw pixel value (0–255) of the padding.
	PadValue float32
	// SwapRB makes output channel 0 red (RGB); otherwise blue (BGR).
	SwapRB bool
	// Mean and Scale normalize: out[c] = (v[c] - Mean[c]) * Scale[c], in
	// output channel order. A zero Scale means 1.
	Mean, Scale [3]float32
	// FP16 writes float16 instead of float32.
	FP16 bool
}

// Geometry is where the resized picture lies inside the network input.
type Geometry struct {
	InnerW, InnerH int
	PadX, PadY     int
	// ScaleX, ScaleY are input pixels per frame pixel.
	ScaleX, ScaleY float32
}

// Validate checks sizes and strides.
func (p *Preprocess) Validate() error {
	if p.SrcW < 1 || p.SrcH < 1 || p.DstW < 1 || p.DstH < 1 {
		return fmt.Errorf("cuda: preprocess: sizes must be positive (src %dx%d, dst %dx%d)", p.SrcW, p.SrcH, p.DstW, p.DstH)
	}
	if p.SrcStride < 3*p.SrcW {
		return fmt.Errorf("cuda: preprocess: stride %d is less than 3*width %d", p.SrcStride, 3*p.SrcW)
	}
	if p.ResizeW < 0 || p.ResizeH < 0 || p.ResizeW > p.DstW || p.ResizeH > p.DstH || (p.ResizeW == 0) != (p.ResizeH == 0) {
		return fmt.Errorf("cuda: preprocess: resize %dx%d does not fit in %dx%d", p.ResizeW, p.ResizeH, p.DstW, p.DstH)
	}
	if p.SrcBatchStride != 0 && p.SrcBatchStride < int64(p.SrcStride)*int64(p.SrcH) {
		return fmt.Errorf("cuda: preprocess: batch stride %d is less than a frame (%d)", p.SrcBatchStride, p.SrcStride*p.SrcH)
	}
	if int64(p.SrcStride)*int64(p.SrcH) > math.MaxInt32*int64(64) || p.DstW > 1<<15 || p.DstH > 1<<15 {
		return errors.New("cuda: preprocess: image too large")
	}
	return nil
}

func (p *Preprocess) batchStride() int64 {
	if p.SrcBatchStride == 0 {
		return int64(p.SrcStride) * int64(p.SrcH)
	}
	return p.SrcBatchStride
}

func (p *Preprocess) scale(c int) float32 {
	if p.Scale[c] == 0 {
		return 1
	}
	return p.Scale[c]
}

// Geometry computes where the frame goes in the input.
func (p *Preprocess) Geometry() Geometry {
	g := Geometry{InnerW: p.DstW, InnerH: p.DstH}
	switch {
	case p.ResizeW > 0 && p.ResizeH > 0:
		g.InnerW, g.InnerH = min(p.ResizeW, p.DstW), min(p.ResizeH, p.DstH)
	case p.Letterbox:
		s := math.Min(float64(p.DstW)/float64(p.SrcW), float64(p.DstH)/float64(p.SrcH))
		g.InnerW = max(1, min(p.DstW, int(math.Round(float64(p.SrcW)*s))))
		g.InnerH = max(1, min(p.DstH, int(math.Round(float64(p.SrcH)*s))))
	}
	if p.Center {
		g.PadX, g.PadY = (p.DstW-g.InnerW)/2, (p.DstH-g.InnerH)/2
	}
	g.ScaleX = float32(g.InnerW) / float32(p.SrcW)
	g.ScaleY = float32(g.InnerH) / float32(p.SrcH)
	return g
}

// OutputLen is the number of output values for a batch.
func (p *Preprocess) OutputLen(batch int) int { return batch * 3 * p.DstW * p.DstH }

// OutputBytes is the output size in bytes for a batch.
func (p *Preprocess) OutputBytes(batch int) int {
	if p.FP16 {
		return 2 * p.OutputLen(batch)
	}
	return 4 * p.OutputLen(batch)
}

// InputBytes is the size in bytes of a batch of frames.
func (p *Preprocess) InputBytes(batch int) int64 {
	return p.batchStride()*int64(batch-1) + int64(p.SrcStride)*int64(p.SrcH-1) + 3*int64(p.SrcW)
}

// PreprocessCPU is the reference for the preprocess kernel: the same
// arithmetic in float32, for batch frames in src, into dst (float32 values
// even when p.FP16; round them with RoundHalf to compare).
func PreprocessCPU(src []byte, batch int, p Preprocess, dst []float32) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if int64(len(src)) < p.InputBytes(batch) || len(dst) < p.OutputLen(batch) {
		return fmt.Errorf("cuda: preprocess: buffers too small for a batch of %d", batch)
	}
	g := p.Geometry()
	plane := p.DstW * p.DstH
	rx := float32(p.SrcW) / float32(g.InnerW)
	ry := float32(p.SrcH) / float32(g.InnerH)
	for b := 0; b < batch; b++ {
		img := src[int64(b)*p.batchStride():]
		out := dst[b*3*plane:]
		for y := 0; y < p.DstH; y++ {
			for x := 0; x < p.DstW; x++ {
				v := [3]float32{p.PadValue, p.PadValue, p.PadValue}
				ix, iy := x-g.PadX, y-g.PadY
				if ix >= 0 && iy >= 0 && ix < g.InnerW && iy < g.InnerH {
					fx := max((float32(ix)+0.5)*rx-0.5, 0)
					fy := max((float32(iy)+0.5)*ry-0.5, 0)
					x0, y0 := min(int(fx), p.SrcW-1), min(int(fy), p.SrcH-1)
					x1, y1 := min(x0+1, p.SrcW-1), min(y0+1, p.SrcH-1)
					ax, ay := fx-float32(x0), fy-float32(y0)
					if x0 == p.SrcW-1 {
						ax = 0
					}
					if y0 == p.SrcH-1 {
						ay = 0
					}
					r0, r1 := img[y0*p.SrcStride:], img[y1*p.SrcStride:]
					for k := 0; k < 3; k++ {
						a, bb := float32(r0[3*x0+k]), float32(r0[3*x1+k])
						c, d := float32(r1[3*x0+k]), float32(r1[3*x1+k])
						top, bot := a+(bb-a)*ax, c+(d-c)*ax
						v[k] = top + (bot-top)*ay
					}
				}
				if p.SwapRB {
					v[0], v[2] = v[2], v[0]
				}
				i := y*p.DstW + x
				for c := 0; c < 3; c++ {
					out[c*plane+i] = (v[c] - p.Mean[c]) * p.scale(c)
				}
			}
		}
	}
	return nil
}

// Rect is a box in pixels.
type Rect struct{ X, Y, W, H int }

// Cells splits boxes, clipped to a w x h image, into cell x cell squares
// (smaller at the right and bottom edges): the work list of the pixelate
// kernel, four int32 (x, y, w, h) per cell. Overlapping boxes give
// overlapping cells, whose result depends on the order the GPU runs them:
// merge such boxes first if that matters.
func Cells(boxes []Rect, w, h, cell int) ([]int32, error) {
	if cell < 1 {
		return nil, fmt.Errorf("cuda: pixelate: cell size must be positive, not %d", cell)
	}
	var out []int32
	for _, b := range boxes {
		x0, y0 := max(b.X, 0), max(b.Y, 0)
		x1, y1 := min(b.X+b.W, w), min(b.Y+b.H, h)
		for y := y0; y < y1; y += cell {
			for x := x0; x < x1; x += cell {
				out = append(out, int32(x), int32(y), int32(min(cell, x1-x)), int32(min(cell, y1-y)))
			}
		}
	}
	return out, nil
}

// PixelateCPU is the reference for the pixelate kernel: each cell becomes
// its mean colour, rounded half up.
func PixelateCPU(img []byte, w, h, stride int, cells []int32) error {
	if stride < 3*w || len(img) < stride*(h-1)+3*w {
		return fmt.Errorf("cuda: pixelate: image buffer too small for %dx%d (stride %d)", w, h, stride)
	}
	for i := 0; i+3 < len(cells); i += 4 {
		cx, cy, cw, ch := int(cells[i]), int(cells[i+1]), int(cells[i+2]), int(cells[i+3])
		n := cw * ch
		if n <= 0 {
			continue
		}
		var s [3]int
		for y := cy; y < cy+ch; y++ {
			for x := cx; x < cx+cw; x++ {
				for k := 0; k < 3; k++ {
					s[k] += int(img[y*stride+3*x+k])
				}
			}
		}
		var m [3]byte
		for k := range m {
			m[k] = byte((s[k] + n/2) / n)
		}
		for y := cy; y < cy+ch; y++ {
			for x := cx; x < cx+cw; x++ {
				copy(img[y*stride+3*x:y*stride+3*x+3], m[:])
			}
		}
	}
	return nil
}

// RoundHalf rounds a float32 to the nearest float16 value (what the FP16
// kernel stores), returned as float32.
func RoundHalf(f float32) float32 { return HalfToFloat(FloatToHalf(f)) }

// HalfToFloat converts an IEEE 754 binary16 value to float32.
func HalfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		for mant&0x400 == 0 {
			mant <<= 1
			exp--
		}
		exp++
		mant &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// FloatToHalf converts a float32 to the nearest IEEE 754 binary16 value.
func FloatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}
