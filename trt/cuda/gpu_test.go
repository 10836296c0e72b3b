//go:build cuda

package cuda

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// needGPU skips where no GPU exists (the development and CI machines);
// the GPU machine runs these tests from a binary built here.
func needGPU(tb testing.TB) string {
	tb.Helper()
	name, err := DeviceName(0)
	if err != nil {
		tb.Skipf("no CUDA GPU here: %v", err)
	}
	return name
}

func noise(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func asBytes[T any](s []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

func TestDevice(t *testing.T) {
	name := needGPU(t)
	t.Logf("device 0: %s", name)
	_, err := DeviceName(999)
	assert.Error(t, err)
	_, err = Malloc(1 << 62)
	assert.True(t, errors.Is(err, ErrOutOfMemory), "huge malloc: %v", err)
}

func TestPreprocessMatchesCPU(t *testing.T) {
	needGPU(t)
	yunet := [3]float32{}
	ultra := [3]float32{127, 127, 127}
	us := [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128}
	tests := []struct {
		name  string
		batch int
		p     Preprocess
	}{
		{"1080p letterbox 640 top-left fp32 BGR", 2, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 640, DstH: 640, Letterbox: true, Mean: yunet}},
		{"1080p stretch 320x240 fp32 RGB normalized", 3, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 320, DstH: 240, SwapRB: true, Mean: ultra, Scale: us}},
		{"480x270 padded stride upscale centred fp16", 2, Preprocess{SrcW: 480, SrcH: 270, SrcStride: 1536, DstW: 640, DstH: 640, Letterbox: true, Center: true, PadValue: 114, FP16: true, SwapRB: true, Mean: ultra, Scale: us}},
		{"odd width scalar path fp16", 2, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 301, DstH: 199, Letterbox: true, Center: true, FP16: true}},
		{"1080p identity fp32", 1, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1920, DstH: 1080}},
		{"1080p identity fp16 batch", 2, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1920, DstH: 1080, FP16: true}},
		// Rows and frames that start off 4-byte boundaries (stride 903), a
		// picture centred between pads, the buffer ending at the last pixel.
		{"odd stride centred letterbox fp16", 3, Preprocess{SrcW: 301, SrcH: 199, SrcStride: 903, DstW: 640, DstH: 640, Letterbox: true, Center: true, PadValue: 114, FP16: true, SwapRB: true, Mean: ultra, Scale: us}},
		{"odd stride downscale fp32", 2, Preprocess{SrcW: 1279, SrcH: 721, SrcStride: 3839, DstW: 320, DstH: 320, Letterbox: true, Center: true}},
		{"4K to 640 fp16", 1, Preprocess{SrcW: 3840, SrcH: 2160, SrcStride: 11520, DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360, FP16: true}},
		// Padding without scaling (the copy kernel): word loads where rows
		// and the picture's left edge are 4-byte aligned, bytes elsewhere.
		{"pad only aligned fp16", 2, Preprocess{SrcW: 640, SrcH: 360, SrcStride: 1920, DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360, FP16: true, SwapRB: true, Mean: ultra, Scale: us}},
		{"pad only centred odd stride fp32", 2, Preprocess{SrcW: 301, SrcH: 199, SrcStride: 903, DstW: 320, DstH: 224, ResizeW: 301, ResizeH: 199, Center: true, PadValue: 114}},
		{"pad only centred aligned fp32", 1, Preprocess{SrcW: 1280, SrcH: 720, SrcStride: 3840, DstW: 1296, DstH: 736, ResizeW: 1280, ResizeH: 720, Center: true, PadValue: 114}},
	}
	s, err := NewStream()
	require.NoError(t, err)
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, batch := tt.p, tt.batch
			src := noise(int(p.InputBytes(batch)), 7)
			want := make([]float32, p.OutputLen(batch))
			require.NoError(t, PreprocessCPU(src, batch, p, want))

			dsrc, err := Malloc(len(src))
			require.NoError(t, err)
			defer dsrc.Free()
			ddst, err := Malloc(p.OutputBytes(batch))
			require.NoError(t, err)
			defer ddst.Free()
			require.NoError(t, dsrc.Upload(src))
			require.NoError(t, PreprocessAsync(s, dsrc.Ptr(), ddst.Ptr(), batch, p))
			require.NoError(t, s.Sync())

			got := make([]float32, len(want))
			if p.FP16 {
				h := make([]uint16, len(want))
				require.NoError(t, ddst.Download(asBytes(h)))
				for i := range h {
					got[i] = HalfToFloat(h[i])
				}
			} else {
				require.NoError(t, ddst.Download(asBytes(got)))
			}
			maxErr := 0.0
			for i := range want {
				ref := want[i]
				if p.FP16 {
					ref = RoundHalf(ref)
				}
				maxErr = math.Max(maxErr, math.Abs(float64(got[i]-ref)))
			}
			// fp32: FMA contraction on the GPU may move the last bits of a
			// 0-255 value; fp16: such a move can cross a rounding boundary,
			// one float16 step (0.125 for values in 128..256).
			limit := 1e-3
			if p.FP16 {
				limit = 0.125
			}
			t.Logf("max abs error vs CPU reference: %.3g (%d values)", maxErr, len(want))
			assert.LessOrEqual(t, maxErr, limit)
		})
	}
	t.Run("source not 4-byte aligned", func(t *testing.T) {
		// A source pointer off a word boundary: byte loads (copy kernel).
		p := Preprocess{SrcW: 640, SrcH: 360, SrcStride: 1920, DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360, FP16: true}
		src := noise(int(p.InputBytes(1)), 5)
		want := make([]float32, p.OutputLen(1))
		require.NoError(t, PreprocessCPU(src, 1, p, want))
		dsrc, err := Malloc(len(src) + 1)
		require.NoError(t, err)
		defer dsrc.Free()
		ddst, err := Malloc(p.OutputBytes(1))
		require.NoError(t, err)
		defer ddst.Free()
		require.NoError(t, dsrc.Upload(append([]byte{0}, src...)))
		require.NoError(t, PreprocessAsync(s, unsafe.Add(dsrc.Ptr(), 1), ddst.Ptr(), 1, p))
		require.NoError(t, s.Sync())
		h := make([]uint16, len(want))
		require.NoError(t, ddst.Download(asBytes(h)))
		maxErr := 0.0
		for i := range h {
			maxErr = math.Max(maxErr, math.Abs(float64(HalfToFloat(h[i])-RoundHalf(want[i]))))
		}
		assert.LessOrEqual(t, maxErr, 0.125)
	})
	t.Run("bad params", func(t *testing.T) {
		assert.Error(t, PreprocessAsync(s, nil, nil, 1, Preprocess{SrcW: 1, SrcH: 1, SrcStride: 3, DstW: 1, DstH: 1}))
		assert.Error(t, PreprocessAsync(s, unsafe.Pointer(&tests), unsafe.Pointer(&tests), 0, tests[0].p))
	})
}

