package post

import (
	"context"
	"image"
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

// noiseFrame is a frame of sharp random texture, so that blurring shows.
func noiseFrame(t *testing.T) *pipeline.Frame {
	t.Helper()
	m := gocv.NewMatWithSize(240, 320, gocv.MatTypeCV8UC3)
	gocv.RandU(&m, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	return &pipeline.Frame{Image: m, Objects: []meta.Object{{Label: "face", Score: 0.9, Box: meta.Rect{X: 100, Y: 60, W: 80, H: 100}}}}
}

// sharpness is the variance of the Laplacian inside r: high for detail, low
// for blur.
func sharpness(t *testing.T, img gocv.Mat, r image.Rectangle) float64 {
	t.Helper()
	region := img.Region(r)
	defer region.Close()
	gray, lap := gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer lap.Close()
	gocv.CvtColor(region, &gray, gocv.ColorBGRToGray)
	gocv.Laplacian(gray, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderDefault)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s
}

func equalRegion(t *testing.T, a, b gocv.Mat, r image.Rectangle) bool {
	t.Helper()
	ra, rb := a.Region(r), b.Region(r)
	defer ra.Close()
	defer rb.Close()
	diff := gocv.NewMat()
	defer diff.Close()
	gocv.AbsDiff(ra, rb, &diff)
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(diff, &gray, gocv.ColorBGRToGray)
	return gocv.CountNonZero(gray) == 0
}

func TestBlurHidesTheFaceAndNothingElse(t *testing.T) {
	face := image.Rect(110, 70, 170, 150) // inside the box, inside the ellipse
	corner := image.Rect(90, 45, 96, 51)  // inside the padded box, outside the ellipse
	outside := image.Rect(0, 0, 80, 240)
	cases := []struct {
		opts          BlurOptions
		cornerChanges bool
	}{
		{BlurOptions{Mode: Gaussian, Shape: Ellipse, Pad: 0.15, Strength: 0.5}, false},
		{BlurOptions{Mode: Gaussian, Pad: 0.15, Strength: 0.5}, true},
		{BlurOptions{Mode: Pixelate, Shape: Ellipse, Pad: 0.15, Blocks: 8}, false},
		{BlurOptions{Mode: Pixelate, Pad: 0.15, Blocks: 8}, true},
		{BlurOptions{Mode: Solid, Shape: Ellipse, Pad: 0.15}, false},
		{BlurOptions{Mode: Solid, Pad: 0.15}, true},
	}
	for _, tc := range cases {
		name := string(tc.opts.Mode)
		if tc.opts.Shape == Ellipse {
			name += "/ellipse"
		}
		t.Run(name, func(t *testing.T) {
			f := noiseFrame(t)
			defer f.Release()
			orig := f.Image.Clone()
			defer orig.Close()
			b, err := NewBlur(tc.opts)
			require.NoError(t, err)
			defer b.Close()
			require.NoError(t, b.Process(context.Background(), f))

			before, after := sharpness(t, orig, face), sharpness(t, f.Image, face)
			assert.Greater(t, before/(after+1e-9), 20.0, "sharpness inside the face drops by a large factor (%.0f → %.0f)", before, after)
			assert.True(t, equalRegion(t, orig, f.Image, outside), "the rest of the frame is untouched")
			assert.Equal(t, !tc.cornerChanges, equalRegion(t, orig, f.Image, corner), "ellipse leaves the box's corners alone")
		})
	}
}

func TestBlurNoneAndLabels(t *testing.T) {
	f := noiseFrame(t)
	defer f.Release()
	orig := f.Image.Clone()
	defer orig.Close()
	all := image.Rect(0, 0, 320, 240)
	for _, opts := range []BlurOptions{{Mode: NoBlur}, {Mode: Gaussian, Strength: 0.5, Labels: []string{"plate"}}} {
		b, err := NewBlur(opts)
		require.NoError(t, err)
		require.NoError(t, b.Process(context.Background(), f))
		require.NoError(t, b.Close())
		require.NoError(t, b.Close(), "Close is idempotent")
		assert.True(t, equalRegion(t, orig, f.Image, all))
	}
}

func TestBlurBoxesAtTheEdgeAndOutside(t *testing.T) {
	f := noiseFrame(t)
	defer f.Release()
	f.Objects = []meta.Object{
		{Label: "face", Box: meta.Rect{X: -30, Y: -30, W: 60, H: 60}},
		{Label: "face", Box: meta.Rect{X: 300, Y: 220, W: 60, H: 60}},
		{Label: "face", Box: meta.Rect{X: 1000, Y: 1000, W: 10, H: 10}},
		{Label: "face", Box: meta.Rect{X: 10, Y: 10, W: 0, H: 0}},
	}
	for _, mode := range []BlurMode{Gaussian, Pixelate, Solid} {
		b, err := NewBlur(BlurOptions{Mode: mode, Shape: Ellipse, Pad: 0.2, Strength: 0.5, Blocks: 4})
		require.NoError(t, err)
		require.NoError(t, b.Process(context.Background(), f))
		require.NoError(t, b.Close())
	}
}

func TestBlurOptionsValidate(t *testing.T) {
	cases := []struct {
		opts BlurOptions
		want string
	}{
		{BlurOptions{Mode: "smudge"}, "smudge"},
		{BlurOptions{Mode: Gaussian, Pad: -1, Strength: 1}, "pad"},
		{BlurOptions{Mode: Gaussian, Strength: 0}, "strength"},
		{BlurOptions{Mode: Pixelate, Blocks: 0}, "blocks"},
	}
	for _, tc := range cases {
		_, err := NewBlur(tc.opts)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	require.NoError(t, DefaultBlurOptions().Validate())
}

func TestOSDDrawsOnlyWhatItIsAskedTo(t *testing.T) {
	f := noiseFrame(t)
	defer f.Release()
	f.Objects[0].TrackID = 4
	f.Objects[0].Distance = 1.42
	f.Objects[0].Landmarks = []meta.Point{{X: 120, Y: 90}}
	orig := f.Image.Clone()
	defer orig.Close()
	all := image.Rect(0, 0, 320, 240)

	off := NewOSD(OSDOptions{})
	require.NoError(t, off.Process(context.Background(), f))
	assert.True(t, equalRegion(t, orig, f.Image, all))

	on := NewOSD(OSDOptions{Boxes: true, Labels: true, Landmarks: true, FPS: true})
	for i := 0; i < 3; i++ {
		require.NoError(t, on.Process(context.Background(), f))
	}
	require.NoError(t, on.Close())
	assert.False(t, equalRegion(t, orig, f.Image, image.Rect(99, 59, 102, 161)), "box edge drawn")
	assert.Equal(t, "face 0.90 #4 1.42m", Caption(f.Objects[0]))
}

// TestOSDForgetsEndedSources: the per-source frame rate goes with its
// source, so that sources that come and go do not grow the OSD.
func TestOSDForgetsEndedSources(t *testing.T) {
	o := NewOSD(OSDOptions{FPS: true})
	img := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer img.Close()
	ctx := context.Background()
	for id := 0; id < 3; id++ {
		for i := 0; i < 2; i++ {
			require.NoError(t, o.Process(ctx, &pipeline.Frame{SourceID: id, Image: img}))
		}
	}
	require.Len(t, o.lastArr, 3)
	require.NoError(t, o.EndSource(ctx, &pipeline.SourceEnd{SourceID: 1}))
	assert.Len(t, o.lastArr, 2)
	assert.NotContains(t, o.fps, 1)
	assert.Contains(t, o.lastArr, 2)
}

// TestOSDNeverDrawsAPassword (issue 13, item 3): the source name the OSD
// burns into the picture has its password hidden, even one Go's URL parser
// rejects: the pixels are those of the redacted name.
func TestOSDNeverDrawsAPassword(t *testing.T) {
	draw := func(name string) gocv.Mat {
		img := gocv.NewMatWithSize(120, 640, gocv.MatTypeCV8UC3)
		f := &pipeline.Frame{SourceName: name, Number: 7, Image: img}
		require.NoError(t, NewOSD(OSDOptions{FPS: true}).Process(context.Background(), f))
		return img
	}
	all := image.Rect(0, 0, 640, 120)
	for _, secret := range []string{"rtsp://admin:50%off!@cam/x", "rtsp://admin:pa#ss@cam/x", "rtsp://cam/x?password=hunter2"} {
		got, want := draw(secret), draw(meta.RedactURI(secret))
		clear := gocv.NewMatWithSize(120, 640, gocv.MatTypeCV8UC3)
		gocv.PutText(&clear, secret+" #7  0.0 fps", image.Pt(8, 20), gocv.FontHersheySimplex, 0.55, textColor, 1)
		assert.True(t, equalRegion(t, want, got, all), "%s: the OSD draws the redacted name", secret)
		assert.False(t, equalRegion(t, clear, got, all), "%s: not the name in clear", secret)
		for _, m := range []gocv.Mat{got, want, clear} {
			require.NoError(t, m.Close())
		}
	}
}
