package post

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"

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
	// Strength scales the effect: the Gaussian kernel is Strength × the
	// padded box's shorter side (1 by default), pixelation uses Blocks
	// blocks across the face.
	Strength float32 `yaml:"blur-strength" usage:"Gaussian blur width as a fraction of the padded box's shorter side (1 = as wide as the box)"`
	Blocks   int     `yaml:"-"`
	// Color fills the face in Solid mode (black by default).
	Color color.RGBA `yaml:"-"`
	// Labels limits blurring to objects with these labels; empty = all.
	Labels []string `yaml:"-"`
}

// DefaultBlurOptions hide every face with an elliptical Gaussian blur.
//
// Pad 0.4: with an ellipse inscribed in the padded box, 0.4 hides at least
// 99.7% of every labelled face of the dlib set (0.15 hid 78% at worst: an
// ellipse needs about 0.21 just to reach the corners of the box it is
// inscribed in, and YuNet's boxes sit higher than the labels), and 98.7% of
// the 10-30 px faces of the synthetic crowds have 99% or more hidden
// (models/CALIBRATION.md).
//
// Strength 1: the kernel is as wide as the padded box's shorter side. At
// 0.5 (and pad 0.15) YuNet still found 6 of 11 blurred faces of the sample
// pictures at 0.5 or more (up to 1.00); at 1 and pad 0.4 it scores none
// above 0.39, at the picture's size or twice it (TestBlurHidesFromDetector).
// The fast Gaussian makes the wider blur cost no more.
func DefaultBlurOptions() BlurOptions {
	return BlurOptions{Mode: Gaussian, Shape: Ellipse, Pad: 0.4, Strength: 1, Blocks: 8}
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
		return fmt.Errorf("blur-strength: %.2f is out of range: want more than 0, at most 4", o.Strength)
	}
	if o.Mode == Pixelate && (o.Blocks < 1 || o.Blocks > 256) {
		return fmt.Errorf("blur blocks %d: want 1 to 256", o.Blocks)
	}
	return nil
}

// Blur hides objects in the frame: DeepStream's nvdsosd blur, or the seed
// app's "blur face contours". It is a pipeline.Processor.
type Blur struct {
	opts   BlurOptions
	tmp    gocv.Mat // the blurred copy of one region
	small  gocv.Mat // the downscaled region (pixelation, fast Gaussian)
	small2 gocv.Mat // the downscaled region, blurred
	mask   gocv.Mat // the ellipse
}

// NewBlur makes a blur stage; call Close when done.
func NewBlur(opts BlurOptions) (*Blur, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Blur{opts: opts, tmp: gocv.NewMat(), small: gocv.NewMat(), small2: gocv.NewMat(), mask: gocv.NewMat()}, nil
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
	w, h := r.Dx(), r.Dy()
	off := image.Point{} // where r starts inside b.tmp
	switch b.opts.Mode {
	case Solid:
		if b.opts.Shape == Ellipse {
			gocv.Ellipse(img, image.Pt(r.Min.X+w/2, r.Min.Y+h/2), image.Pt(w/2, h/2), 0, 0, 360, b.opts.Color, -1)
		} else {
			region := img.Region(r)
			region.SetTo(gocv.NewScalar(float64(b.opts.Color.B), float64(b.opts.Color.G), float64(b.opts.Color.R), 0))
			region.Close()
		}
		return
	case Gaussian:
		off = b.gaussian(img, r)
	case Pixelate:
		region := img.Region(r)
		bw := max(1, min(b.opts.Blocks, w))
		bh := max(1, b.opts.Blocks*h/max(w, 1))
		gocv.Resize(region, &b.small, image.Pt(bw, bh), 0, 0, gocv.InterpolationArea)
		gocv.Resize(b.small, &b.tmp, image.Pt(w, h), 0, 0, gocv.InterpolationNearestNeighbor)
		region.Close()
	}
	b.composite(img, r, off)
}

