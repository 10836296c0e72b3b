package post

import (
	"context"
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// BlurMode is how a face is hidden.
type BlurMode string

// The blur modes.
const (
	Gaussian BlurMode = "gaussian"
	Pixelate BlurMode = "pixelate"
	Solid    BlurMode = "solid"
	NoBlur   BlurMode = "none"
)

// UnmarshalText reads a mode name.
func (m *BlurMode) UnmarshalText(b []byte) error {
	v, err := ParseBlurMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// BlurShape is the part of a (padded) box that is hidden.
type BlurShape string

// The shapes.
const (
	// Ellipse hides an ellipse inscribed in the box, which follows a
	// face's contour.
	Ellipse BlurShape = "ellipse"
	// Rect hides the whole box.
	Rect BlurShape = "rect"
)

// UnmarshalText reads ellipse or rect.
func (s *BlurShape) UnmarshalText(b []byte) error {
	switch v := BlurShape(b); v {
	case Ellipse, Rect:
		*s = v
		return nil
	}
	return fmt.Errorf("%q: want ellipse or rect", b)
}

// ParseBlurMode reads a mode name.
func ParseBlurMode(s string) (BlurMode, error) {
	switch m := BlurMode(s); m {
	case Gaussian, Pixelate, Solid, NoBlur:
		return m, nil
	}
	return "", fmt.Errorf(`blur: %q: want gaussian, pixelate, solid or none`, s)
}

// BlurOptions configure Blur.
type BlurOptions struct {
	// Mode is how a face is hidden; NoBlur leaves the blur stage out.
	Mode BlurMode `yaml:"blur" usage:"how faces are hidden: gaussian, pixelate, solid or none"`
	// Shape is the part of the (padded) box that is hidden; "" means the
	// whole box.
	Shape BlurShape `yaml:"blur-shape" usage:"ellipse (follows the face) or rect"`
	// Pad grows each box by this fraction of its width and height on every
	// side before blurring (0.1 = 10 %), so that hair and chin are covered.
	Pad float32 `yaml:"blur-pad" usage:"grow each face box by this fraction before blurring"`
	// Strength scales the effect: the Gaussian kernel is Strength × the face
	// size (0.5 by default), pixelation uses Blocks blocks across the face.
	Strength float32 `yaml:"-"`
	Blocks   int     `yaml:"-"`
	// Color fills the face in Solid mode (black by default).
	Color color.RGBA `yaml:"-"`
	// Labels limits blurring to objects with these labels; empty = all.
	Labels []string `yaml:"-"`
}

// DefaultBlurOptions hide every face with an elliptical Gaussian blur.
func DefaultBlurOptions() BlurOptions {
	return BlurOptions{Mode: Gaussian, Shape: Ellipse, Pad: 0.15, Strength: 0.5, Blocks: 8}
}

// Validate names the first option out of range by its option key.
func (o BlurOptions) Validate() error {
	if _, err := ParseBlurMode(string(o.Mode)); err != nil {
		return err
	}
	if o.Shape != "" && o.Shape != Ellipse && o.Shape != Rect {
		return fmt.Errorf("blur-shape: %q: want ellipse or rect", o.Shape)
	}
	if o.Pad < 0 || o.Pad > 2 {
		return fmt.Errorf("blur-pad: %g is out of range: want 0 to 2", o.Pad)
	}
	if o.Mode == Gaussian && (o.Strength <= 0 || o.Strength > 4) {
		return fmt.Errorf("blur strength %.2f: want more than 0, at most 4", o.Strength)
	}
	if o.Mode == Pixelate && (o.Blocks < 1 || o.Blocks > 256) {
		return fmt.Errorf("blur blocks %d: want 1 to 256", o.Blocks)
	}
	return nil
}

// Blur hides objects in the frame: DeepStream's nvdsosd blur, or the seed
// app's "blur face contours". It is a pipeline.Processor.
type Blur struct {
	opts  BlurOptions
	tmp   gocv.Mat // the blurred copy of one region
	small gocv.Mat // the downscaled region for pixelation
	mask  gocv.Mat // the ellipse
}

// NewBlur makes a blur stage; call Close when done.
func NewBlur(opts BlurOptions) (*Blur, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Blur{opts: opts, tmp: gocv.NewMat(), small: gocv.NewMat(), mask: gocv.NewMat()}, nil
}

// Process blurs every selected object of f.
func (b *Blur) Process(_ context.Context, f *pipeline.Frame) error {
	if b.opts.Mode == NoBlur {
		return nil
	}
	for i := range f.Objects {
		if !b.selected(f.Objects[i].Label) {
			continue
		}
		r := padRect(f.Objects[i].Box, b.opts.Pad, f.Image.Cols(), f.Image.Rows())
		if r.Dx() < 2 || r.Dy() < 2 {
			continue
		}
		b.hide(&f.Image, r)
	}
	return nil
}

func (b *Blur) selected(label string) bool {
	if len(b.opts.Labels) == 0 {
		return true
	}
	for _, l := range b.opts.Labels {
		if l == label {
			return true
		}
	}
	return false
}

// hide blurs one rectangle of img.
func (b *Blur) hide(img *gocv.Mat, r image.Rectangle) {
	region := img.Region(r)
	defer region.Close()
	w, h := r.Dx(), r.Dy()
	switch b.opts.Mode {
	case Solid:
		if b.opts.Shape == Ellipse {
			gocv.Ellipse(img, image.Pt(r.Min.X+w/2, r.Min.Y+h/2), image.Pt(w/2, h/2), 0, 0, 360, b.opts.Color, -1)
		} else {
			region.SetTo(gocv.NewScalar(float64(b.opts.Color.B), float64(b.opts.Color.G), float64(b.opts.Color.R), 0))
		}
		return
	case Gaussian:
		k := int(float32(min(w, h))*b.opts.Strength) | 1
		k = max(k, 3)
		gocv.GaussianBlur(region, &b.tmp, image.Pt(k, k), 0, 0, gocv.BorderReflect101)
	case Pixelate:
		bw := max(1, min(b.opts.Blocks, w))
		bh := max(1, b.opts.Blocks*h/max(w, 1))
		gocv.Resize(region, &b.small, image.Pt(bw, bh), 0, 0, gocv.InterpolationArea)
		gocv.Resize(b.small, &b.tmp, image.Pt(w, h), 0, 0, gocv.InterpolationNearestNeighbor)
	}
	if b.opts.Shape != Ellipse {
		b.tmp.CopyTo(&region)
		return
	}
	if b.mask.Rows() != h || b.mask.Cols() != w {
		b.mask.Close()
		b.mask = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	}
	b.mask.SetTo(gocv.NewScalar(0, 0, 0, 0))
	gocv.Ellipse(&b.mask, image.Pt(w/2, h/2), image.Pt(w/2, h/2), 0, 0, 360, color.RGBA{255, 255, 255, 0}, -1)
	b.tmp.CopyToWithMask(&region, b.mask)
}

// Close releases the scratch Mats.
func (b *Blur) Close() error {
	for _, m := range []*gocv.Mat{&b.tmp, &b.small, &b.mask} {
		if m.Ptr() != nil {
			m.Close()
			*m = gocv.Mat{}
		}
	}
	return nil
}

// padRect grows a box by pad on every side and clips it to the frame.
func padRect(b meta.Rect, pad float32, w, h int) image.Rectangle {
	px, py := b.W*pad, b.H*pad
	r := image.Rect(int(b.X-px), int(b.Y-py), int(b.X+b.W+px+0.5), int(b.Y+b.H+py+0.5))
	return r.Intersect(image.Rect(0, 0, w, h))
}
