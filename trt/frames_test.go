package trt

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/trt/cuda"
)

func frameView(w, h, stride, dstW, dstH int) FrameView {
	p := cuda.Preprocess{SrcW: w, SrcH: h, SrcStride: stride, DstW: dstW, DstH: dstH}
	return FrameView{Data: make([]byte, p.InputBytes(1)), Prep: p}
}

func TestCheckFrames(t *testing.T) {
	dyn := TensorDesc{Name: "input", Input: true, DType: Float16, Shape: []int64{-1, 3, -1, -1}}
	prof := &Profile{"input", []int64{1, 3, 320, 320}, []int64{4, 3, 640, 640}, []int64{8, 3, 640, 640}}
	fixed := TensorDesc{Name: "input", Input: true, DType: Float32, Shape: []int64{1, 3, 240, 320}}
	hd := frameView(1920, 1080, 5760, 640, 384)
	padded := frameView(1280, 720, 3904, 640, 384)
	short := frameView(1280, 720, 3840, 640, 384)
	short.Data = short.Data[:len(short.Data)-1]
	other := frameView(640, 480, 1920, 640, 480)
	badStride := frameView(640, 480, 1900, 640, 384)
	tests := []struct {
		name   string
		in     TensorDesc
		prof   *Profile
		frames []FrameView
		want   []int64
		err    string
		is     error
	}{
		{"one frame, dynamic input", dyn, prof, []FrameView{hd}, []int64{1, 3, 384, 640}, "", nil},
		{"mixed frame sizes, one input size", dyn, prof, []FrameView{hd, padded, hd}, []int64{3, 3, 384, 640}, "", nil},
		{"fixed input", fixed, nil, []FrameView{frameView(640, 480, 1920, 320, 240)}, []int64{1, 3, 240, 320}, "", nil},
		{"no frames", dyn, prof, nil, nil, "no frames", nil},
		{"batch above the profile", dyn, prof, []FrameView{hd, hd, hd, hd, hd, hd, hd, hd, hd}, nil, "batch 9 is outside 1..8", ErrBatchTooLarge},
		{"input below the profile", dyn, prof, []FrameView{frameView(640, 480, 1920, 256, 192)}, nil, "dimension 2 192 is outside 320..640", ErrBatchTooLarge},
		{"fixed input, other size", fixed, nil, []FrameView{hd}, nil, "dimension 2 is 384, the engine wants 240", nil},
		{"fixed batch 1, two frames", fixed, nil, []FrameView{frameView(640, 480, 1920, 320, 240), frameView(640, 480, 1920, 320, 240)}, nil, "dimension 0 is 2", nil},
		{"two input sizes", dyn, prof, []FrameView{hd, other}, nil, "frame 1 makes a 640x480 input", nil},
		{"data shorter than the frame", dyn, prof, []FrameView{hd, short}, nil, "frame 1 has", nil},
		{"stride below 3*width", dyn, prof, []FrameView{badStride}, nil, "stride 1900 is less than 3*width 1920", nil},
		{"not an image input", TensorDesc{Name: "x", Input: true, DType: Float32, Shape: []int64{-1, 80}}, prof, []FrameView{hd}, nil, "not N x 3 x H x W", nil},
		{"one channel", TensorDesc{Name: "x", Input: true, DType: Float32, Shape: []int64{1, 1, 384, 640}}, nil, []FrameView{hd}, nil, "not N x 3 x H x W", nil},
		{"int8 input", TensorDesc{Name: "x", Input: true, DType: Int8, Shape: []int64{1, 3, 384, 640}}, nil, []FrameView{hd}, nil, "type int8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dims, err := checkFrames(tt.in, tt.prof, tt.frames)
			if tt.err != "" {
				require.Error(t, err)
				assert.ErrorContains(t, err, tt.err)
				if tt.is != nil {
					assert.True(t, errors.Is(err, tt.is), "%v", err)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, dims)
		})
	}
}

func TestStagingLayout(t *testing.T) {
	frames := []FrameView{frameView(1920, 1080, 5760, 640, 384), frameView(3, 1, 9, 2, 2), frameView(1280, 720, 3904, 640, 384)}
	offs, total := stagingLayout(frames)
	assert.Equal(t, []int{0, 6220800, 6220800 + 256}, offs)
	// the 1280x720 frame ends 3904-3840 bytes before its last row's stride
	assert.Equal(t, 6220800+256+(3904*719+3840+255)&^255, total)
	for i, o := range offs {
		assert.Zero(t, o%stagingAlign, "frame %d offset", i)
		if i > 0 {
			assert.GreaterOrEqual(t, o, offs[i-1]+len(frames[i-1].Data), "frame %d overlaps frame %d", i, i-1)
		}
	}
	assert.GreaterOrEqual(t, total, offs[2]+len(frames[2].Data))
}

func TestFramesBuilt(t *testing.T) {
	assert.Equal(t, Built && cuda.Built, FramesBuilt)
	assert.Contains(t, ErrNoCUDA.Error(), `-tags "tensorrt cuda"`)
	var s staging
	if !cuda.Built {
		assert.ErrorIs(t, s.reserve(1024), cuda.ErrNotBuilt)
	}
	s.free()
	s.free() // idempotent
}
