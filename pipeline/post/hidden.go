package post

import (
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Regions are the parts of a w x h frame that Blur with these options hides
// for objs: each selected object's box, padded and clipped to the frame (the
// ellipse inscribed in it when Shape is Ellipse). None when Mode is NoBlur.
func (o BlurOptions) Regions(objs []meta.Object, w, h int) []meta.Rect {
	if o.Mode == NoBlur {
		return nil
	}
	b := Blur{opts: o}
	var out []meta.Rect
	for _, ob := range objs {
		if !b.selected(ob.Label) {
			continue
		}
		r := padRect(ob.Box, o.Pad, w, h)
		if r.Dx() < 2 || r.Dy() < 2 {
			continue
		}
		out = append(out, meta.Rect{X: float32(r.Min.X), Y: float32(r.Min.Y), W: float32(r.Dx()), H: float32(r.Dy())})
	}
	return out
}

// Hidden is the fraction of face (a box in a w x h frame) that Blur with
// these options hides when the frame's objects are objs: what an audit
// asks of every face a reference detector finds.
func (o BlurOptions) Hidden(face meta.Rect, objs []meta.Object, w, h int) float32 {
	return models.Hidden(face, o.Regions(objs, w, h), o.Shape == Ellipse)
}