// gaussian writes into b.tmp the region r of img blurred with a Gaussian of
// the strength the options ask for, and returns where r starts inside
// b.tmp (which may cover a little more than r). The kernel is Strength x
// r's shorter side, and its sigma is OpenCV's for that kernel size,
// 0.3*((k-1)/2 - 1) + 0.8: about 0.15 x the side at Strength 1, 66 px for
// a 250 x 330 px face padded by 0.4.
//
// A Gaussian that wide costs O(sigma) per pixel (about 140 ms for two such
// faces of a 1080p frame; 31-41 ms at the old strength 0.5 and pad 0.15).
// The same blur is made on a copy shrunk f times (f about sigma/2):
// shrinking by area averaging, blurring with sigma_s, and enlarging with
// bilinear interpolation add up to a low-pass filter of variance
// f^2 (sigma_s^2 + 1/12 + 1/6) in frame pixels, which is sigma^2 when
// sigma_s = sqrt((sigma/f)^2 - 1/4). The work is then two resizes and a
// blur of a picture f^2 times smaller. The region shrunk is r grown to a
// whole number of f x f cells (OpenCV's fast path for area averaging).
// TestFastBlurAsStrong holds it to the direct blur, BenchmarkBlur1080p
// times it.
func (b *Blur) gaussian(img *gocv.Mat, r image.Rectangle) image.Point {
	w, h := r.Dx(), r.Dy()
	k := max(int(float32(min(w, h))*b.opts.Strength)|1, 3)
	sigma := 0.3*(float64(k-1)/2-1) + 0.8
	f := int(sigma / 2)
	if f < 2 || min(w, h)/f < 4 {
		region := img.Region(r)
		gocv.GaussianBlur(region, &b.tmp, image.Pt(k, k), sigma, sigma, gocv.BorderReflect101)
		region.Close()
		return image.Point{}
	}
	sw, sh := (w+f-1)/f, (h+f-1)/f
	big := image.Rect(0, 0, sw*f, sh*f)
	x0 := min(r.Min.X, img.Cols()-big.Dx())
	y0 := min(r.Min.Y, img.Rows()-big.Dy())
	if x0 < 0 || y0 < 0 { // the frame is smaller than the cells: shrink r itself
		x0, y0, big = r.Min.X, r.Min.Y, image.Rect(0, 0, w, h)
	}
	big = big.Add(image.Pt(x0, y0))
	region := img.Region(big)
	gocv.Resize(region, &b.small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
	region.Close()
	fx, fy := float64(big.Dx())/float64(sw), float64(big.Dy())/float64(sh)
	ss := math.Sqrt(max(sigma*sigma/(fx*fy)-0.25, 0.25))
	ks := max(int(math.Ceil(ss*6))|1, 3)
	gocv.GaussianBlur(b.small, &b.small2, image.Pt(ks, ks), ss, ss, gocv.BorderReflect101)
	gocv.Resize(b.small2, &b.tmp, big.Size(), 0, 0, gocv.InterpolationLinear)
	return r.Min.Sub(big.Min)
}

// composite copies the blurred picture (b.tmp, from off) into r of img:
// the whole box, or the ellipse inscribed in it. The ellipse is copied row
// by row, one span each, when both pictures are continuous 8-bit BGR: a
// memmove per row instead of drawing a mask and copying through it.
func (b *Blur) composite(img *gocv.Mat, r image.Rectangle, off image.Point) {
	w, h := r.Dx(), r.Dy()
	src := b.tmp
	if off != (image.Point{}) || src.Cols() != w || src.Rows() != h {
		src = b.tmp.Region(image.Rectangle{Min: off, Max: off.Add(image.Pt(w, h))})
		defer src.Close()
	}
	region := img.Region(r)
	defer region.Close()
	if b.opts.Shape != Ellipse {
		src.CopyTo(&region)
		return
	}
	if img.Type() == gocv.MatTypeCV8UC3 && b.tmp.Type() == gocv.MatTypeCV8UC3 {
		dst, err1 := img.DataPtrUint8()
		tmp, err2 := b.tmp.DataPtrUint8()
		if err1 == nil && err2 == nil {
			ds, ts := img.Cols()*3, b.tmp.Cols()*3
			a, c := float64(w)/2, float64(h)/2
			for y := range h {
				dy := (float64(y) + 0.5 - c) / c
				if dy*dy >= 1 {
					continue
				}
				half := a * math.Sqrt(1-dy*dy)
				x0 := max(int(math.Ceil(a-half-0.5)), 0)
				x1 := min(int(math.Floor(a+half-0.5)), w-1)
				if x1 < x0 {
					continue
				}
				n := (x1 - x0 + 1) * 3
				d := (r.Min.Y+y)*ds + (r.Min.X+x0)*3
				t := (off.Y+y)*ts + (off.X+x0)*3
				copy(dst[d:d+n], tmp[t:t+n])
			}
			return
		}
	}
	if b.mask.Rows() != h || b.mask.Cols() != w {
		b.mask.Close()
		b.mask = gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	}
	b.mask.SetTo(gocv.NewScalar(0, 0, 0, 0))
	gocv.Ellipse(&b.mask, image.Pt(w/2, h/2), image.Pt(w/2, h/2), 0, 0, 360, color.RGBA{255, 255, 255, 0}, -1)
	src.CopyToWithMask(&region, b.mask)
}

// Close releases the scratch Mats.
func (b *Blur) Close() error {
	for _, m := range []*gocv.Mat{&b.tmp, &b.small, &b.small2, &b.mask} {
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
