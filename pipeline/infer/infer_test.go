package infer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

const (
	yunet22   = "models/yunet/face_detection_yunet_2022mar.onnx"
	yunet23   = "models/yunet/face_detection_yunet_2023mar.onnx"
	yunetS320 = "models/yunet/yunet_s_320_320.onnx"
	yunetDyn  = "models/yunet/yunet_s_dynamic.onnx"
	ultra320  = "models/ultraface/version-RFB-320.onnx"
	ultra640  = "models/ultraface/version-RFB-640.onnx"
	ultraRaw  = "models/ultraface/version-RFB-320_simplified.onnx"
)

func asset(t testing.TB, rel string) string {
	t.Helper()
	p, err := models.Asset(rel)
	require.NoError(t, err)
	return p
}

func readImage(t testing.TB, rel string) gocv.Mat {
	t.Helper()
	img := gocv.IMRead(asset(t, rel), gocv.IMReadColor)
	require.False(t, img.Empty(), "read %s", rel)
	return img
}

// checkMats fails the test if Mats leaked (with -tags matprofile).
func checkMats(t *testing.T) {
	t.Helper()
	start := matCount()
	t.Cleanup(func() {
		if matProfiled {
			assert.Equal(t, start, matCount(), "gocv Mats leaked")
		}
	})
}

