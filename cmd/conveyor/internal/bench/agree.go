package bench

import (
	"math"
	"sort"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Box is one detection as the bench keeps it: a box in frame pixels and its
// score.
type Box struct {
	X     float32 `json:"x"`
	Y     float32 `json:"y"`
	W     float32 `json:"w"`
	H     float32 `json:"h"`
	Score float32 `json:"score"`
}

func (b Box) rect() meta.Rect { return meta.Rect{X: b.X, Y: b.Y, W: b.W, H: b.H} }

// boxesOf copies a frame's detections. The result is never nil, so that a
// frame with no detections differs from a frame that never came out (nil).
func boxesOf(objs []meta.Object) []Box {
	out := make([]Box, len(objs))
	for i, o := range objs {
		out[i] = Box{X: o.Box.X, Y: o.Box.Y, W: o.Box.W, H: o.Box.H, Score: o.Score}
	}
	return out
}

// MatchIoU is the IoU at which two boxes count as the same face.
const MatchIoU = 0.5

// Agreement says how closely one mode's detections follow the reference
// mode's, frame by frame: speed must never be bought with wrong answers.
type Agreement struct {
	// Reference is the mode compared against.
	Reference string `json:"reference"`
	// Frames is the number of frames both modes put out; SameCount of them
	// have the same number of detections in both.
	Frames       int     `json:"frames"`
	SameCount    int     `json:"same_count"`
	SameCountPct float64 `json:"same_count_pct"`
	// Matched boxes overlap a reference box with IoU >= MatchIoU (one to
	// one, best first); Missing are reference boxes with no match, Extra
	// boxes of this mode with none.
	Matched int `json:"matched"`
	Missing int `json:"missing"`
	Extra   int `json:"extra"`
	// MeanIoU and MinIoU are over the matched boxes: 1 when neither mode
	// found anything, 0 when there were boxes and none matched.
	MeanIoU float64 `json:"mean_iou"`
	MinIoU  float64 `json:"min_iou"`
}

// Agree compares got with ref frame by frame (index = frame). A nil frame
// (one that never came out) on either side is left out.
func Agree(reference string, ref, got [][]Box) Agreement {
	a := Agreement{Reference: reference, MeanIoU: 1, MinIoU: 1}
	sum, minIoU := 0.0, math.Inf(1)
	for i := 0; i < len(ref) && i < len(got); i++ {
		if ref[i] == nil || got[i] == nil {
			continue
		}
		a.Frames++
		if len(ref[i]) == len(got[i]) {
			a.SameCount++
		}
		ious := matchBoxes(ref[i], got[i])
		for _, v := range ious {
			sum += v
			minIoU = math.Min(minIoU, v)
		}
		a.Matched += len(ious)
		a.Missing += len(ref[i]) - len(ious)
		a.Extra += len(got[i]) - len(ious)
	}
	if a.Frames > 0 {
		a.SameCountPct = 100 * float64(a.SameCount) / float64(a.Frames)
	}
	switch {
	case a.Matched > 0:
		a.MeanIoU = sum / float64(a.Matched)
		a.MinIoU = minIoU
	case a.Missing+a.Extra > 0: // boxes, none alike
		a.MeanIoU, a.MinIoU = 0, 0
	}
	return a
}

// matchBoxes pairs boxes one to one, highest IoU first, and returns the IoU
// of each pair at or above MatchIoU.
func matchBoxes(ref, got []Box) []float64 {
	type pair struct {
		i, j int
		iou  float64
	}
	var pairs []pair
	for i := range ref {
		for j := range got {
			if v := float64(models.IoU(ref[i].rect(), got[j].rect())); v >= MatchIoU {
				pairs = append(pairs, pair{i, j, v})
			}
		}
	}
	sort.SliceStable(pairs, func(a, b int) bool { return pairs[a].iou > pairs[b].iou })
	usedR, usedG := make([]bool, len(ref)), make([]bool, len(got))
	var out []float64
	for _, p := range pairs {
		if usedR[p.i] || usedG[p.j] {
			continue
		}
		usedR[p.i], usedG[p.j] = true, true
		out = append(out, p.iou)
	}
	return out
}
