package models

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func assetPath(t testing.TB, rel string) string {
	t.Helper()
	p, err := Asset(rel)
	require.NoError(t, err)
	return p
}

func TestReadONNX(t *testing.T) {
	cases := []struct {
		file, spec string
		in         []int
		outs       []string
		w, h       int
	}{
		{"models/yunet/face_detection_yunet_2022mar.onnx", "yunet-2022mar", []int{1, 3, 120, 160}, []string{"loc", "conf", "iou"}, 160, 120},
		{"models/yunet/face_detection_yunet_2023mar.onnx", "yunet-2023mar", []int{1, 3, 640, 640}, yunetV2Outputs(), 640, 640},
		{"models/yunet/yunet_s_320_320.onnx", "yunet-2023mar", []int{1, 3, 320, 320}, yunetV2Outputs(), 640, 640},
		{"models/yunet/yunet_s_dynamic.onnx", "yunet-2023mar", []int{-1, 3, -1, -1}, yunetV2Outputs(), 640, 640},
		{"models/ultraface/version-RFB-320.onnx", "ultraface", []int{1, 3, 240, 320}, []string{"scores", "boxes"}, 320, 240},
		{"models/ultraface/version-RFB-640.onnx", "ultraface", []int{1, 3, 480, 640}, []string{"scores", "boxes"}, 640, 480},
		{"models/ultraface/version-RFB-320_simplified.onnx", "ultraface-raw", []int{1, 3, 240, 320}, []string{"scores", "boxes"}, 320, 240},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			info, err := ReadONNX(assetPath(t, c.file))
			require.NoError(t, err)
			require.Len(t, info.Inputs, 1, "initializers are not inputs")
			assert.Equal(t, "input", info.Inputs[0].Name)
			assert.Equal(t, c.in, info.Inputs[0].Shape)
			assert.Equal(t, c.outs, info.OutputNames())
			assert.Equal(t, c.in[0] == -1, info.Dynamic(0))
			assert.Positive(t, info.Opset)
			spec, _, err := Identify(assetPath(t, c.file))
			require.NoError(t, err)
			assert.Equal(t, c.spec, spec.Name)
			assert.Equal(t, [2]int{c.w, c.h}, [2]int{spec.InputW, spec.InputH})
		})
	}
}

func yunetV2Outputs() []string {
	s, _ := Lookup("yunet-2023mar")
	return s.Outputs
}

func TestReadONNXErrors(t *testing.T) {
	good, err := os.ReadFile(assetPath(t, "models/yunet/face_detection_yunet_2022mar.onnx"))
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	cases := []struct {
		name, path string
		want       string
	}{
		{"missing", filepath.Join(dir, "missing.onnx"), "no such file"},
		{"directory", dir, "is a directory"},
		{"empty", write("empty.onnx", nil), "empty file"},
		{"text", write("text.onnx", []byte("hello, I am not a model")), "not a usable onnx model"},
		{"truncated", write("trunc.onnx", good[:len(good)-100]), "truncated"},
		{"first bytes", write("head.onnx", good[:40]), "not a usable onnx model"},
		{"zeros", write("zeros.onnx", make([]byte, 1000)), "not a usable onnx model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadONNX(c.path)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrBadModel)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), c.path)
		})
	}
}

func TestCheckMismatch(t *testing.T) {
	info, err := ReadONNX(assetPath(t, "models/ultraface/version-RFB-320.onnx"))
	require.NoError(t, err)
	s, err := Lookup("yunet-2023mar")
	require.NoError(t, err)
	err = s.Check(info)
	require.ErrorIs(t, err, ErrMismatch)
	assert.Equal(t, "model version-RFB-320.onnx has outputs [scores boxes], decoder yunet-2023mar expects "+
		"[cls_8 cls_16 cls_32 obj_8 obj_16 obj_32 bbox_8 bbox_16 bbox_32 kps_8 kps_16 kps_32]: model does not fit the decoder", err.Error())
	_, err = Lookup("nope")
	assert.ErrorContains(t, err, "unknown model spec")
	// A fixed-size spec with a dynamic file.
	dyn, err := ReadONNX(assetPath(t, "models/yunet/yunet_s_dynamic.onnx"))
	require.NoError(t, err)
	u, err := Lookup("ultraface")
	require.NoError(t, err)
	assert.ErrorIs(t, u.Check(ModelInfo{Path: "x.onnx", Inputs: dyn.Inputs, Outputs: info.Outputs}), ErrMismatch)
	_, err = identify(ModelInfo{Path: "y.onnx", Outputs: []meta.TensorInfo{{Name: "logits"}}})
	assert.ErrorContains(t, err, "model y.onnx has outputs [logits], which fit no known decoder")
}

