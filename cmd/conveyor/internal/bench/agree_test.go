package bench

import (
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgree(t *testing.T) {
	a := Box{X: 0, Y: 0, W: 10, H: 10, Score: 0.9}
	b := Box{X: 100, Y: 100, W: 20, H: 20, Score: 0.9}
	aShift := Box{X: 1, Y: 0, W: 10, H: 10, Score: 0.8} // IoU 90/110
	far := Box{X: 50, Y: 50, W: 10, H: 10}
	tests := []struct {
		name     string
		ref, got [][]Box
		want     Agreement
	}{
		{
			name: "nothing found by either",
			ref:  [][]Box{{}, {}},
			got:  [][]Box{{}, {}},
			want: Agreement{Frames: 2, SameCount: 2, SameCountPct: 100, MeanIoU: 1, MinIoU: 1},
		},
		{
			name: "identical",
			ref:  [][]Box{{a, b}, {}, {a}},
			got:  [][]Box{{b, a}, {}, {a}},
			want: Agreement{Frames: 3, SameCount: 3, SameCountPct: 100, Matched: 3, MeanIoU: 1, MinIoU: 1},
		},
		{
			name: "shifted box",
			ref:  [][]Box{{a}},
			got:  [][]Box{{aShift}},
			want: Agreement{Frames: 1, SameCount: 1, SameCountPct: 100, Matched: 1, MeanIoU: 90.0 / 110, MinIoU: 90.0 / 110},
		},
		{
			name: "missing and extra",
			ref:  [][]Box{{a, b}, {a}},
			got:  [][]Box{{a}, {a, far}},
			want: Agreement{Frames: 2, SameCount: 0, SameCountPct: 0, Matched: 2, Missing: 1, Extra: 1, MeanIoU: 1, MinIoU: 1},
		},
		{
			name: "a frame that never came out is left out",
			ref:  [][]Box{{a}, {a}, {a}},
			got:  [][]Box{{a}, nil},
			want: Agreement{Frames: 1, SameCount: 1, SameCountPct: 100, Matched: 1, MeanIoU: 1, MinIoU: 1},
		},
		{
			name: "nothing matches",
			ref:  [][]Box{{a}},
			got:  [][]Box{{far}},
			want: Agreement{Frames: 1, SameCount: 1, SameCountPct: 100, Missing: 1, Extra: 1, MeanIoU: 0, MinIoU: 0},
		},
		{
			name: "one to one: two boxes cannot both match one",
			ref:  [][]Box{{a}},
			got:  [][]Box{{a, aShift}},
			want: Agreement{Frames: 1, Matched: 1, Extra: 1, MeanIoU: 1, MinIoU: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Agree("ref", tc.ref, tc.got)
			tc.want.Reference = "ref"
			assert.InDelta(t, tc.want.MeanIoU, got.MeanIoU, 1e-5)
			assert.InDelta(t, tc.want.MinIoU, got.MinIoU, 1e-5)
			got.MeanIoU, got.MinIoU, tc.want.MeanIoU, tc.want.MinIoU = 0, 0, 0, 0
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBoxesOf(t *testing.T) {
	got := boxesOf(nil)
	require.NotNil(t, got, "a frame with no detections must differ from a frame that never came out")
	assert.Empty(t, got)
	got = boxesOf([]meta.Object{{Box: meta.Rect{X: 1, Y: 2, W: 3, H: 4}, Score: 0.5}})
	assert.Equal(t, []Box{{X: 1, Y: 2, W: 3, H: 4, Score: 0.5}}, got)
}
