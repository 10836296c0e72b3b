package models

import "github.com/conveyor-vision/conveyor/pipeline/meta"

// ultraFace decodes UltraFace RFB outputs scores [1,N,2] and boxes [1,N,4]:
// corner boxes normalised to the input (in-graph decoding), or raw
// regressions against priors (the _simplified export), DATA.md 1c.
type ultraFace struct {
	decodeBase
	raw    bool
	priors []prior
	pw, ph int
}

func newUltraFace(raw bool) func(Spec, DecoderOptions) Decoder {
	return func(s Spec, o DecoderOptions) Decoder {
		return &ultraFace{decodeBase: decodeBase{spec: s, opts: o}, raw: raw}
	}
}

var (
	ultraSteps = [4]int{8, 16, 32, 64}
	ultraMins  = [4][]float32{{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}}
)

// ultraFacePriors lists the priors of a W x H input: feature maps are
// ceil(side/step) (320x240: W 40,20,10,5 and H 30,15,8,4); order level,
// row, column, min box; centre ((i+0.5)/fmW, (j+0.5)/fmH); size min/W by
// min/H; all clamped to [0, 1].
func ultraFacePriors(dst []prior, W, H int) []prior {
	dst = dst[:0]
	for l, step := range ultraSteps {
		fw, fh := (W+step-1)/step, (H+step-1)/step
		for j := range fh {
			for i := range fw {
				for _, m := range ultraMins[l] {
					dst = append(dst, prior{
						cx: clamp01((float32(i) + 0.5) / float32(fw)),
						cy: clamp01((float32(j) + 0.5) / float32(fh)),
						w:  clamp01(m / float32(W)),
						h:  clamp01(m / float32(H)),
					})
				}
			}
		}
	}
	return dst
}

func (d *ultraFace) Decode(outputs []meta.Tensor, g meta.Geometry) ([]meta.Object, error) {
	name := "ultraface"
	if d.raw {
		name = "ultraface-raw"
	}
	if err := checkGeometry(g, name, 1); err != nil {
		return nil, err
	}
	W, H := g.InputW, g.InputH
	if d.pw != W || d.ph != H || d.priors == nil {
		d.priors = ultraFacePriors(d.priors, W, H)
		d.pw, d.ph = W, H
	}
	n := len(d.priors)
	scores, err := findTensor(outputs, "scores", 2*n, name)
	if err != nil {
		return nil, err
	}
	boxes, err := findTensor(outputs, "boxes", 4*n, name)
	if err != nil {
		return nil, err
	}
	d.reset()
	fW, fH := float32(W), float32(H)
	for i, p := range d.priors {
		score := scores[2*i+1]
		if !(score >= d.opts.ScoreThreshold) {
			continue
		}
		b := boxes[4*i : 4*i+4]
		var x1, y1, x2, y2 float32
		if d.raw {
			cx := b[0]*0.1*p.w + p.cx
			cy := b[1]*0.1*p.h + p.cy
			w := exp32(b[2]*0.2) * p.w
			h := exp32(b[3]*0.2) * p.h
			x1, y1, x2, y2 = cx-w/2, cy-h/2, cx+w/2, cy+h/2
		} else {
			x1, y1, x2, y2 = b[0], b[1], b[2], b[3]
		}
		d.add(candidate{x1: x1 * fW, y1: y1 * fH, x2: x2 * fW, y2: y2 * fH, score: min(score, 1)})
	}
	return d.finish(g, 0), nil
}
