package models

import (
	"image"
	"image/color"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

func TestBuildMosaic(t *testing.T) {
	set, err := ReadDlibFaces(assetPath(t, DlibFaces))
	require.NoError(t, err)
	require.Len(t, set, 4)
	// The unlabelled background faces are ignore boxes.
	ignored := 0
	for _, li := range set {
		ignored += len(li.Ignore)
	}
	assert.Equal(t, 3, ignored)
	for _, sz := range [][2]int{{1600, 900}, {1920, 1080}} {
		o := MosaicOptions{W: sz[0], H: sz[1], MinFace: 10, MaxFace: 30, Seed: 1}
		m, err := BuildMosaic(set, o)
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, sz[0], sz[1]), m.Image.Bounds())
		assert.Greater(t, len(m.Truth), 100, "a crowd")
		frame := meta.Rect{W: float32(sz[0]), H: float32(sz[1])}
		for _, b := range append(append([]meta.Rect{}, m.Truth...), m.Ignore...) {
			assert.True(t, b.X >= 0 && b.Y >= 0 && b.X+b.W <= frame.W && b.Y+b.H <= frame.H, "box %v outside", b)
		}
		for _, b := range m.Truth {
			assert.GreaterOrEqual(t, min(b.W, b.H), float32(10))
			assert.LessOrEqual(t, b.W, float32(30.01), "no face larger than asked for")
		}
		again, err := BuildMosaic(set, o)
		require.NoError(t, err)
		assert.Equal(t, m.Truth, again.Truth, "the same seed gives the same crowd")
		assert.Equal(t, m.Image.Pix, again.Image.Pix)
		o.Seed = 2
		other, err := BuildMosaic(set, o)
		require.NoError(t, err)
		assert.NotEqual(t, m.Truth, other.Truth)
	}
	for _, o := range []MosaicOptions{{W: 10, H: 900, MinFace: 10, MaxFace: 30}, {W: 1600, H: 900, MinFace: 30, MaxFace: 10}} {
		_, err := BuildMosaic(set, o)
		assert.Error(t, err)
	}
	_, err = BuildMosaic(nil, MosaicOptions{W: 100, H: 100, MinFace: 1, MaxFace: 2})
	assert.ErrorContains(t, err, "no labelled image")
}

// TestResizeArea: area averaging keeps a flat colour flat, averages a
// checkerboard to grey, and keeps the mean of any picture.
func TestResizeArea(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 40, 30))
	var sum float64
	for y := range 30 {
		for x := range 40 {
			v := uint8(0)
			if (x+y)%2 == 0 {
				v = 200
			}
			src.Set(x, y, color.RGBA{v, v, v, 255})
			sum += float64(v)
		}
	}
	dst := resizeArea(src, 10, 7)
	var dsum float64
	for y := range 7 {
		for x := range 10 {
			r := dst.RGBAAt(x, y).R
			assert.InDelta(t, 100, float64(r), 12, "(%d,%d)", x, y)
			dsum += float64(r)
		}
	}
	assert.InDelta(t, sum/1200, dsum/70, 2, "the mean is kept")
}

func TestHidden(t *testing.T) {
	face := meta.Rect{X: 10, Y: 10, W: 20, H: 20}
	assert.Equal(t, float32(1), Hidden(face, []meta.Rect{{X: 0, Y: 0, W: 50, H: 50}}, false))
	assert.Equal(t, float32(0), Hidden(face, []meta.Rect{{X: 100, Y: 0, W: 50, H: 50}}, false))
	assert.InDelta(t, 0.5, Hidden(face, []meta.Rect{{X: 0, Y: 0, W: 20, H: 50}}, false), 0.01, "the left half")
	// An ellipse inscribed in the face's own box hides pi/4 of it.
	assert.InDelta(t, 0.785, Hidden(face, []meta.Rect{face}, true), 0.01)
	// Two regions: their union.
	assert.Equal(t, float32(1), Hidden(face, []meta.Rect{{X: 0, Y: 0, W: 20, H: 50}, {X: 20, Y: 0, W: 20, H: 50}}, false))
	assert.Equal(t, float32(1), Hidden(meta.Rect{}, nil, true), "an empty face")
}
