package infer

import (
	"context"
	"fmt"
	"image"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// crowd builds a synthetic crowd (models.BuildMosaic) from the dlib set in
// the assets: faces of 10-30 px with exact labels. The caller closes the
// Mat.
func crowd(t testing.TB, w, h int, seed uint64) (gocv.Mat, models.Mosaic) {
	t.Helper()
	set, err := models.ReadDlibFaces(asset(t, "media/eval/dlib_faces/training.xml"))
	require.NoError(t, err)
	m, err := models.BuildMosaic(set, models.MosaicOptions{W: w, H: h, MinFace: 10, MaxFace: 30, Seed: seed})
	require.NoError(t, err)
	img, err := gocv.ImageToMatRGB(m.Image)
	require.NoError(t, err)
	return img, m
}

// detectCrowd counts a detector's hits on a crowd at IoU 0.5.
func detectCrowd(t testing.TB, d *Detector, img gocv.Mat, m models.Mosaic) models.Counts {
	t.Helper()
	objs, err := d.Detect(context.Background(), img)
	require.NoError(t, err)
	return models.Match(objs, m.Truth, m.Ignore, 0.5)
}

// TestRefineFindsSmallFaces: on synthetic crowds of 10-30 px faces
// (1600x900 and 1920x1080) the frame pass alone (640 on the long side)
// finds few of them; with the refine stage (min-face 10) recall and
// precision at IoU 0.5 are at least 0.95 over the two.
func TestRefineFindsSmallFaces(t *testing.T) {
	checkMats(t)
	plain := newDetector(t, Options{Model: asset(t, yunet22)})
	refined := newDetector(t, Options{Model: asset(t, yunet22), MinFace: 10})
	var c0, c models.Counts
	for _, sz := range [][2]int{{1600, 900}, {1920, 1080}} {
		img, m := crowd(t, sz[0], sz[1], 1)
		require.Greater(t, len(m.Truth), 100)
		c0 = c0.Add(detectCrowd(t, plain, img, m))
		c = c.Add(detectCrowd(t, refined, img, m))
		require.NoError(t, img.Close())
	}
	t.Logf("frame pass only: %v", c0)
	t.Logf("with refine: %v; %+v", c, refined.refine.Stats())
	assert.Less(t, c0.Recall(), 0.5, "the frame pass alone should miss most small faces")
	assert.GreaterOrEqual(t, c.Recall(), 0.95)
	assert.GreaterOrEqual(t, c.Precision(), 0.95)
	assert.Equal(t, 2, refined.refine.Stats().Passes, "large frames need the second pass")
}

// refineStages makes the stages of a line up to refine for mod, with the
// refine stage's engines from newEngine (nil: OpenCV's), closed when the
// test ends.
func refineStages(t *testing.T, mod *Model, newEngine func() (Engine, error)) (*Preprocess, *Infer, *Decode, *Refine) {
	t.Helper()
	p, err := mod.NewPreprocess()
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	i, err := mod.NewInfer()
	require.NoError(t, err)
	t.Cleanup(func() { _ = i.Close() })
	d, err := mod.NewDecode()
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	if newEngine == nil {
		newEngine = func() (Engine, error) { return mod.NewEngine() }
	}
	r, err := mod.NewRefineWith(newEngine)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return p, i, d, r
}

// TestRefineStage runs Refine as a stage after Decode on a small frame:
// no second pass (the frame pass saw it at full size), and the stage keeps
// the frame pass's detections.
func TestRefineStage(t *testing.T) {
	checkMats(t)
	mod, err := Open(Options{Model: asset(t, yunet22), MinFace: 10})
	require.NoError(t, err)
	pre, inf, dec, ref := refineStages(t, mod, nil)

	img := readImage(t, "media/images/gocv_face.jpg")
	f := &pipeline.Frame{Image: img}
	defer f.Release()
	ctx := context.Background()
	for _, p := range []pipeline.Processor{pre, inf, dec} {
		require.NoError(t, p.Process(ctx, f))
	}
	before := len(f.Objects)
	require.Equal(t, 1, before)
	require.NoError(t, ref.Process(ctx, f))
	assert.Len(t, f.Objects, 1)
	assert.Equal(t, 0, ref.Stats().Passes, "640x480 at input 640 needs no second pass")
}

// TestTilePass checks the tiling arithmetic: tiles cover the frame, their
// keep areas split it without gap or overlap.
func TestTilePass(t *testing.T) {
	for _, c := range []struct {
		w, h   int
		k      float64
		maxW   int
		maxH   int
		fixed  bool
		nTiles int
	}{
		{1920, 1080, 1, 2048, 2048, false, 1},
		{4000, 3000, 1, 2048, 2048, false, 4},
		{1920, 1080, 1, 320, 240, true, 0},
		{640, 480, 0.5, 320, 240, true, 1},
	} {
		t.Run(fmt.Sprintf("%dx%d@%g", c.w, c.h, c.k), func(t *testing.T) {
			ls := tilePass(c.w, c.h, c.k, c.maxW, c.maxH, 64, 40, c.fixed)
			if c.nTiles > 0 {
				assert.Len(t, ls, c.nTiles)
			}
			var area float64
			for _, l := range ls {
				require.Len(t, l.pieces, 1)
				p := l.pieces[0]
				assert.LessOrEqual(t, p.dst.Max.X, l.w)
				assert.LessOrEqual(t, p.dst.Max.Y, l.h)
				assert.True(t, p.src.In(image.Rect(0, 0, c.w, c.h)))
				area += float64(p.keep.W * p.keep.H)
				if c.fixed {
					assert.Equal(t, [2]int{c.maxW, c.maxH}, [2]int{l.w, l.h})
				}
			}
			assert.InDelta(t, float64(c.w*c.h), area, 1)
		})
	}
}

// TestGateSparesUnchangedTiles runs the stages of a line (preprocess, infer,
// decode, refine) on a "video" of 1920x1080 crowd frames: the same crowd
// for 4 frames, then the lower right part of the picture replaced by
// another crowd. The still frames run one tile of the second pass each (the
// refresh) and keep every face found on the first; when part of the picture
// changes, its tiles run and find the new faces at once.
func TestGateSparesUnchangedTiles(t *testing.T) {
	checkMats(t)
	mod, err := Open(Options{Model: asset(t, yunet22), MinFace: 10})
	require.NoError(t, err)
	pre, inf, dec, ref := refineStages(t, mod, nil)

	a, ma := crowd(t, 1920, 1080, 1)
	defer a.Close()
	b, mb := crowd(t, 1920, 1080, 2)
	defer b.Close()
	// The changed picture: a's, with b's lower right quarter.
	changed := a.Clone()
	defer changed.Close()
	quarter := image.Rect(960, 540, 1920, 1080)
	src, dst := b.Region(quarter), changed.Region(quarter)
	src.CopyTo(&dst)
	src.Close()
	dst.Close()
	// The faces of the changed picture: a's outside the quarter, b's
	// inside; faces cut by the quarter's edge are ignore boxes.
	var truthChanged, ignoreChanged []meta.Rect
	split := func(r models.Mosaic, in bool) {
		for _, b := range append(append([]meta.Rect{}, r.Truth...), r.Ignore...) {
			inside := b.X >= 960 && b.Y >= 540
			outside := b.X+b.W <= 960 || b.Y+b.H <= 540
			switch {
			case !inside && !outside:
				ignoreChanged = append(ignoreChanged, b)
			case inside == in && slices.Contains(r.Truth, b):
				truthChanged = append(truthChanged, b)
			case inside == in:
				ignoreChanged = append(ignoreChanged, b)
			}
		}
	}
	split(ma, false)
	split(mb, true)

	ctx := context.Background()
	var first models.Counts
	for n := int64(0); n < 6; n++ {
		img, truth, ignore := a, ma.Truth, ma.Ignore
		if n == 5 {
			img, truth, ignore = changed, truthChanged, ignoreChanged
		}
		f := &pipeline.Frame{SourceID: 3, Number: n, Image: img.Clone()}
		for _, p := range []pipeline.Processor{pre, inf, dec, ref} {
			require.NoError(t, p.Process(ctx, f))
		}
		before := ref.Stats()
		c := models.Match(f.Objects, truth, ignore, 0.5)
		f.Release()
		t.Logf("frame %d: %v; tiles run so far %d of %d", n, c, before.TilesRun, before.Tiles)
		switch {
		case n == 0:
			first = c
			assert.Equal(t, 9, before.TilesRun, "the first frame runs every tile")
		case n < 5:
			assert.Equal(t, 9+int(n), before.TilesRun, "a still frame runs one tile (the refresh)")
			assert.GreaterOrEqual(t, c.Recall(), first.Recall()-0.01, "frame %d keeps what the first found", n)
		default:
			assert.GreaterOrEqual(t, before.TilesRun-(9+4), 4, "the changed quarter's tiles run")
			assert.Less(t, before.TilesRun-(9+4), 9, "the unchanged ones do not")
			assert.GreaterOrEqual(t, c.Recall(), 0.95, "the new faces are found at once")
			assert.GreaterOrEqual(t, c.Precision(), 0.95)
		}
		assert.GreaterOrEqual(t, c.Recall(), 0.95, "frame %d", n)
	}
	// A still picture of a folder is never gated: one pass over the whole
	// picture, no tile.
	st := ref.Stats()
	f := &pipeline.Frame{SourceID: 3, Number: 6, Image: a.Clone(), User: map[string]any{"path": "x.png"}}
	for _, p := range []pipeline.Processor{pre, inf, dec, ref} {
		require.NoError(t, p.Process(ctx, f))
	}
	f.Release()
	assert.Equal(t, st.Tiles, ref.Stats().Tiles)
	assert.Equal(t, st.Passes+1, ref.Stats().Passes)
}

// limitedEngine stands for a TensorRT context whose profile stops at max
// pixels a side: it refuses larger inputs, and records the largest it ran.
type limitedEngine struct {
	Engine
	max     int
	largest int
}

func (e *limitedEngine) Infer(ctx context.Context, in meta.Tensor) ([]meta.Tensor, error) {
	h, w := in.Shape[2], in.Shape[3]
	e.largest = max(e.largest, h, w)
	if h > e.max || w > e.max {
		return nil, fmt.Errorf("input %dx%d is beyond the profile's %d", w, h, e.max)
	}
	return e.Engine.Infer(ctx, in)
}

// TestRefineWithinEngineLimit: with engines that take at most 640 pixels a
// side (EngineMaxSide, a TensorRT profile), the small-face pass tiles and
// packs its inputs to fit, on a still picture and on video, and still finds
// the crowd's faces.
func TestRefineWithinEngineLimit(t *testing.T) {
	checkMats(t)
	mod, err := Open(Options{Model: asset(t, yunet22), MinFace: 10})
	require.NoError(t, err)
	mod.EngineMaxSide = 640
	var engines []*limitedEngine
	pre, inf, dec, ref := refineStages(t, mod, func() (Engine, error) {
		e, err := mod.NewEngine()
		if err != nil {
			return nil, err
		}
		l := &limitedEngine{Engine: e, max: 640}
		engines = append(engines, l)
		return l, nil
	})

	ctx := context.Background()
	for _, still := range []bool{true, false} {
		img, m := crowd(t, 1920, 1080, 2)
		f := &pipeline.Frame{Image: img}
		if still {
			f.User = map[string]any{"path": "crowd.png"} // a picture of a folder: never gated
		}
		for _, p := range []pipeline.Processor{pre, inf, dec, ref} {
			require.NoError(t, p.Process(ctx, f))
		}
		c := models.Match(f.Objects, m.Truth, m.Ignore, 0.5)
		t.Logf("still %v: %v", still, c)
		assert.GreaterOrEqual(t, c.Recall(), 0.95, "still %v", still)
		f.Release()
	}
	require.Len(t, engines, 2)
	for _, e := range engines {
		assert.Positive(t, e.largest, "both engines ran")
		assert.LessOrEqual(t, e.largest, 640)
	}
}
