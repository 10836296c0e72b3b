package depth

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// matCount is MatProfile.Count under -tags matprofile, else 0.
func checkMats(t *testing.T) {
	t.Helper()
	start := matCount()
	t.Cleanup(func() { assert.Equal(t, start, matCount(), "Mats leaked") })
}

// depthMap makes a w x h Z16 map filled with bg, with the rectangle r set to
// v, and every 10th pixel of r zeroed when holes is set.
func depthMap(t *testing.T, w, h int, bg uint16, r meta.Rect, v uint16, holes bool) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV16UC1)
	data, err := m.DataPtrUint16()
	require.NoError(t, err)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			val := bg
			if x >= int(r.X) && x < int(r.X+r.W) && y >= int(r.Y) && y < int(r.Y+r.H) {
				val = v
				if holes && (x+y*w)%10 == 0 {
					val = 0
				}
			}
			data[y*w+x] = val
		}
	}
	return m
}

func TestMeasure(t *testing.T) {
	checkMats(t)
	face := meta.Rect{X: 40, Y: 30, W: 40, H: 40}
	tests := []struct {
		name      string
		opts      Options
		bg, v     uint16
		holes     bool
		box       meta.Rect
		want      float32
		wantValid float32
	}{
		{name: "median inside the box", bg: 3000, v: 1250, box: face, want: 1.25, wantValid: 1},
		{name: "zeros excluded", bg: 3000, v: 1250, holes: true, box: face, want: 1.25, wantValid: 0.875},
		// The whole box is measured: a 60x60 box around the 40x40 face holds
		// 1600 face pixels of 3600: the median is background.
		{name: "loose box whole", opts: Options{Inner: 1}, bg: 3000, v: 1250, box: meta.Rect{X: 30, Y: 20, W: 60, H: 60}, want: 3, wantValid: 1},
		{name: "loose box inner", opts: Options{Inner: 0.5}, bg: 3000, v: 1250, box: meta.Rect{X: 30, Y: 20, W: 60, H: 60}, want: 1.25, wantValid: 1},
		{name: "low percentile finds the near part", opts: Options{Inner: 1, Percentile: 10}, bg: 3000, v: 1250, box: meta.Rect{X: 30, Y: 20, W: 60, H: 60}, want: 1.25, wantValid: 1},
		{name: "no depth at all", bg: 0, v: 0, box: face, want: 0, wantValid: 0},
		{name: "too few valid", opts: Options{MinValid: 0.95}, bg: 3000, v: 1250, holes: true, box: face, want: 0, wantValid: 0.875},
		{name: "box outside the map", bg: 3000, v: 1250, box: meta.Rect{X: 500, Y: 500, W: 10, H: 10}, want: 0, wantValid: 0},
		{name: "box clipped at the edge", opts: Options{Inner: 1}, bg: 3000, v: 1250, box: meta.Rect{X: 100, Y: 70, W: 100, H: 100}, want: 3, wantValid: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := depthMap(t, 120, 90, tc.bg, face, tc.v, tc.holes)
			defer m.Close()
			p, err := New(tc.opts)
			require.NoError(t, err)
			defer p.Close()
			got, valid, err := p.Measure(m, 0.001, tc.box)
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-4)
			assert.InDelta(t, tc.wantValid, valid, 0.005)
		})
	}
}

