package cuda

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeometry(t *testing.T) {
	tests := []struct {
		name string
		p    Preprocess
		want Geometry
	}{
		{"stretch", Preprocess{SrcW: 1920, SrcH: 1080, DstW: 640, DstH: 640}, Geometry{InnerW: 640, InnerH: 640, ScaleX: 1.0 / 3, ScaleY: 640.0 / 1080}},
		{"letterbox top-left", Preprocess{SrcW: 1920, SrcH: 1080, DstW: 640, DstH: 640, Letterbox: true}, Geometry{InnerW: 640, InnerH: 360, ScaleX: 1.0 / 3, ScaleY: 1.0 / 3}},
		{"letterbox centred", Preprocess{SrcW: 1920, SrcH: 1080, DstW: 640, DstH: 640, Letterbox: true, Center: true}, Geometry{InnerW: 640, InnerH: 360, PadY: 140, ScaleX: 1.0 / 3, ScaleY: 1.0 / 3}},
		{"letterbox portrait", Preprocess{SrcW: 480, SrcH: 640, DstW: 320, DstH: 320, Letterbox: true, Center: true}, Geometry{InnerW: 240, InnerH: 320, PadX: 40, ScaleX: 0.5, ScaleY: 0.5}},
		{"explicit resize top-left", Preprocess{SrcW: 1920, SrcH: 1080, DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360}, Geometry{InnerW: 640, InnerH: 360, ScaleX: 1.0 / 3, ScaleY: 1.0 / 3}},
		{"explicit resize overrides letterbox", Preprocess{SrcW: 1920, SrcH: 1080, DstW: 640, DstH: 640, Letterbox: true, ResizeW: 600, ResizeH: 300}, Geometry{InnerW: 600, InnerH: 300, ScaleX: 600.0 / 1920, ScaleY: 300.0 / 1080}},
		{"explicit resize centred", Preprocess{SrcW: 100, SrcH: 100, DstW: 64, DstH: 64, ResizeW: 32, ResizeH: 48, Center: true}, Geometry{InnerW: 32, InnerH: 48, PadX: 16, PadY: 8, ScaleX: 0.32, ScaleY: 0.48}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.p.Geometry()
			assert.Equal(t, tt.want.InnerW, g.InnerW)
			assert.Equal(t, tt.want.InnerH, g.InnerH)
			assert.Equal(t, tt.want.PadX, g.PadX)
			assert.Equal(t, tt.want.PadY, g.PadY)
			assert.InDelta(t, tt.want.ScaleX, g.ScaleX, 1e-6)
			assert.InDelta(t, tt.want.ScaleY, g.ScaleY, 1e-6)
		})
	}
}

func TestPreprocessValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Preprocess
		ok   bool
	}{
		{"good", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2}, true},
		{"zero size", Preprocess{SrcW: 0, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2}, false},
		{"short stride", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 11, DstW: 2, DstH: 2}, false},
		{"short batch stride", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, SrcBatchStride: 47, DstW: 2, DstH: 2}, false},
		{"huge output", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 1 << 16, DstH: 2}, false},
		{"resize inside", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2, ResizeW: 2, ResizeH: 1}, true},
		{"resize larger than input", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2, ResizeW: 3, ResizeH: 1}, false},
		{"resize half given", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2, ResizeW: 2}, false},
		{"negative resize", Preprocess{SrcW: 4, SrcH: 4, SrcStride: 12, DstW: 2, DstH: 2, ResizeW: -1, ResizeH: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestPreprocessCPU(t *testing.T) {
	// 2x2 BGR image with a padded row (stride 8).
	src := []byte{
		10, 20, 30, 40, 50, 60, 0, 0,
		70, 80, 90, 100, 110, 120, 0, 0,
	}
	t.Run("identity with RGB and normalization", func(t *testing.T) {
		p := Preprocess{SrcW: 2, SrcH: 2, SrcStride: 8, DstW: 2, DstH: 2, SwapRB: true, Mean: [3]float32{127, 127, 127}, Scale: [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128}}
		dst := make([]float32, p.OutputLen(1))
		require.NoError(t, PreprocessCPU(src, 1, p, dst))
		n := func(v float32) float32 { return (v - 127) / 128 }
		// plane 0 is R (the third byte of each pixel)
		assert.InDeltaSlice(t, []float32{n(30), n(60), n(90), n(120)}, dst[0:4], 1e-6)
		assert.InDeltaSlice(t, []float32{n(20), n(50), n(80), n(110)}, dst[4:8], 1e-6)
		assert.InDeltaSlice(t, []float32{n(10), n(40), n(70), n(100)}, dst[8:12], 1e-6)
	})
	t.Run("downscale averages", func(t *testing.T) {
		p := Preprocess{SrcW: 2, SrcH: 2, SrcStride: 8, DstW: 1, DstH: 1}
		dst := make([]float32, 3)
		require.NoError(t, PreprocessCPU(src, 1, p, dst))
		assert.InDeltaSlice(t, []float32{55, 65, 75}, dst, 1e-4)
	})
	t.Run("letterbox pads", func(t *testing.T) {
		p := Preprocess{SrcW: 2, SrcH: 2, SrcStride: 8, DstW: 4, DstH: 2, Letterbox: true, Center: true, PadValue: 5}
		dst := make([]float32, p.OutputLen(1))
		require.NoError(t, PreprocessCPU(src, 1, p, dst))
		// picture in columns 1..2, padding in columns 0 and 3 of every plane
		for c := 0; c < 3; c++ {
			for y := 0; y < 2; y++ {
				assert.Equal(t, float32(5), dst[c*8+y*4])
				assert.Equal(t, float32(5), dst[c*8+y*4+3])
			}
		}
		assert.Equal(t, float32(10), dst[1])
	})
	t.Run("buffers too small", func(t *testing.T) {
		p := Preprocess{SrcW: 2, SrcH: 2, SrcStride: 8, DstW: 2, DstH: 2}
		assert.Error(t, PreprocessCPU(src[:10], 1, p, make([]float32, 12)))
		assert.Error(t, PreprocessCPU(src, 1, p, make([]float32, 11)))
	})
}

func TestCells(t *testing.T) {
	tests := []struct {
		name  string
		boxes []Rect
		cell  int
		want  []int32
		err   bool
	}{
		{"one exact cell", []Rect{{2, 2, 4, 4}}, 4, []int32{2, 2, 4, 4}, false},
		{"partial edge cells", []Rect{{0, 0, 6, 4}}, 4, []int32{0, 0, 4, 4, 4, 0, 2, 4}, false},
		{"clipped to the image", []Rect{{-2, 8, 4, 10}}, 8, []int32{0, 8, 2, 2}, false},
		{"outside", []Rect{{20, 20, 4, 4}}, 4, nil, false},
		{"bad cell", []Rect{{0, 0, 4, 4}}, 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Cells(tt.boxes, 10, 10, tt.cell)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPixelateCPU(t *testing.T) {
	w, h, stride := 4, 2, 13
	img := make([]byte, stride*h)
	for i := range img {
		img[i] = byte(i)
	}
	orig := append([]byte(nil), img...)
	require.NoError(t, PixelateCPU(img, w, h, stride, []int32{0, 0, 2, 2}))
	// cell pixels (0,0),(1,0),(0,1),(1,1): channel 0 values 0,3,13,16 → mean 8
	assert.Equal(t, []byte{8, 9, 10, 8, 9, 10}, img[0:6])
	assert.Equal(t, []byte{8, 9, 10, 8, 9, 10}, img[13:19])
	assert.Equal(t, orig[6:13], img[6:13], "pixels outside the cell are untouched")
	assert.Error(t, PixelateCPU(img[:10], w, h, stride, nil))
}

func TestRoundHalf(t *testing.T) {
	tests := []struct{ in, want float32 }{
		{0, 0}, {1, 1}, {-2.5, -2.5}, {255, 255}, {0.1, 0.0999755859375}, {65504, 65504},
		{1e6, float32(math.Inf(1))}, {1e-8, 0}, {6e-8, 5.9604645e-08},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, RoundHalf(tt.in), "RoundHalf(%v)", tt.in)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 1000; i++ {
		f := (r.Float32() - 0.5) * 600
		assert.InDelta(t, f, RoundHalf(f), math.Abs(float64(f))/1024+1e-7)
	}
}
