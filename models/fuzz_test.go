package models

import (
	"encoding/binary"
	"math"
	"os"
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// FuzzParseONNX: no input makes the reader panic; whatever it accepts has
// an input and an output.
func FuzzParseONNX(f *testing.F) {
	for _, rel := range []string{"models/yunet/face_detection_yunet_2022mar.onnx", "models/ultraface/version-RFB-320.onnx"} {
		if p, err := Asset(rel); err == nil {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b[:min(len(b), 4096)])
				f.Add(b[len(b)-min(len(b), 4096):])
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x06, 0x3a, 0x00})                                   // ir_version 6, empty graph
	f.Add([]byte{0x08, 0x06, 0x3a, 0x06, 0x5a, 0x04, 0x0a, 0x02, 'i', 'n'}) // one input, no output
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseONNX(b)
		if err == nil && (len(info.Inputs) == 0 || len(info.Outputs) == 0) {
			t.Fatalf("accepted a model without inputs or outputs: %+v", info)
		}
	})
}

// fuzzTensors makes tensors named names with the element counts sizes from
// raw bytes (little-endian float32, repeated), shortening tensor cut by one
// element when cut < len(names).
func fuzzTensors(names []string, sizes []int, raw []byte, cut int) []meta.Tensor {
	vals := make([]float32, 0, len(raw)/4)
	for i := 0; i+4 <= len(raw); i += 4 {
		vals = append(vals, math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
	}
	if len(vals) == 0 {
		vals = []float32{0}
	}
	outs := make([]meta.Tensor, len(names))
	k := 0
	for i, n := range names {
		sz := sizes[i]
		if i == cut && sz > 0 {
			sz--
		}
		d := make([]float32, sz)
		for j := range d {
			d[j] = vals[k%len(vals)]
			k++
		}
		outs[i] = meta.Tensor{Name: n, Data: d}
	}
	return outs
}

// fuzzDecoder drives one spec's decoder with tensors built for the given
// input size, on any geometry: it must never panic, and what it returns
// must lie in the frame.
func fuzzDecoder(f *testing.F, spec string, sizes func(W, H int) []int) {
	s, err := Lookup(spec)
	if err != nil {
		f.Fatal(err)
	}
	one := make([]byte, 4)
	binary.LittleEndian.PutUint32(one, math.Float32bits(1))
	f.Add(uint16(64), uint16(64), uint16(640), uint16(480), float32(0.1), float32(0), []byte{}, uint8(255), float32(0.5))
	f.Add(uint16(160), uint16(120), uint16(160), uint16(120), float32(1), float32(0), one, uint8(255), float32(0.3))
	f.Add(uint16(96), uint16(64), uint16(30), uint16(20), float32(0.5), float32(3), []byte{0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0x7f}, uint8(0), float32(0.9))
	f.Add(uint16(33), uint16(7), uint16(1), uint16(1), float32(-1), float32(1e30), one, uint8(2), float32(1))
	f.Fuzz(func(t *testing.T, w, h, fw, fh uint16, scale, pad float32, raw []byte, cut uint8, score float32) {
		W, H := int(w%200)+1, int(h%200)+1
		if s.PadMultiple > 1 && w%2 == 0 {
			W, H = (W+31)/32*32, (H+31)/32*32
		}
		g := meta.Geometry{FrameW: int(fw), FrameH: int(fh), InputW: W, InputH: H, ScaleX: scale, ScaleY: scale * 0.75, PadX: pad, PadY: -pad}
		opts := DecoderOptions{ScoreThreshold: score, NMSThreshold: 0.3}
		d, err := s.NewDecoder(opts)
		if err != nil {
			return // threshold out of range: rejected up front
		}
		outs := fuzzTensors(s.Outputs, sizes(W, H), raw, int(cut))
		objs, err := d.Decode(outs, g)
		if err != nil {
			return
		}
		for _, o := range objs {
			b := o.Box
			if !(b.X >= 0 && b.Y >= 0 && b.W > 0 && b.H > 0 && b.X+b.W <= float32(g.FrameW)+1e-3 && b.Y+b.H <= float32(g.FrameH)+1e-3) {
				t.Fatalf("box %+v outside frame %dx%d", b, g.FrameW, g.FrameH)
			}
			if !(o.Score >= score) {
				t.Fatalf("score %v under threshold %v", o.Score, score)
			}
		}
	})
}

func FuzzYuNetV1(f *testing.F) {
	fuzzDecoder(f, "yunet-2022mar", func(W, H int) []int {
		n := len(yunetV1Priors(nil, W, H))
		return []int{n * 14, n * 2, n}
	})
}

func FuzzYuNetV2(f *testing.F) {
	fuzzDecoder(f, "yunet-2023mar", func(W, H int) []int {
		var sizes []int
		for _, per := range []int{1, 1, 4, 10} {
			for _, s := range []int{8, 16, 32} {
				sizes = append(sizes, (W/s)*(H/s)*per)
			}
		}
		return sizes
	})
}

func ultraSizes(W, H int) []int {
	n := len(ultraFacePriors(nil, W, H))
	return []int{2 * n, 4 * n}
}

func FuzzUltraFace(f *testing.F)    { fuzzDecoder(f, "ultraface", ultraSizes) }
func FuzzUltraFaceRaw(f *testing.F) { fuzzDecoder(f, "ultraface-raw", ultraSizes) }