func TestMeasureRejectsWrongType(t *testing.T) {
	checkMats(t)
	m := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer m.Close()
	p, err := New(Options{})
	require.NoError(t, err)
	_, _, err = p.Measure(m, 0.001, meta.Rect{W: 5, H: 5})
	assert.ErrorContains(t, err, "CV_16UC1")
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		vals []uint16
		q    float32
		want uint16
	}{
		{[]uint16{5}, 50, 5},
		{[]uint16{3, 1, 2}, 50, 2},
		{[]uint16{4, 1, 3, 2}, 50, 2},
		{[]uint16{9, 9, 9, 1, 1}, 50, 9},
		{[]uint16{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 10, 10},
		{[]uint16{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 100, 100},
		{[]uint16{100, 90, 80, 70, 60, 50, 40, 30, 20, 10}, 90, 90},
	}
	for _, tc := range tests {
		got := percentile(append([]uint16(nil), tc.vals...), tc.q)
		assert.Equal(t, tc.want, got, "%v at %v", tc.vals, tc.q)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{{Inner: -0.1}, {Inner: 1.5}, {Percentile: 101}, {MinValid: 2}, {MaxDistance: -1}} {
		_, err := New(o)
		assert.Error(t, err, "%+v", o)
	}
}

func TestProcess(t *testing.T) {
	checkMats(t)
	near := meta.Rect{X: 10, Y: 10, W: 20, H: 20}
	far := meta.Rect{X: 60, Y: 40, W: 20, H: 20}
	m := depthMap(t, 120, 90, 4000, near, 1250, false)
	defer m.Close()

	p, err := New(Options{MaxDistance: 3})
	require.NoError(t, err)
	f := &pipeline.Frame{Depth: m, DepthScale: 0.001, Objects: []meta.Object{
		{Box: near, Label: "near"}, {Box: far, Label: "far"}, {Box: meta.Rect{X: 900, Y: 900, W: 5, H: 5}, Label: "outside"},
	}}
	require.NoError(t, p.Process(context.Background(), f))
	require.Len(t, f.Objects, 2, "the far object (4 m) is beyond 3 m")
	assert.Equal(t, "near", f.Objects[0].Label)
	assert.InDelta(t, 1.25, f.Objects[0].Distance, 1e-4)
	assert.Equal(t, "outside", f.Objects[1].Label)
	assert.Zero(t, f.Objects[1].Distance, "unknown distance is kept as 0")

	// No depth: objects untouched.
	f2 := &pipeline.Frame{Objects: []meta.Object{{Box: near}}}
	require.NoError(t, p.Process(context.Background(), f2))
	assert.Zero(t, f2.Objects[0].Distance)

	// Depth without a scale: this frame is skipped.
	f3 := &pipeline.Frame{Depth: m, Objects: []meta.Object{{Box: near}}}
	err = p.Process(context.Background(), f3)
	assert.True(t, errors.Is(err, pipeline.ErrSkipFrame), "%v", err)
}

func TestColorize(t *testing.T) {
	checkMats(t)
	near := meta.Rect{X: 0, Y: 0, W: 10, H: 10}
	m := depthMap(t, 40, 20, 5000, near, 200, false)
	defer m.Close()
	data, err := m.DataPtrUint16()
	require.NoError(t, err)
	data[15*40+30] = 0 // a hole

	c, err := NewColorizer(5)
	require.NoError(t, err)
	defer c.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	for i := 0; i < 2; i++ { // the second pass reuses dst
		require.NoError(t, c.Colorize(m, 0.001, &dst))
	}
	require.Equal(t, gocv.MatTypeCV8UC3, dst.Type())
	at := func(y, x int) [3]uint8 {
		v := dst.GetVecbAt(y, x)
		return [3]uint8{v[0], v[1], v[2]}
	}
	assert.Equal(t, [3]uint8{0, 0, 0}, at(15, 30), "no depth is black")
	nb := at(5, 5) // 0.2 m: near is red (B, G, R)
	assert.Greater(t, int(nb[2]), int(nb[0]), "near is red: %v", nb)
	fb := at(15, 20) // 5 m: far is blue
	assert.Greater(t, int(fb[0]), int(fb[2]), "far is blue: %v", fb)

	_, err = NewColorizer(0)
	assert.Error(t, err)
	bad := gocv.NewMatWithSize(2, 2, gocv.MatTypeCV8UC1)
	defer bad.Close()
	assert.Error(t, c.Colorize(bad, 0.001, &dst))
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
}