func newDetector(t *testing.T, o Options) *Detector {
	t.Helper()
	d, err := NewDetector(o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

func countAbove(objs []meta.Object, th float32) int {
	n := 0
	for _, o := range objs {
		if o.Score >= th {
			n++
		}
	}
	return n
}

// TestDetectImages runs every model on the still images; the expected
// counts are DATA.md 2b's (score 0.6, input = frame) and the defaults'.
func TestDetectImages(t *testing.T) {
	checkMats(t)
	type want struct{ lo, hi int }
	cases := []struct {
		model, input string
		score        float32
		face, bald   want
		dogs, cruise want
	}{
		{yunet22, "frame", 0.6, want{1, 1}, want{24, 26}, want{3, 4}, want{1, 3}},
		{yunet22, "default", 0, want{1, 1}, want{22, 26}, want{0, 2}, want{1, 1}},
		{yunet22, "320", 0.6, want{1, 1}, want{22, 26}, want{0, 1}, want{1, 1}},
		{yunet22, "320x240", 0.6, want{1, 1}, want{15, 26}, want{0, 3}, want{1, 2}},
		{yunet23, "frame", 0.6, want{1, 1}, want{24, 25}, want{2, 2}, want{1, 1}},
		{yunet23, "default", 0, want{1, 1}, want{23, 25}, want{0, 1}, want{1, 1}}, // at the calibrated 0.7 a dog's face may pass (models/CALIBRATION.md)
		{yunet23, "320", 0.6, want{1, 1}, want{22, 25}, want{0, 1}, want{1, 1}},
		{yunet23, "640x640", 0.6, want{1, 1}, want{22, 25}, want{0, 2}, want{1, 1}},
		{yunetS320, "320", 0.6, want{1, 1}, want{22, 25}, want{0, 1}, want{1, 1}},
		{ultra320, "default", 0.6, want{1, 1}, want{24, 24}, want{0, 0}, want{1, 1}},
		{ultra320, "default", 0, want{1, 1}, want{24, 24}, want{0, 0}, want{1, 1}},
		{ultra640, "default", 0.6, want{1, 1}, want{24, 25}, want{0, 2}, want{1, 1}},
		{ultraRaw, "default", 0.6, want{1, 1}, want{24, 24}, want{0, 0}, want{1, 1}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.model)+"/"+c.input, func(t *testing.T) {
			sz, err := models.ParseInputSize(c.input)
			require.NoError(t, err)
			d := newDetector(t, Options{Model: asset(t, c.model), Input: sz, Decoder: models.DecoderOptions{ScoreThreshold: c.score}})
			th := c.score
			if th == 0 {
				th = d.Model().Spec.DefaultScore
			}
			for img, w := range map[string]want{
				"gocv_face.jpg": c.face, "dlib_bald_guys.jpg": c.bald,
				"dlib_dogs_noface.jpg": c.dogs, "dlib_tom_cruise_large_face.jpg": c.cruise,
			} {
				m := readImage(t, "media/images/"+img)
				objs, err := d.Detect(context.Background(), m)
				W, H := float32(m.Cols()), float32(m.Rows())
				require.NoError(t, m.Close())
				require.NoError(t, err)
				t.Logf("%s: %d objects", img, len(objs))
				assert.GreaterOrEqual(t, len(objs), w.lo, img)
				assert.LessOrEqual(t, len(objs), w.hi, img)
				for _, o := range objs {
					assert.Equal(t, "face", o.Label)
					assert.GreaterOrEqual(t, o.Score, th)
					assert.True(t, o.Box.X >= 0 && o.Box.Y >= 0 && o.Box.W > 0 && o.Box.H > 0 &&
						o.Box.X+o.Box.W <= W && o.Box.Y+o.Box.H <= H, "box %+v outside %vx%v", o.Box, W, H)
					if d.Model().Spec.Landmarks > 0 {
						assert.Len(t, o.Landmarks, 5)
					} else {
						assert.Empty(t, o.Landmarks)
					}
				}
			}
		})
	}
}

// TestGocvFaceBox checks where the one face of gocv_face.jpg is, with each
// model, and that the default detector's landmarks lie inside its box.
func TestGocvFaceBox(t *testing.T) {
	checkMats(t)
	img := readImage(t, "media/images/gocv_face.jpg")
	defer img.Close()
	var boxes []meta.Rect
	for _, m := range []string{yunet22, yunet23, ultra320, ultra640, ultraRaw} {
		d := newDetector(t, Options{Model: asset(t, m)})
		objs, err := d.Detect(context.Background(), img)
		require.NoError(t, err)
		require.Len(t, objs, 1, m)
		boxes = append(boxes, objs[0].Box)
		for _, p := range objs[0].Landmarks {
			b := objs[0].Box
			assert.True(t, p.X >= b.X && p.X <= b.X+b.W && p.Y >= b.Y && p.Y <= b.Y+b.H, "landmark %+v outside %+v", p, b)
		}
	}
	for i, b := range boxes[1:] {
		assert.Greater(t, models.IoU(boxes[0], b), float32(0.5), "model %d box %+v vs yunet %+v", i+1, b, boxes[0])
	}
}

// TestUltraFaceRawMatchesGraph checks our decoding of the simplified
// file's raw regressions against the graph's own decoding.
func TestUltraFaceRawMatchesGraph(t *testing.T) {
	checkMats(t)
	img := readImage(t, "media/images/dlib_bald_guys.jpg")
	defer img.Close()
	opts := models.DecoderOptions{ScoreThreshold: 0.5}
	a, err := newDetector(t, Options{Model: asset(t, ultra320), Decoder: opts}).Detect(context.Background(), img)
	require.NoError(t, err)
	b, err := newDetector(t, Options{Model: asset(t, ultraRaw), Decoder: opts}).Detect(context.Background(), img)
	require.NoError(t, err)
	require.Len(t, b, len(a))
	for i := range a {
		assert.InDelta(t, a[i].Score, b[i].Score, 1e-4)
		for _, d := range []float32{a[i].Box.X - b[i].Box.X, a[i].Box.Y - b[i].Box.Y, a[i].Box.W - b[i].Box.W, a[i].Box.H - b[i].Box.H} {
			assert.InDelta(t, 0, d, 0.5, "box %d: %+v vs %+v", i, a[i].Box, b[i].Box)
		}
	}
}

// TestNoFaceClip: the zero-config detector (YuNet 2022mar, default score
// and input) finds nothing in any frame of the no-face clip.
func TestNoFaceClip(t *testing.T) {
	checkMats(t)
	d := newDetector(t, Options{})
	assert.Equal(t, models.DefaultSpec, d.Model().Spec.Name)
	vc, err := gocv.VideoCaptureFile(asset(t, "media/video/gocv_small_noface.mp4"))
	require.NoError(t, err)
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	frames, hits := 0, 0
	for vc.Read(&img) && !img.Empty() {
		objs, err := d.Detect(context.Background(), img)
		require.NoError(t, err)
		if len(objs) > 0 {
			hits++
			t.Logf("frame %d: %+v", frames, objs)
		}
		frames++
	}
	assert.Equal(t, 166, frames)
	assert.Zero(t, hits, "frames with detections")
}

// TestEval measures precision and recall on the dlib set (4 images, 18
// faces) at score 0.6, IoU 0.5, input = image, and requires at least
// DATA.md 3's numbers (measured there on 9 images).
func TestEval(t *testing.T) {
	checkMats(t)
	set, err := models.ReadImglab(asset(t, "media/eval/dlib_faces/training.xml"))
	require.NoError(t, err)
	require.Len(t, set, 4)
	// Floors are what we measure on the 4 images here. DATA.md's 9-image
	// numbers (2022mar 0.98/1.00, 2023mar 0.95/0.98, UltraFace-320 1/1)
	// include the same single misses: 2022mar's one FP (a 15-px box at
	// 0.908 in 2008_002079) is 1 of 19 here but 1 of 44 there; 2023mar's
	// FP+FN is one face at IoU 0.49 in 2007_007763. TestMatchesOpenCV holds
	// the 2022mar path to OpenCV's own FaceDetectorYN.
	cases := []struct {
		model, input string
		p, r         float64
		opts         models.DecoderOptions
	}{
		// With DeepStream's min-size filter at 20 px (the labelled faces are
		// 37-109 px) the one tiny false positive goes, and 2022mar meets
		// DATA.md's 0.98 / 1.00; at conveyor's default score (0.8) too.
		{yunet22, "frame", 0.98, 1.00, models.DecoderOptions{ScoreThreshold: 0.6, MinSize: 20}},
		{yunet22, "default", 0.98, 1.00, models.DecoderOptions{MinSize: 20}},
		{yunet22, "frame", 18.0 / 19, 1.00, models.DecoderOptions{}},
		{yunet22, "default", 18.0 / 19, 1.00, models.DecoderOptions{}},
		{yunet23, "frame", 17.0 / 18, 17.0 / 18, models.DecoderOptions{}},
		{yunet23, "default", 17.0 / 18, 17.0 / 18, models.DecoderOptions{}},
		{ultra320, "default", 1.00, 1.00, models.DecoderOptions{}},
		{ultra640, "default", 17.0 / 20, 17.0 / 18, models.DecoderOptions{}},
		{ultraRaw, "default", 1.00, 1.00, models.DecoderOptions{}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/min%g", filepath.Base(c.model), c.input, c.opts.MinSize), func(t *testing.T) {
			sz, err := models.ParseInputSize(c.input)
			require.NoError(t, err)
			opts := c.opts
			if opts == (models.DecoderOptions{}) {
				opts.ScoreThreshold = 0.6
			}
			d := newDetector(t, Options{Model: asset(t, c.model), Input: sz, Decoder: opts})
			var total models.Counts
			for _, im := range set {
				img := gocv.IMRead(im.Path, gocv.IMReadColor)
				require.False(t, img.Empty(), im.Path)
				objs, err := d.Detect(context.Background(), img)
				require.NoError(t, img.Close())
				require.NoError(t, err)
				total = total.Add(models.Match(objs, im.Boxes, im.Ignore, 0.5))
			}
			t.Logf("%s %s: %s", filepath.Base(c.model), c.input, total)
			assert.Equal(t, 18, total.TP+total.FN)
			assert.GreaterOrEqual(t, total.Precision(), c.p)
			assert.GreaterOrEqual(t, total.Recall(), c.r)
		})
	}
}