func TestPlan(t *testing.T) {
	y1, _ := Lookup("yunet-2022mar")
	y2, _ := Lookup("yunet-2023mar")
	uf, _ := Lookup("ultraface")
	cases := []struct {
		name     string
		spec     Spec
		size     string
		fw, fh   int
		inW, inH int
		rW, rH   int
		err      string
	}{
		{"v1 default 640x480", y1, "", 640, 480, 640, 480, 640, 480, ""},
		{"v1 default shrinks", y1, "", 1986, 1545, 640, 498, 640, 498, ""},
		{"v1 default never enlarges", y1, "", 500, 375, 500, 375, 500, 375, ""},
		{"v1 320", y1, "320", 640, 480, 320, 240, 320, 240, ""},
		{"v1 stretch", y1, "320x320", 640, 480, 320, 320, 320, 320, ""},
		{"v2 frame padded", y2, "frame", 500, 375, 512, 384, 500, 375, ""},
		{"v2 320", y2, "320", 640, 480, 320, 256, 320, 240, ""},
		{"v2 640x640 letterbox", y2, "640x640", 1280, 720, 640, 640, 640, 360, ""},
		{"v2 odd size rounded up", y2, "300x200", 600, 400, 320, 224, 300, 200, ""},
		{"ultraface fixed", uf, "", 640, 480, 320, 240, 320, 240, ""},
		{"ultraface other size", uf, "frame", 640, 480, 0, 0, 0, 0, "runs only at 320x240"},
		{"bad frame", y1, "", 0, 480, 0, 0, 0, 0, "bad frame size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sz, err := ParseInputSize(c.size)
			require.NoError(t, err)
			p, err := c.spec.Plan(sz, c.fw, c.fh)
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, [4]int{c.inW, c.inH, c.rW, c.rH}, [4]int{p.InputW, p.InputH, p.ResizeW, p.ResizeH})
			// The frame's far corner maps to the resized picture's.
			x, y := p.ToFrame(float32(p.ResizeW), float32(p.ResizeH))
			assert.InDelta(t, c.fw, x, 1e-3)
			assert.InDelta(t, c.fh, y, 1e-3)
		})
	}
	for _, bad := range []string{"0", "12", "axb", "320x", "99999", "-5", "frame2"} {
		_, err := ParseInputSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestNMS(t *testing.T) {
	boxes := []meta.Rect{
		{X: 0, Y: 0, W: 10, H: 10},
		{X: 1, Y: 1, W: 10, H: 10}, // IoU with 0: 81/119 = 0.68
		{X: 20, Y: 20, W: 5, H: 5},
		{X: 5, Y: 0, W: 10, H: 10}, // IoU with 0: 50/150 = 0.33
	}
	cases := []struct {
		name   string
		scores []float32
		iou    float32
		want   []int
	}{
		{"best first", []float32{0.9, 0.95, 0.5, 0.7}, 0.3, []int{1, 2}},
		{"looser", []float32{0.9, 0.8, 0.5, 0.7}, 0.5, []int{0, 3, 2}},
		{"keep all", []float32{0.9, 0.8, 0.5, 0.7}, 1, []int{0, 1, 3, 2}},
		{"ties keep index order", []float32{0.5, 0.5, 0.5, 0.5}, 0.3, []int{0, 2}},
		{"empty", nil, 0.3, []int{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, NMS(boxes, c.scores, c.iou, []int{}))
		})
	}
	assert.InDelta(t, 81.0/119, IoU(boxes[0], boxes[1]), 1e-6)
	assert.Zero(t, IoU(boxes[0], boxes[2]))
	assert.Zero(t, IoU(boxes[0], meta.Rect{W: 0, H: 5}))
}

