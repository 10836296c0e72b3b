package models

import (
	"math"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// prior is an anchor box, centre and size normalised to the input.
type prior struct{ cx, cy, w, h float32 }

// yunetV1 decodes YuNet 2022mar (outputs loc, conf, iou), DATA.md 1c.
type yunetV1 struct {
	decodeBase
	priors []prior
	pw, ph int // input size the priors were made for
}

func newYuNetV1(s Spec, o DecoderOptions) Decoder {
	return &yunetV1{decodeBase: decodeBase{spec: s, opts: o}}
}

var (
	yunetV1Steps = [4]int{8, 16, 32, 64}
	yunetV1Mins  = [4][]float32{{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}}
)

// yunetV1Levels returns the feature-map sizes of the four levels for one
// input side: f2 = floor(floor((S+1)/2)/2), then halving.
func yunetV1Levels(side int) [4]int {
	f := (side + 1) / 2 / 2 // f2
	var out [4]int
	for i := range out {
		f /= 2
		out[i] = f
	}
	return out
}

// yunetV1Priors lists the priors for a W x H input: level, row, column,
// min size.
func yunetV1Priors(dst []prior, W, H int) []prior {
	dst = dst[:0]
	fw, fh := yunetV1Levels(W), yunetV1Levels(H)
	for l := range 4 {
		step := float32(yunetV1Steps[l])
		for r := range fh[l] {
			for c := range fw[l] {
				for _, m := range yunetV1Mins[l] {
					dst = append(dst, prior{
						cx: (float32(c) + 0.5) * step / float32(W),
						cy: (float32(r) + 0.5) * step / float32(H),
						w:  m / float32(W),
						h:  m / float32(H),
					})
				}
			}
		}
	}
	return dst
}

func (d *yunetV1) Decode(outputs []meta.Tensor, g meta.Geometry) ([]meta.Object, error) {
	const name = "yunet-2022mar"
	if err := checkGeometry(g, name, 1); err != nil {
		return nil, err
	}
	W, H := g.InputW, g.InputH
	if d.pw != W || d.ph != H || d.priors == nil {
		d.priors = yunetV1Priors(d.priors, W, H)
		d.pw, d.ph = W, H
	}
	n := len(d.priors)
	loc, err := findTensor(outputs, "loc", n*14, name)
	if err != nil {
		return nil, err
	}
	conf, err := findTensor(outputs, "conf", n*2, name)
	if err != nil {
		return nil, err
	}
	iou, err := findTensor(outputs, "iou", n, name)
	if err != nil {
		return nil, err
	}
	d.reset()
	fW, fH := float32(W), float32(H)
	for i, p := range d.priors {
		score := float32(math.Sqrt(float64(clamp01(conf[2*i+1]) * clamp01(iou[i]))))
		if !(score >= d.opts.ScoreThreshold) {
			continue
		}
		l := loc[14*i : 14*i+14]
		cx := (p.cx + l[0]*0.1*p.w) * fW
		cy := (p.cy + l[1]*0.1*p.h) * fH
		w := p.w * exp32(l[2]*0.1) * fW
		h := p.h * exp32(l[3]*0.2) * fH
		c := candidate{x1: cx - w/2, y1: cy - h/2, x2: cx + w/2, y2: cy + h/2, score: score}
		for k := range maxLandmarks {
			c.lm[2*k] = (p.cx + l[4+2*k]*0.1*p.w) * fW
			c.lm[2*k+1] = (p.cy + l[5+2*k]*0.1*p.h) * fH
		}
		d.add(c)
	}
	return d.finish(g, maxLandmarks), nil
}

// yunetV2 decodes YuNet 2023mar / yunet_s (12 outputs, anchor-free),
// DATA.md 1c.
type yunetV2 struct{ decodeBase }

func newYuNetV2(s Spec, o DecoderOptions) Decoder {
	return &yunetV2{decodeBase{spec: s, opts: o}}
}

var yunetV2Strides = [3]int{8, 16, 32}

var yunetV2Names = [3][4]string{
	{"cls_8", "obj_8", "bbox_8", "kps_8"},
	{"cls_16", "obj_16", "bbox_16", "kps_16"},
	{"cls_32", "obj_32", "bbox_32", "kps_32"},
}

func (d *yunetV2) Decode(outputs []meta.Tensor, g meta.Geometry) ([]meta.Object, error) {
	const name = "yunet-2023mar"
	if err := checkGeometry(g, name, 32); err != nil {
		return nil, err
	}
	var t [3][4][]float32
	for si, s := range yunetV2Strides {
		ns := (g.InputW / s) * (g.InputH / s)
		for k, per := range [4]int{1, 1, 4, 10} {
			var err error
			if t[si][k], err = findTensor(outputs, yunetV2Names[si][k], ns*per, name); err != nil {
				return nil, err
			}
		}
	}
	d.reset()
	for si, s := range yunetV2Strides {
		cols, rows := g.InputW/s, g.InputH/s
		cls, obj, bbox, kps := t[si][0], t[si][1], t[si][2], t[si][3]
		fs := float32(s)
		for r := range rows {
			for c := range cols {
				i := r*cols + c
				score := float32(math.Sqrt(float64(clamp01(cls[i]) * clamp01(obj[i]))))
				if !(score >= d.opts.ScoreThreshold) {
					continue
				}
				b := bbox[4*i : 4*i+4]
				cx := (float32(c) + b[0]) * fs
				cy := (float32(r) + b[1]) * fs
				w := exp32(b[2]) * fs
				h := exp32(b[3]) * fs
				cand := candidate{x1: cx - w/2, y1: cy - h/2, x2: cx + w/2, y2: cy + h/2, score: score}
				k := kps[10*i : 10*i+10]
				for n := range maxLandmarks {
					cand.lm[2*n] = (k[2*n] + float32(c)) * fs
					cand.lm[2*n+1] = (k[2*n+1] + float32(r)) * fs
				}
				d.add(cand)
			}
		}
	}
	return d.finish(g, maxLandmarks), nil
}