// writeFile makes a file in a temp dir and returns its path.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// TestBadModels: every bad model is an error naming the file, never an
// abort.
func TestBadModels(t *testing.T) {
	checkMats(t)
	good, err := os.ReadFile(asset(t, yunet22))
	require.NoError(t, err)
	cases := []struct {
		name string
		opts func(t *testing.T) Options
		want []string
	}{
		{"missing", func(t *testing.T) Options { return Options{Model: filepath.Join(t.TempDir(), "nope.onnx")} }, []string{"nope.onnx", "no such file"}},
		{"directory", func(t *testing.T) Options { return Options{Model: t.TempDir()} }, []string{"directory"}},
		{"empty", func(t *testing.T) Options { return Options{Model: writeFile(t, "empty.onnx", nil)} }, []string{"empty.onnx", "empty file"}},
		{"text", func(t *testing.T) Options {
			return Options{Model: writeFile(t, "text.onnx", []byte("this is not a model\n"))}
		}, []string{"text.onnx", "not a usable onnx model"}},
		{"truncated", func(t *testing.T) Options {
			return Options{Model: writeFile(t, "half.onnx", good[:len(good)/2])}
		}, []string{"half.onnx", "truncated"}},
		{"corrupt", func(t *testing.T) Options {
			b := append([]byte(nil), good...)
			for i := 100; i < len(b); i += 7 {
				b[i] ^= 0xa5
			}
			return Options{Model: writeFile(t, "corrupt.onnx", b)}
		}, []string{"corrupt.onnx", "not a usable onnx model"}},
		{"ultraface file, yunet decoder", func(t *testing.T) Options {
			return Options{Model: asset(t, ultra320), Spec: "yunet-2023mar"}
		}, []string{"model version-RFB-320.onnx has outputs [scores boxes], decoder yunet-2023mar expects [cls_8"}},
		{"yunet file, ultraface decoder", func(t *testing.T) Options {
			return Options{Model: asset(t, yunet22), Spec: "ultraface"}
		}, []string{"face_detection_yunet_2022mar.onnx has outputs [loc conf iou], decoder ultraface expects [scores boxes]"}},
		{"yunet v2 file, yunet v1 decoder", func(t *testing.T) Options {
			return Options{Model: asset(t, yunet23), Spec: "yunet-2022mar"}
		}, []string{"decoder yunet-2022mar expects [loc conf iou]"}},
		{"unknown spec", func(t *testing.T) Options { return Options{Model: asset(t, yunet22), Spec: "yolo"} }, []string{`unknown model spec "yolo"`}},
		{"dynamic shape", func(t *testing.T) Options { return Options{Model: asset(t, yunetDyn)} }, []string{"yunet_s_dynamic.onnx", "dynamic shape", "OpenCV 4.6"}},
		{"fixed model, other size", func(t *testing.T) Options {
			return Options{Model: asset(t, ultra320), Input: models.InputSize{Frame: true}}
		}, []string{"runs only at 320x240"}},
		{"bad threshold", func(t *testing.T) Options {
			return Options{Model: asset(t, yunet22), Decoder: models.DecoderOptions{ScoreThreshold: 1.5}}
		}, []string{"score threshold 1.5"}},
		{"no small-face calibration", func(t *testing.T) Options {
			return Options{Model: asset(t, ultra320), MinFace: 10}
		}, []string{"version-RFB-320.onnx (ultraface) has no small-face calibration", "--min-face 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := NewDetector(c.opts(t))
			require.Error(t, err)
			assert.Nil(t, d)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestOpenCVProbeCatches: what would abort inside gocv is an error from
// the probe (C++ exceptions caught in dnn_shim.cpp).
func TestOpenCVProbeCatches(t *testing.T) {
	err := probe(asset(t, yunetDyn), nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parseShape")
	err = probe(filepath.Join(t.TempDir(), "missing.onnx"), nil, nil)
	require.Error(t, err)
	// 2023mar at a size that is not a multiple of 32 fails in forward.
	err = probe(asset(t, ultra320), []int{1, 3, 480, 640}, []string{"scores", "boxes"})
	require.Error(t, err, "a fixed-size graph at another size")
	t.Log(err)
	require.NoError(t, probe(asset(t, yunet23), []int{1, 3, 96, 128}, []string{"cls_8"}))
}

// TestEngineChecks: inputs the network cannot take are errors.
func TestEngineChecks(t *testing.T) {
	checkMats(t)
	ctx := context.Background()
	e, err := NewOpenCV(asset(t, yunet23), OpenCVOptions{AnySize: true, Multiple: 32})
	require.NoError(t, err)
	assert.Equal(t, []meta.TensorInfo{{Name: "input", Shape: []int{1, 3, -1, -1}}}, e.Inputs())
	assert.Len(t, e.Outputs(), 12)
	_, err = e.Infer(ctx, meta.Tensor{Shape: []int{1, 3, 100, 100}, Data: make([]float32, 3*100*100)})
	assert.ErrorContains(t, err, "multiples of 32")
	_, err = e.Infer(ctx, meta.Tensor{Shape: []int{1, 3, 64, 64}, Data: make([]float32, 10)})
	assert.ErrorContains(t, err, "input has 10 values")
	_, err = e.Infer(ctx, meta.Tensor{Shape: []int{3, 64, 64}, Data: make([]float32, 3*64*64)})
	assert.ErrorContains(t, err, "want [1 3 H W]")
	outs, err := e.Infer(ctx, meta.Tensor{Shape: []int{1, 3, 64, 96}, Data: make([]float32, 3*64*96)})
	require.NoError(t, err)
	require.Len(t, outs, 12)
	assert.Equal(t, "cls_8", outs[0].Name)
	assert.Len(t, outs[0].Data, 8*12)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.Infer(cancelled, meta.Tensor{Shape: []int{1, 3, 64, 96}, Data: make([]float32, 3*64*96)})
	assert.ErrorIs(t, err, context.Canceled)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
	_, err = e.Infer(ctx, meta.Tensor{Shape: []int{1, 3, 64, 96}, Data: make([]float32, 3*64*96)})
	assert.ErrorIs(t, err, ErrClosed)

	u, err := NewOpenCV(asset(t, ultra320), OpenCVOptions{})
	require.NoError(t, err)
	defer u.Close()
	_, err = u.Infer(ctx, meta.Tensor{Shape: []int{1, 3, 480, 640}, Data: make([]float32, 3*480*640)})
	assert.ErrorContains(t, err, "runs only at 320x240")
}

// TestStages runs Preprocess, Infer and Decode as separate workers, the
// way the line does, and checks they agree with Detector; the outputs of
// frame A must survive the engine running frame B before A is decoded.
func TestStages(t *testing.T) {
	checkMats(t)
	ctx := context.Background()
	m, err := Open(Options{Model: asset(t, yunet22), Input: models.InputSize{Long: 320}, Decoder: models.DecoderOptions{ScoreThreshold: 0.6}})
	require.NoError(t, err)
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	inf, err := m.NewInfer()
	require.NoError(t, err)
	dec, err := m.NewDecode()
	require.NoError(t, err)
	det, err := m.NewDetector()
	require.NoError(t, err)
	defer func() {
		for _, c := range []interface{ Close() error }{pre, inf, dec, det, pre, inf, det} {
			require.NoError(t, c.Close())
		}
	}()

	a := &pipeline.Frame{Image: readImage(t, "media/images/dlib_bald_guys.jpg")}
	b := &pipeline.Frame{Image: readImage(t, "media/images/gocv_face.jpg"), Number: 1}
	defer a.Release()
	defer b.Release()
	for _, f := range []*pipeline.Frame{a, b} {
		require.NoError(t, pre.Process(ctx, f))
		require.NoError(t, inf.Process(ctx, f))
	}
	assert.Equal(t, []int{1, 3, 249, 320}, a.Input.Shape)
	assert.Equal(t, 320, a.Geometry.InputW)
	require.NoError(t, dec.Process(ctx, a))
	require.NoError(t, dec.Process(ctx, b))
	wantA, err := det.Detect(ctx, a.Image)
	require.NoError(t, err)
	wantB, err := det.Detect(ctx, b.Image)
	require.NoError(t, err)
	assert.Equal(t, wantA, a.Objects)
	assert.Equal(t, wantB, b.Objects)
	assert.GreaterOrEqual(t, len(a.Objects), 22)
	assert.Len(t, b.Objects, 1)

	// The detector as a Processor.
	c := &pipeline.Frame{Image: readImage(t, "media/images/gocv_face.jpg")}
	defer c.Release()
	require.NoError(t, det.Process(ctx, c))
	assert.Equal(t, wantB, c.Objects)

	// Bad frames are skipped, not fatal.
	empty := &pipeline.Frame{Image: gocv.NewMat()}
	defer empty.Release()
	assert.ErrorIs(t, pre.Process(ctx, empty), pipeline.ErrSkipFrame)
	gray := &pipeline.Frame{Image: gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC1)}
	defer gray.Release()
	assert.ErrorIs(t, pre.Process(ctx, gray), pipeline.ErrSkipFrame)
	_, err = det.Detect(ctx, gray.Image)
	assert.ErrorIs(t, err, pipeline.ErrSkipFrame)
	// Infer before Preprocess is a wiring bug.
	assert.ErrorContains(t, inf.Process(ctx, &pipeline.Frame{}), "no input")
}

// TestLine runs the three stages in a pipeline.Line with two inference
// workers over a real still image repeated, and checks every frame.
func TestLine(t *testing.T) {
	checkMats(t)
	m, err := Open(Options{Model: asset(t, yunet22)})
	require.NoError(t, err)
	pre, err := m.NewPreprocess()
	require.NoError(t, err)
	inf1, err := m.NewInfer()
	require.NoError(t, err)
	inf2, err := m.NewInfer()
	require.NoError(t, err)
	dec, err := m.NewDecode()
	require.NoError(t, err)
	img := readImage(t, "media/images/gocv_face.jpg")
	defer img.Close()
	src := &imageSource{img: img, n: 12}
	line := pipeline.New()
	line.AddSource(src, pipeline.LinkOptions{})
	line.AddStage("preprocess", pipeline.LinkOptions{}, pre)
	line.AddStage("infer", pipeline.LinkOptions{}, inf1, inf2)
	line.AddStage("decode", pipeline.LinkOptions{}, dec)
	var got []int64
	line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
		if len(f.Objects) != 1 {
			return errors.New("want 1 face")
		}
		got = append(got, f.Number)
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, line.Run(ctx))
	assert.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, got)
}

// imageSource repeats one image n times.
type imageSource struct {
	img gocv.Mat
	n   int64
	i   int64
}

func (s *imageSource) Read(ctx context.Context) (*pipeline.Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.i >= s.n {
		return nil, pipeline.ErrEndOfStream
	}
	f := &pipeline.Frame{Number: s.i, Image: s.img.Clone(), Captured: time.Now()}
	s.i++
	return f, nil
}

func (s *imageSource) Info() pipeline.SourceInfo {
	return pipeline.SourceInfo{Name: "still", Width: s.img.Cols(), Height: s.img.Rows(), Frames: int(s.n)}
}

func (s *imageSource) Close() error { return nil }

// TestNumThreads sets OpenCV's thread count and restores it.
func TestNumThreads(t *testing.T) {
	old := NumThreads()
	require.Positive(t, old)
	require.NoError(t, SetNumThreads(1))
	assert.Equal(t, 1, NumThreads())
	require.NoError(t, SetNumThreads(old))
	assert.Equal(t, old, NumThreads())
}

// TestMatchesOpenCV holds the YuNet 2022mar path (our preprocessing at the
// image's size, OpenCV DNN, our decoder and NMS) to OpenCV 4.6's own
// cv::FaceDetectorYN on the same images.
func TestMatchesOpenCV(t *testing.T) {
	checkMats(t)
	d := newDetector(t, Options{Model: asset(t, yunet22), Input: models.InputSize{Frame: true}, Decoder: models.DecoderOptions{ScoreThreshold: 0.6}})
	imgs := []string{"media/images/gocv_face.jpg", "media/images/dlib_bald_guys.jpg", "media/images/dlib_dogs_noface.jpg",
		"media/images/dlib_tom_cruise_large_face.jpg", "media/eval/dlib_faces/2008_002079.jpg"}
	for _, name := range imgs {
		img := readImage(t, name)
		got, err := d.Detect(context.Background(), img)
		require.NoError(t, err)
		want, err := faceDetectorYN(asset(t, yunet22), img, 0.6, 0.3)
		W, H := float32(img.Cols()), float32(img.Rows())
		require.NoError(t, img.Close())
		require.NoError(t, err)
		t.Logf("%s: ours %d, FaceDetectorYN %d", name, len(got), len(want))
		require.Len(t, got, len(want), name)
		for _, w := range want {
			// FaceDetectorYN does not clamp to the image; we do.
			x1, y1 := max(w.Box.X, 0), max(w.Box.Y, 0)
			x2, y2 := min(w.Box.X+w.Box.W, W), min(w.Box.Y+w.Box.H, H)
			wb := meta.Rect{X: x1, Y: y1, W: x2 - x1, H: y2 - y1}
			found := false
			for _, g := range got {
				if models.IoU(g.Box, wb) > 0.99 && abs(g.Score-w.Score) < 1e-4 {
					found = true
					for k := range 5 {
						assert.InDelta(t, min(max(w.Landmarks[k].X, 0), W), g.Landmarks[k].X, 0.05)
						assert.InDelta(t, min(max(w.Landmarks[k].Y, 0), H), g.Landmarks[k].Y, 0.05)
					}
				}
			}
			assert.True(t, found, "%s: FaceDetectorYN face %+v score %v not found", name, w.Box, w.Score)
		}
	}
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