// yunetV1Outputs builds zeroed outputs for a W x H input, with prior i set
// to a face of score sqrt(conf*iou).
func yunetV1Outputs(W, H int) ([]meta.Tensor, []prior) {
	pr := yunetV1Priors(nil, W, H)
	n := len(pr)
	return []meta.Tensor{
		{Name: "loc", Shape: []int{n, 14}, Data: make([]float32, n*14)},
		{Name: "conf", Shape: []int{n, 2}, Data: make([]float32, n*2)},
		{Name: "iou", Shape: []int{n, 1}, Data: make([]float32, n)},
	}, pr
}

func TestYuNetV1Decode(t *testing.T) {
	outs, pr := yunetV1Outputs(160, 120)
	require.Len(t, pr, 1076, "DATA.md: N = 1076 at 160x120")
	p320, _ := yunetV1Outputs(320, 320)
	require.Equal(t, 5875*14, len(p320[0].Data), "DATA.md: N = 5875 at 320x320")
	// Prior 0 (level 0, row 0, col 0, min 10): centre (4,4), size 10x10.
	outs[1].Data[1], outs[2].Data[0] = 1, 0.81 // score 0.9
	l := outs[0].Data[:14]
	l[0], l[1] = 1, 0 // cx += 0.1 * 10/160 * 160 = 1
	l[4], l[5] = 2, 3 // landmark 0: (4 + 2, 4 + 3)
	// A weaker duplicate at prior 1 (min 16, same centre) is suppressed.
	outs[1].Data[3], outs[2].Data[1] = 0.8, 1
	g := meta.Geometry{FrameW: 320, FrameH: 240, InputW: 160, InputH: 120, ScaleX: 0.5, ScaleY: 0.5}
	s, _ := Lookup("yunet-2022mar")
	d, err := s.NewDecoder(DecoderOptions{ScoreThreshold: 0.5})
	require.NoError(t, err)
	objs, err := d.Decode(outs, g)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	o := objs[0]
	assert.InDelta(t, 0.9, o.Score, 1e-6)
	assert.Equal(t, "face", o.Label)
	// Input box (0,-1)-(10,9) → frame (0,-2)-(20,18), clamped to y >= 0.
	assert.InDelta(t, 0, o.Box.X, 1e-4)
	assert.InDelta(t, 0, o.Box.Y, 1e-4)
	assert.InDelta(t, 20, o.Box.W, 1e-4)
	assert.InDelta(t, 18, o.Box.H, 1e-4)
	require.Len(t, o.Landmarks, 5)
	assert.InDelta(t, 12, o.Landmarks[0].X, 1e-4)
	assert.InDelta(t, 14, o.Landmarks[0].Y, 1e-4)

	// Sizes that do not fit the geometry are errors, not panics.
	g2 := g
	g2.InputW = 320
	_, err = d.Decode(outs, g2)
	assert.ErrorContains(t, err, "the input size implies")
	_, err = d.Decode(outs[:2], g)
	assert.ErrorContains(t, err, "no output named iou")
	_, err = d.Decode(outs, meta.Geometry{})
	assert.ErrorContains(t, err, "bad input size")
}