func TestPixelateMatchesCPU(t *testing.T) {
	needGPU(t)
	w, h, stride := 1920, 1080, 5760
	img := noise(stride*h, 9)
	boxes := []Rect{{100, 100, 200, 240}, {1800, 1000, 300, 300}, {-30, 500, 90, 61}, {700, 300, 17, 17}}
	for _, cell := range []int{1, 7, 16, 64} {
		want := append([]byte(nil), img...)
		cells, err := Cells(boxes, w, h, cell)
		require.NoError(t, err)
		require.NoError(t, PixelateCPU(want, w, h, stride, cells))

		s, err := NewStream()
		require.NoError(t, err)
		d, err := Malloc(len(img))
		require.NoError(t, err)
		require.NoError(t, d.Upload(img))
		px := &Pixelator{}
		require.NoError(t, px.PixelateAsync(s, d.Ptr(), w, h, stride, boxes, cell))
		require.NoError(t, s.Sync())
		got := make([]byte, len(img))
		require.NoError(t, d.Download(got))
		px.Close()
		d.Free()
		s.Close()
		diff := 0
		for i := range got {
			if got[i] != want[i] {
				diff++
			}
		}
		assert.Zero(t, diff, "cell %d: bytes differing from the CPU reference", cell)
	}
}

// timeKernel runs fn b.N times between two CUDA events after a warm-up and
// reports the achieved bandwidth for bytes moved per call.
func timeKernel(b *testing.B, s *Stream, bytes int64, fn func() error) {
	for i := 0; i < 5; i++ {
		require.NoError(b, fn())
	}
	require.NoError(b, s.Sync())
	start, err := NewEvent()
	require.NoError(b, err)
	defer start.Close()
	end, err := NewEvent()
	require.NoError(b, err)
	defer end.Close()
	b.ResetTimer()
	require.NoError(b, start.Record(s))
	for i := 0; i < b.N; i++ {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, end.Record(s))
	ms, err := Millis(start, end)
	require.NoError(b, err)
	b.StopTimer()
	per := float64(ms) / 1e3 / float64(b.N)
	b.ReportMetric(per*1e6, "us/call")
	b.ReportMetric(float64(bytes)/per/1e9, "GB/s")
}

