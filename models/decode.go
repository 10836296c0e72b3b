package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// FaceLabel is the label of every object the face detectors find.
const FaceLabel = "face"

// maxLandmarks is the most landmark points a candidate carries.
const maxLandmarks = 5

// candidate is one box above threshold, in network-input pixels, corners.
type candidate struct {
	x1, y1, x2, y2 float32
	score          float32
	lm             [2 * maxLandmarks]float32
}

// decodeBase holds what every decoder shares: options, the candidate buffer
// and NMS scratch, all reused across calls.
type decodeBase struct {
	spec  Spec
	opts  DecoderOptions
	cands []candidate
	order []int
	keep  []int
}

func (d *decodeBase) reset() { d.cands = d.cands[:0] }

// add keeps a candidate if its score passes the threshold and its box is
// finite and non-empty.
func (d *decodeBase) add(c candidate) {
	if !(c.score >= d.opts.ScoreThreshold) { // also false for NaN
		return
	}
	if !finite(c.x1) || !finite(c.y1) || !finite(c.x2) || !finite(c.y2) || c.x2 <= c.x1 || c.y2 <= c.y1 {
		return
	}
	d.cands = append(d.cands, c)
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// finish runs NMS on the candidates and maps the survivors to frame
// coordinates. It allocates the returned objects and one array for all
// their landmarks.
func (d *decodeBase) finish(g meta.Geometry, landmarks int) []meta.Object {
	d.order = d.order[:0]
	for i := range d.cands {
		d.order = append(d.order, i)
	}
	cands := d.cands
	slices.SortStableFunc(d.order, func(a, b int) int {
		sa, sb := cands[a].score, cands[b].score
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	d.keep = d.keep[:0]
	for _, i := range d.order {
		if len(d.keep) >= d.opts.MaxObjects {
			break
		}
		c := &cands[i]
		ok := true
		for _, k := range d.keep {
			if iouCorners(c, &cands[k]) > d.opts.NMSThreshold {
				ok = false
				break
			}
		}
		if ok {
			d.keep = append(d.keep, i)
		}
	}
	objs := make([]meta.Object, 0, len(d.keep))
	var pts []meta.Point
	if landmarks > 0 {
		pts = make([]meta.Point, len(d.keep)*landmarks)
	}
	fw, fh := float32(g.FrameW), float32(g.FrameH)
	for _, i := range d.keep {
		c := &cands[i]
		x1, y1 := g.ToFrame(c.x1, c.y1)
		x2, y2 := g.ToFrame(c.x2, c.y2)
		x1, x2 = clamp(x1, 0, fw), clamp(x2, 0, fw)
		y1, y2 = clamp(y1, 0, fh), clamp(y2, 0, fh)
		if !(x2 > x1 && y2 > y1) || x2-x1 < d.opts.MinSize || y2-y1 < d.opts.MinSize {
			continue
		}
		o := meta.Object{
			Box:   meta.Rect{X: x1, Y: y1, W: x2 - x1, H: y2 - y1},
			Score: c.score,
			Label: FaceLabel,
		}
		if landmarks > 0 {
			lm := pts[:landmarks:landmarks]
			pts = pts[landmarks:]
			for n := range lm {
				x, y := g.ToFrame(c.lm[2*n], c.lm[2*n+1])
				lm[n] = meta.Point{X: clamp(x, 0, fw), Y: clamp(y, 0, fh)}
			}
			o.Landmarks = lm
		}
		objs = append(objs, o)
	}
	return objs
}

func clamp(v, lo, hi float32) float32 {
	if v < lo || v != v {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func clamp01(v float32) float32 { return clamp(v, 0, 1) }

func iouCorners(a, b *candidate) float32 {
	iw := min(a.x2, b.x2) - max(a.x1, b.x1)
	ih := min(a.y2, b.y2) - max(a.y1, b.y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// IoU is the intersection over union of two boxes (0 when either is empty).
func IoU(a, b meta.Rect) float32 {
	ca := candidate{x1: a.X, y1: a.Y, x2: a.X + a.W, y2: a.Y + a.H}
	cb := candidate{x1: b.X, y1: b.Y, x2: b.X + b.W, y2: b.Y + b.H}
	if ca.x2 <= ca.x1 || ca.y2 <= ca.y1 || cb.x2 <= cb.x1 || cb.y2 <= cb.y1 {
		return 0
	}
	return iouCorners(&ca, &cb)
}

// NMSObjects runs NMS over objects: it keeps the best-scored of objects
// whose boxes overlap by more than iou, best first (objs itself when it
// has fewer than two).
func NMSObjects(objs []meta.Object, iou float32) []meta.Object {
	if len(objs) < 2 {
		return objs
	}
	boxes := make([]meta.Rect, len(objs))
	scores := make([]float32, len(objs))
	for i, o := range objs {
		boxes[i], scores[i] = o.Box, o.Score
	}
	keep := NMS(boxes, scores, iou, nil)
	out := make([]meta.Object, len(keep))
	for i, k := range keep {
		out[i] = objs[k]
	}
	return out
}

// NMS is greedy non-maximum suppression: it visits boxes by descending score
// (ties in index order) and keeps a box unless its IoU with a box already
// kept exceeds iou. It returns the kept indices, best first, appended to
// keep[:0] (pass nil to allocate).
func NMS(boxes []meta.Rect, scores []float32, iou float32, keep []int) []int {
	n := min(len(boxes), len(scores))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	keep = keep[:0]
	for _, i := range order {
		ok := true
		for _, k := range keep {
			if IoU(boxes[i], boxes[k]) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	return keep
}

// tensorSet finds tensors by name and checks their element counts.
func findTensor(outputs []meta.Tensor, name string, want int, decoder string) ([]float32, error) {
	for i := range outputs {
		if outputs[i].Name == name {
			if got := len(outputs[i].Data); got != want {
				return nil, fmt.Errorf("models: %s: output %s has %d values (shape %v), the input size implies %d",
					decoder, name, got, outputs[i].Shape, want)
			}
			return outputs[i].Data, nil
		}
	}
	names := make([]string, len(outputs))
	for i := range outputs {
		names[i] = outputs[i].Name
	}
	return nil, fmt.Errorf("models: %s: no output named %s among %v", decoder, name, names)
}

// checkGeometry rejects geometries a decoder cannot work with.
func checkGeometry(g meta.Geometry, decoder string, multiple int) error {
	if g.InputW <= 0 || g.InputH <= 0 || g.InputW > maxInputSide || g.InputH > maxInputSide {
		return fmt.Errorf("models: %s: bad input size %dx%d", decoder, g.InputW, g.InputH)
	}
	if g.FrameW <= 0 || g.FrameH <= 0 || g.FrameW > 1<<16 || g.FrameH > 1<<16 {
		return fmt.Errorf("models: %s: bad frame size %dx%d", decoder, g.FrameW, g.FrameH)
	}
	if !(g.ScaleX >= 0) || !(g.ScaleY >= 0) || !finite(g.ScaleX) || !finite(g.ScaleY) || !finite(g.PadX) || !finite(g.PadY) {
		return fmt.Errorf("models: %s: bad geometry scale (%v, %v) pad (%v, %v)", decoder, g.ScaleX, g.ScaleY, g.PadX, g.PadY)
	}
	if multiple > 1 && (g.InputW%multiple != 0 || g.InputH%multiple != 0) {
		return fmt.Errorf("models: %s: input %dx%d is not a multiple of %d", decoder, g.InputW, g.InputH, multiple)
	}
	return nil
}

func exp32(v float32) float32 { return float32(math.Exp(float64(v))) }
