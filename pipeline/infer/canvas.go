package infer

import (
	"image"
	"math"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// A canvas is one network input made of pieces of a frame, each scaled on
// its own: the tiles of a pass over a large frame, or the crops around the
// places where a face may be (nvdspreprocess's regions of interest, batched
// into one picture). Detections found on the canvas go back to the frame
// through the piece they fall in.

// piece is a region of the frame (src, in frame pixels) drawn scaled by k
// into dst (canvas pixels). keep is the part of the frame whose detections
// this piece reports (a tile's share of the frame, a crop's proposal grown
// a little): a detection whose centre maps outside keep is left to another
// piece.
type piece struct {
	src  image.Rectangle
	dst  image.Rectangle
	k    float64
	keep meta.Rect
}

// toFrame maps a canvas point into the frame.
func (p piece) toFrame(x, y float32) (float32, float32) {
	return float32(float64(p.src.Min.X) + (float64(x)-float64(p.dst.Min.X))/p.k),
		float32(float64(p.src.Min.Y) + (float64(y)-float64(p.dst.Min.Y))/p.k)
}

// layout is one canvas: its size and its pieces.
type layout struct {
	w, h   int
	pieces []piece
}

// canvasGap is the empty border between pieces on a canvas, in canvas
// pixels: enough that a detector's box does not straddle two pieces.
const canvasGap = 8

// canvasLimits bound the canvases packCrops makes.
type canvasLimits struct {
	// fixedW, fixedH: a fixed-size model's only input size (every canvas is
	// exactly this); 0 for a model that runs at any size.
	fixedW, fixedH int
	// minSide, maxSide bound an any-size canvas; mult rounds its sides up.
	minSide, maxSide, mult int
}

// roundUp rounds v up to a multiple of m (m >= 1).
func roundUp(v, m int) int { return (v + m - 1) / m * m }

// packCrops places crops (their sizes on the canvas: already scaled) on as
// few canvases as it takes, shelf by shelf (rows of pieces, left to right),
// with canvasGap between them. An any-size canvas is as wide as the square
// root of the crops' area suggests (within the limits) and only as tall as
// its shelves; its sides are multiples of lim.mult, so that few distinct
// input shapes reach the network. It returns, for each canvas, the crops'
// indices and their places.
func packCrops(sizes []image.Point, lim canvasLimits) []layoutPlan {
	if len(sizes) == 0 {
		return nil
	}
	w, maxH := lim.fixedW, lim.fixedH
	if w == 0 {
		area, widest := 0, 0
		for _, s := range sizes {
			area += (s.X + canvasGap) * (s.Y + canvasGap)
			widest = max(widest, s.X+canvasGap)
		}
		w = int(math.Ceil(math.Sqrt(float64(area)) * 1.15))
		w = min(max(w, widest, lim.minSide), lim.maxSide)
		w = roundUp(w, lim.mult)
		maxH = lim.maxSide
	}
	var plans []layoutPlan
	cur := layoutPlan{w: w}
	x, y, shelf := 0, 0, 0
	flush := func() {
		if len(cur.idx) == 0 {
			return
		}
		if lim.fixedW == 0 {
			cur.h = roundUp(max(y+shelf, lim.minSide), lim.mult)
		} else {
			cur.h = lim.fixedH
		}
		plans = append(plans, cur)
		cur = layoutPlan{w: w}
		x, y, shelf = 0, 0, 0
	}
	for i, s := range sizes {
		sw, sh := min(s.X, w), min(s.Y, maxH)
		if x > 0 && x+sw > w { // next shelf
			x, y, shelf = 0, y+shelf+canvasGap, 0
		}
		if y > 0 && y+sh > maxH { // next canvas
			flush()
		}
		cur.idx = append(cur.idx, i)
		cur.at = append(cur.at, image.Rect(x, y, x+sw, y+sh))
		x += sw + canvasGap
		shelf = max(shelf, sh)
	}
	flush()
	return plans
}

// layoutPlan is packCrops' answer for one canvas.
type layoutPlan struct {
	w, h int
	idx  []int             // which crops
	at   []image.Rectangle // where, in canvas pixels
}

// tilePass lays out a pass over a whole frame of fw x fh at scale k, for a
// network input of at most maxW x maxH (a fixed-size model's exact size, or
// an any-size model's limit), rounded to mult: one canvas when the scaled
// frame fits, else tiles that overlap by overlap frame pixels, each keeping
// the detections whose centres fall in its share of the frame (the overlap
// split in the middle).
func tilePass(fw, fh int, k float64, maxW, maxH, mult, overlap int, fixed bool) []layout {
	sw, sh := int(math.Round(float64(fw)*k)), int(math.Round(float64(fh)*k))
	sw, sh = max(sw, 1), max(sh, 1)
	if !fixed && sw <= maxW && sh <= maxH {
		return []layout{{w: roundUp(sw, mult), h: roundUp(sh, mult), pieces: []piece{{
			src: image.Rect(0, 0, fw, fh), dst: image.Rect(0, 0, sw, sh), k: k,
			keep: meta.Rect{W: float32(fw), H: float32(fh)},
		}}}}
	}
	// Tiles: each covers tw x th frame pixels, scaled by k to fit the input.
	tw := int(float64(maxW) / k)
	th := int(float64(maxH) / k)
	tw, th = max(min(tw, fw), 1), max(min(th, fh), 1)
	xs := tileStarts(fw, tw, overlap)
	ys := tileStarts(fh, th, overlap)
	var out []layout
	for yi, y0 := range ys {
		for xi, x0 := range xs {
			src := image.Rect(x0, y0, min(x0+tw, fw), min(y0+th, fh))
			dw := min(int(math.Round(float64(src.Dx())*k)), maxW)
			dh := min(int(math.Round(float64(src.Dy())*k)), maxH)
			keep := shareOf(xs, xi, tw, fw)
			keepY := shareOf(ys, yi, th, fh)
			l := layout{w: maxW, h: maxH}
			if !fixed {
				l.w, l.h = roundUp(dw, mult), roundUp(dh, mult)
			}
			l.pieces = []piece{{src: src, dst: image.Rect(0, 0, max(dw, 1), max(dh, 1)), k: k,
				keep: meta.Rect{X: keep[0], Y: keepY[0], W: keep[1] - keep[0], H: keepY[1] - keepY[0]}}}
			out = append(out, l)
		}
	}
	return out
}

// tileStarts spreads tiles of size t over n pixels so that neighbours
// overlap by at least overlap pixels.
func tileStarts(n, t, overlap int) []int {
	if t >= n {
		return []int{0}
	}
	step := max(t-overlap, 1)
	count := (n-t+step-1)/step + 1
	starts := make([]int, count)
	for i := range starts {
		// Even spacing, the last tile flush with the edge.
		starts[i] = int(math.Round(float64(i) * float64(n-t) / float64(count-1)))
	}
	return starts
}

// shareOf is the part of [0, n) that tile i (starting at starts[i], t
// long) answers for: from the middle of its overlap with the tile before to
// the middle of its overlap with the tile after.
func shareOf(starts []int, i, t, n int) [2]float32 {
	lo, hi := float32(0), float32(n)
	if i > 0 {
		lo = float32(starts[i]+min(starts[i-1]+t, n)) / 2
	}
	if i+1 < len(starts) {
		hi = float32(starts[i+1]+min(starts[i]+t, n)) / 2
	}
	return [2]float32{lo, hi}
}