func benchStream(b *testing.B) *Stream {
	name := needGPU(b)
	if os.Getenv("CUDA_BENCH_QUIET") == "" {
		b.Logf("device: %s", name)
	}
	s, err := NewStream()
	require.NoError(b, err)
	b.Cleanup(s.Close)
	return s
}

func devNoise(b *testing.B, n int) *Buffer {
	d, err := Malloc(n)
	require.NoError(b, err)
	b.Cleanup(d.Free)
	require.NoError(b, d.Upload(noise(n, 3)))
	return d
}

// BenchmarkCopyD2D is the yardstick: a device-to-device copy of 8 1080p
// BGR frames (bytes read + written).
func BenchmarkCopyD2D(b *testing.B) {
	s := benchStream(b)
	n := 8 * 1920 * 1080 * 3
	src, dst := devNoise(b, n), devNoise(b, n)
	timeKernel(b, s, 2*int64(n), func() error { return CopyAsync(s, dst.Ptr(), src.Ptr(), n) })
}

func BenchmarkPreprocess(b *testing.B) {
	cases := []struct {
		name  string
		batch int
		p     Preprocess
	}{
		{"1080p_to_1080p_fp32_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1920, DstH: 1080}},
		{"1080p_to_1080p_fp16_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1920, DstH: 1080, FP16: true}},
		{"1080p_letterbox_640_fp32_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 640, DstH: 640, Letterbox: true}},
		{"1080p_letterbox_640_fp16_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 640, DstH: 640, Letterbox: true, FP16: true}},
		// A resize near 1:1, where the bilinear kernel's arithmetic shows.
		{"1080p_to_720p_fp32_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1280, DstH: 720}},
		{"1080p_to_720p_fp16_b8", 8, Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 1280, DstH: 720, FP16: true}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := benchStream(b)
			src := devNoise(b, int(c.p.InputBytes(c.batch)))
			dst := devNoise(b, c.p.OutputBytes(c.batch))
			// Bytes: every source frame read once plus the output written.
			bytes := c.p.InputBytes(c.batch) + int64(c.p.OutputBytes(c.batch))
			timeKernel(b, s, bytes, func() error { return PreprocessAsync(s, src.Ptr(), dst.Ptr(), c.batch, c.p) })
		})
	}
}

// BenchmarkPixelate blurs 16 200x200 boxes on a 1080p frame (bytes: boxes
// read + written).
func BenchmarkPixelate(b *testing.B) {
	s := benchStream(b)
	img := devNoise(b, 1920*1080*3)
	var boxes []Rect
	for i := 0; i < 16; i++ {
		boxes = append(boxes, Rect{X: (i % 8) * 230, Y: (i / 8) * 500, W: 200, H: 200})
	}
	px := &Pixelator{}
	b.Cleanup(px.Close)
	timeKernel(b, s, 2*16*200*200*3, func() error { return px.PixelateAsync(s, img.Ptr(), 1920, 1080, 5760, boxes, 16) })
}

// TestUploadPreprocessIntoSlots is the TensorRT path's use of the kernels:
// frames of different sizes are copied into pinned staging memory,
// uploaded asynchronously, and each is preprocessed into its batch slot of
// one input tensor (as TensorRT's device input binding), with an explicit
// resize inside a padded input (models.Plan's PadRightBottom).
func TestUploadPreprocessIntoSlots(t *testing.T) {
	needGPU(t)
	type frame struct{ w, h, stride int }
	frames := []frame{{1920, 1080, 5760}, {1280, 720, 3840 + 64}, {640, 480, 1920}}
	const dstW, dstH = 640, 384
	inner := func(f frame) (int, int) { // fit 640x360 keeping the aspect, like models.Plan
		k := min(640.0/float64(f.w), 360.0/float64(f.h))
		return min(640, int(math.Round(float64(f.w)*k))), min(360, int(math.Round(float64(f.h)*k)))
	}
	for _, fp16 := range []bool{false, true} {
		t.Run(map[bool]string{false: "fp32", true: "fp16"}[fp16], func(t *testing.T) {
			s, err := NewStream()
			require.NoError(t, err)
			defer s.Close()
			borrowed := StreamFrom(s.Ptr())
			var total int
			offs := make([]int, len(frames))
			srcs := make([][]byte, len(frames))
			ps := make([]Preprocess, len(frames))
			for i, f := range frames {
				rw, rh := inner(f)
				ps[i] = Preprocess{SrcW: f.w, SrcH: f.h, SrcStride: f.stride, DstW: dstW, DstH: dstH, ResizeW: rw, ResizeH: rh,
					FP16: fp16, SwapRB: i == 1, Mean: [3]float32{127, 127, 127}, Scale: [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128}}
				srcs[i] = noise(int(ps[i].InputBytes(1)), int64(11+i))
				offs[i] = total
				total += (len(srcs[i]) + 255) &^ 255
			}
			host, err := HostAlloc(total)
			require.NoError(t, err)
			defer host.Free()
			dev, err := Malloc(total)
			require.NoError(t, err)
			defer dev.Free()
			slot := ps[0].OutputBytes(1)
			out, err := Malloc(slot * len(frames))
			require.NoError(t, err)
			defer out.Free()
			for i := range frames {
				copy(host.Bytes()[offs[i]:], srcs[i])
				src := unsafe.Add(dev.Ptr(), offs[i])
				require.NoError(t, UploadAsync(borrowed, src, unsafe.Add(host.Ptr(), offs[i]), len(srcs[i])))
				require.NoError(t, PreprocessAsync(borrowed, src, unsafe.Add(out.Ptr(), i*slot), 1, ps[i]))
			}
			require.NoError(t, borrowed.Sync())
			borrowed.Close() // does not destroy s
			require.NoError(t, s.Sync(), "the owner's stream is still alive")

			raw := make([]byte, slot*len(frames))
			require.NoError(t, out.Download(raw))
			n := ps[0].OutputLen(1)
			for i := range frames {
				want := make([]float32, n)
				require.NoError(t, PreprocessCPU(srcs[i], 1, ps[i], want))
				maxErr := 0.0
				for j := 0; j < n; j++ {
					var got float32
					if fp16 {
						got = HalfToFloat(uint16(raw[i*slot+2*j]) | uint16(raw[i*slot+2*j+1])<<8)
						want[j] = RoundHalf(want[j])
					} else {
						got = math.Float32frombits(uint32(raw[i*slot+4*j]) | uint32(raw[i*slot+4*j+1])<<8 | uint32(raw[i*slot+4*j+2])<<16 | uint32(raw[i*slot+4*j+3])<<24)
					}
					maxErr = math.Max(maxErr, math.Abs(float64(got-want[j])))
				}
				// Normalized values lie in [-1, 1]: fp16 steps there are <= 2^-11.
				limit := 1e-4
				if fp16 {
					limit = 1.0 / 1024
				}
				t.Logf("slot %d (%dx%d → %dx%d in %dx%d): max abs error %.3g", i, frames[i].w, frames[i].h, ps[i].ResizeW, ps[i].ResizeH, dstW, dstH, maxErr)
				assert.LessOrEqual(t, maxErr, limit, "slot %d", i)
			}
		})
	}
}

// BenchmarkUploadH2D is the bus yardstick: 8 1080p BGR frames from pinned
// host memory to the GPU.
func BenchmarkUploadH2D(b *testing.B) {
	s := benchStream(b)
	n := 8 * 1920 * 1080 * 3
	host, err := HostAlloc(n)
	require.NoError(b, err)
	b.Cleanup(host.Free)
	copy(host.Bytes(), noise(n, 5))
	dev := devNoise(b, n)
	timeKernel(b, s, int64(n), func() error { return UploadAsync(s, dev.Ptr(), host.Ptr(), n) })
}

// BenchmarkUploadPreprocess is what the TensorRT path does per batch of 8
// 1080p frames: upload each from pinned memory and preprocess it into its
// slot of a 8x3x384x640 input (YuNet 2023mar at 640, fp16 and fp32).
// Bytes: the frames crossing the bus.
func BenchmarkUploadPreprocess(b *testing.B) {
	for _, fp16 := range []bool{false, true} {
		b.Run(map[bool]string{false: "fp32_b8", true: "fp16_b8"}[fp16], func(b *testing.B) {
			s := benchStream(b)
			p := Preprocess{SrcW: 1920, SrcH: 1080, SrcStride: 5760, DstW: 640, DstH: 384, ResizeW: 640, ResizeH: 360, FP16: fp16}
			frame := int(p.InputBytes(1))
			host, err := HostAlloc(8 * frame)
			require.NoError(b, err)
			b.Cleanup(host.Free)
			copy(host.Bytes(), noise(8*frame, 5))
			dev := devNoise(b, 8*frame)
			out := devNoise(b, 8*p.OutputBytes(1))
			timeKernel(b, s, int64(8*frame), func() error {
				for i := 0; i < 8; i++ {
					src := unsafe.Add(dev.Ptr(), i*frame)
					if err := UploadAsync(s, src, unsafe.Add(host.Ptr(), i*frame), frame); err != nil {
						return err
					}
					if err := PreprocessAsync(s, src, unsafe.Add(out.Ptr(), i*p.OutputBytes(1)), 1, p); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}