func TestYuNetV2Decode(t *testing.T) {
	s, _ := Lookup("yunet-2023mar")
	W, H := 64, 32
	var outs []meta.Tensor
	for _, st := range []int{8, 16, 32} {
		n := (W / st) * (H / st)
		for k, per := range map[string]int{"cls": 1, "obj": 1, "bbox": 4, "kps": 10} {
			outs = append(outs, meta.Tensor{Name: k + "_" + itoa(st), Data: make([]float32, n*per)})
		}
	}
	get := func(name string) []float32 {
		for _, o := range outs {
			if o.Name == name {
				return o.Data
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	// Stride 16, row 1, col 2 → idx 1*4+2 = 6: centre ((2+0.5)*16, (1+0.5)*16) = (40, 24), size exp(0)*16.
	get("cls_16")[6], get("obj_16")[6] = 0.81, 1
	b := get("bbox_16")[24:28]
	b[0], b[1] = 0.5, 0.5
	get("kps_16")[60], get("kps_16")[61] = 0.25, 0.75 // landmark 0 = ((0.25+2)*16, (0.75+1)*16) = (36, 28)
	g := meta.Geometry{FrameW: 64, FrameH: 32, InputW: W, InputH: H, ScaleX: 1, ScaleY: 1}
	d, err := s.NewDecoder(DecoderOptions{})
	require.NoError(t, err)
	objs, err := d.Decode(outs, g)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.InDelta(t, 0.9, objs[0].Score, 1e-6)
	assert.Equal(t, meta.Rect{X: 32, Y: 16, W: 16, H: 16}, objs[0].Box)
	assert.Equal(t, meta.Point{X: 36, Y: 28}, objs[0].Landmarks[0])
	// Score just under the default 0.7 (models/CALIBRATION.md): nothing,
	// and no error.
	get("cls_16")[6] = 0.48
	objs, err = d.Decode(outs, g)
	require.NoError(t, err)
	assert.Empty(t, objs)
	g.InputW = 48
	_, err = d.Decode(outs, g)
	assert.ErrorContains(t, err, "not a multiple of 32")
}

func itoa(v int) string {
	return map[int]string{8: "8", 16: "16", 32: "32"}[v]
}

func TestUltraFaceDecode(t *testing.T) {
	pr := ultraFacePriors(nil, 320, 240)
	require.Len(t, pr, 4420)
	require.Len(t, ultraFacePriors(nil, 640, 480), 17640)
	n := len(pr)
	outs := []meta.Tensor{
		{Name: "scores", Data: make([]float32, 2*n)},
		{Name: "boxes", Data: make([]float32, 4*n)},
	}
	i := 100
	outs[0].Data[2*i+1] = 0.95
	copy(outs[1].Data[4*i:], []float32{0.25, 0.5, 0.5, 0.75})
	g := meta.Geometry{FrameW: 640, FrameH: 480, InputW: 320, InputH: 240, ScaleX: 0.5, ScaleY: 0.5}
	s, _ := Lookup("ultraface")
	d, err := s.NewDecoder(DecoderOptions{})
	require.NoError(t, err)
	objs, err := d.Decode(outs, g)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, meta.Rect{X: 160, Y: 240, W: 160, H: 120}, objs[0].Box)
	assert.Empty(t, objs[0].Landmarks)

	// Raw: zero regressions give the prior itself.
	r, _ := Lookup("ultraface-raw")
	dr, err := r.NewDecoder(DecoderOptions{})
	require.NoError(t, err)
	for k := range outs[1].Data {
		outs[1].Data[k] = 0
	}
	objs, err = dr.Decode(outs, g)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	p := pr[i]
	assert.InDelta(t, (p.cx-p.w/2)*640, objs[0].Box.X, 1e-3)
	assert.InDelta(t, p.w*640, objs[0].Box.W, 1e-3)
	_, err = dr.Decode(outs[:1], g)
	assert.ErrorContains(t, err, "no output named boxes")
}

func TestDecoderOptions(t *testing.T) {
	s, _ := Lookup("yunet-2022mar")
	for _, o := range []DecoderOptions{{ScoreThreshold: 2}, {ScoreThreshold: -1}, {NMSThreshold: 1.5}, {MaxObjects: -1}} {
		_, err := s.NewDecoder(o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := Spec{Name: "x"}.NewDecoder(DecoderOptions{})
	assert.ErrorContains(t, err, "no decoder")
}

func TestReadImglabAndMatch(t *testing.T) {
	set, err := ReadImglab(assetPath(t, "media/eval/dlib_faces/training.xml"))
	require.NoError(t, err)
	require.Len(t, set, 4)
	n := 0
	for _, im := range set {
		n += len(im.Boxes)
		_, err := os.Stat(im.Path)
		assert.NoError(t, err)
	}
	assert.Equal(t, 18, n)
	assert.Equal(t, meta.Rect{X: 194, Y: 90, W: 37, H: 37}, set[0].Boxes[0])
	assert.Equal(t, 500, set[0].Width)

	p := filepath.Join(t.TempDir(), "x.xml")
	require.NoError(t, os.WriteFile(p, []byte("<?xml version='1.0' encoding='ISO-8859-1'?>\n<dataset><name>caf\xe9</name><images>"+
		"<image file='a.jpg'><box top='0' left='0' width='10' height='10'/><box top='50' left='50' width='10' height='10' ignore='1'/></image>"+
		"</images></dataset>"), 0o644))
	set, err = ReadImglab(p)
	require.NoError(t, err)
	require.Len(t, set, 1)
	assert.Len(t, set[0].Boxes, 1)
	assert.Len(t, set[0].Ignore, 1)
	_, err = ReadImglab(filepath.Join(t.TempDir(), "none.xml"))
	assert.Error(t, err)

	truth := []meta.Rect{{X: 0, Y: 0, W: 10, H: 10}, {X: 100, Y: 0, W: 10, H: 10}}
	dets := []meta.Object{
		{Box: meta.Rect{X: 1, Y: 0, W: 10, H: 10}, Score: 0.7},   // TP (IoU 0.82)
		{Box: meta.Rect{X: 0, Y: 0, W: 10, H: 10}, Score: 0.6},   // FP: truth 0 taken by the higher score
		{Box: meta.Rect{X: 50, Y: 50, W: 10, H: 10}, Score: 0.9}, // ignored
		{Box: meta.Rect{X: 200, Y: 0, W: 10, H: 10}, Score: 0.5}, // FP
	}
	c := Match(dets, truth, []meta.Rect{{X: 50, Y: 50, W: 10, H: 10}}, 0.5)
	assert.Equal(t, Counts{TP: 1, FP: 2, FN: 1}, c)
	assert.InDelta(t, 1.0/3, c.Precision(), 1e-9)
	assert.InDelta(t, 0.5, c.Recall(), 1e-9)
	assert.Equal(t, 1.0, Counts{}.Precision())
}

func TestDefaults(t *testing.T) {
	s, err := Lookup(DefaultSpec)
	require.NoError(t, err)
	spec, _, err := Identify(assetPath(t, DefaultModel))
	require.NoError(t, err)
	assert.Equal(t, s.Name, spec.Name)
	assert.Equal(t, float32(0.8), spec.DefaultScore)
	assert.ElementsMatch(t, []string{"yunet-2022mar", "yunet-2023mar", "ultraface", "ultraface-raw"}, Specs())
}

// TestUltraFaceExportsToldApart: the in-graph-decoded UltraFace and its
// _simplified export (raw regressions) have the same outputs; they are
// told apart by their graphs, not their file names, and forcing one spec on
// the other is an error instead of garbage boxes.
func TestUltraFaceExportsToldApart(t *testing.T) {
	decoded := assetPath(t, "models/ultraface/version-RFB-320.onnx")
	raw := assetPath(t, "models/ultraface/version-RFB-320_simplified.onnx")
	renamed := filepath.Join(t.TempDir(), "faces.onnx")
	b, err := os.ReadFile(raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(renamed, b, 0o644))

	for path, want := range map[string]string{decoded: "ultraface", raw: "ultraface-raw", renamed: "ultraface-raw"} {
		s, info, err := Identify(path)
		require.NoError(t, err)
		assert.Equal(t, want, s.Name, path)
		assert.True(t, slices.IsSorted(info.Ops))
		assert.Contains(t, info.Ops, "Conv")
	}
	for path, name := range map[string]string{raw: "ultraface", decoded: "ultraface-raw"} {
		info, err := ReadONNX(path)
		require.NoError(t, err)
		s, err := Lookup(name)
		require.NoError(t, err)
		_, err = s.ForModel(info)
		assert.ErrorIs(t, err, ErrMismatch, "%s forced on %s", name, filepath.Base(path))
	}
}

func TestNMSObjects(t *testing.T) {
	objs := []meta.Object{
		{Box: meta.Rect{X: 0, Y: 0, W: 10, H: 10}, Score: 0.5, Label: "a"},
		{Box: meta.Rect{X: 1, Y: 1, W: 10, H: 10}, Score: 0.9, Label: "b"},
		{Box: meta.Rect{X: 50, Y: 50, W: 10, H: 10}, Score: 0.7, Label: "c"},
	}
	got := NMSObjects(objs, 0.3)
	require.Len(t, got, 2)
	assert.Equal(t, "b", got[0].Label, "best first; a overlaps b")
	assert.Equal(t, "c", got[1].Label)
	assert.Equal(t, objs[:1], NMSObjects(objs[:1], 0.3))
}
