package depth

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Options tune a Processor. The zero value is usable.
type Options struct {
	// Inner is the part of each box, around its centre, whose pixels are
	// used: 0.6 keeps the central 60% of the width and of the height. 0
	// means 0.6; 1 uses the whole box.
	Inner float32 `yaml:"-"`
	// Percentile of the valid depths that is reported, in (0, 100]. 0 means
	// 50, the median; a low one (10) favours the nearest surface in the box.
	Percentile float32 `yaml:"-"`
	// MinValid is the fraction of the measured pixels that must have depth
	// for a distance to be given; below it Distance stays 0 (unknown). 0
	// means 0.05.
	MinValid float32 `yaml:"-"`
	// MaxDistance, when > 0, drops objects whose measured distance is beyond
	// it (metres). Objects of unknown distance are kept.
	MaxDistance float32 `yaml:"max-distance" usage:"drop detections farther than this many metres (sources with depth; 0 = keep all)"`

	// Out is a video file for the colourised depth of sources with depth
	// (sink.DepthVideo); "" writes none. Range is the distance in metres that
	// the colour map spans (blue = this far).
	Out   string  `yaml:"depth-out" usage:"write the colourised depth of sources with depth to this video file"`
	Range float32 `yaml:"depth-range" usage:"metres that span the depth colour map (blue = this far)"`
}

// DefaultOptions is what `conveyor run` starts from.
func DefaultOptions() Options { return Options{Range: 4} }

// Validate checks the options a user sets, naming each by its option key.
func (o Options) Validate() error {
	var errs []error
	if o.MaxDistance < 0 || o.MaxDistance > 1000 || math.IsNaN(float64(o.MaxDistance)) {
		errs = append(errs, fmt.Errorf("max-distance: %g is out of range: want 0 to 1000 metres", o.MaxDistance))
	}
	if o.Range < 0 || o.Range > 1000 || math.IsNaN(float64(o.Range)) {
		errs = append(errs, fmt.Errorf("depth-range: %g is out of range: want more than 0, at most 1000 metres", o.Range))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() (Options, error) {
	if o.Inner == 0 {
		o.Inner = 0.6
	}
	if o.Percentile == 0 {
		o.Percentile = 50
	}
	if o.MinValid == 0 {
		o.MinValid = 0.05
	}
	switch {
	case o.Inner < 0 || o.Inner > 1 || math.IsNaN(float64(o.Inner)):
		return o, fmt.Errorf("depth: inner must be in (0, 1], not %v", o.Inner)
	case o.Percentile < 0 || o.Percentile > 100 || math.IsNaN(float64(o.Percentile)):
		return o, fmt.Errorf("depth: percentile must be in (0, 100], not %v", o.Percentile)
	case o.MinValid < 0 || o.MinValid > 1 || math.IsNaN(float64(o.MinValid)):
		return o, fmt.Errorf("depth: min valid fraction must be in [0, 1], not %v", o.MinValid)
	case o.MaxDistance < 0 || math.IsNaN(float64(o.MaxDistance)):
		return o, fmt.Errorf("depth: max distance must not be negative, not %v", o.MaxDistance)
	}
	return o, nil
}

// Processor sets each object's Distance from the frame's depth. Frames
// without depth pass unchanged.
type Processor struct {
	opts Options
	buf  []uint16 // reused between boxes and frames
}

// New makes a Processor; it checks opts.
func New(opts Options) (*Processor, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Processor{opts: o}, nil
}

// Process measures every object of f and drops those beyond MaxDistance.
func (p *Processor) Process(_ context.Context, f *pipeline.Frame) error {
	if f.Depth.Ptr() == nil || f.Depth.Empty() || len(f.Objects) == 0 {
		return nil
	}
	if f.DepthScale <= 0 {
		return fmt.Errorf("depth: frame %d has depth but no depth scale: %w", f.Number, pipeline.ErrSkipFrame)
	}
	kept := f.Objects[:0]
	for _, o := range f.Objects {
		d, _, err := p.Measure(f.Depth, f.DepthScale, o.Box)
		if err != nil {
			return fmt.Errorf("depth: frame %d: %w", f.Number, err)
		}
		o.Distance = d
		if p.opts.MaxDistance > 0 && d > p.opts.MaxDistance {
			continue
		}
		kept = append(kept, o)
	}
	// Clear the tail so dropped objects' maps are not kept alive.
	for i := len(kept); i < len(f.Objects); i++ {
		f.Objects[i] = meta.Object{}
	}
	f.Objects = kept
	return nil
}

// Measure returns the distance in metres of what is inside box (in depth
// pixel coordinates) and the fraction of its measured pixels that had
// depth. The distance is 0 when too few pixels had depth (Options.MinValid)
// or the box lies outside the map.
func (p *Processor) Measure(depth gocv.Mat, scale float32, box meta.Rect) (metres, valid float32, err error) {
	if depth.Type() != gocv.MatTypeCV16UC1 {
		return 0, 0, fmt.Errorf("depth map must be CV_16UC1 (Z16), not %v", depth.Type())
	}
	data, err := depth.DataPtrUint16()
	if err != nil {
		return 0, 0, err
	}
	w, h := depth.Cols(), depth.Rows()
	stride := depth.Step() / 2
	x0, y0, x1, y1 := innerBox(box, p.opts.Inner, w, h)
	total := (x1 - x0) * (y1 - y0)
	if total <= 0 {
		return 0, 0, nil
	}
	p.buf = p.buf[:0]
	for y := y0; y < y1; y++ {
		row := data[y*stride+x0 : y*stride+x1]
		for _, v := range row {
			if v != 0 {
				p.buf = append(p.buf, v)
			}
		}
	}
	valid = float32(len(p.buf)) / float32(total)
	if len(p.buf) == 0 || valid < p.opts.MinValid {
		return 0, valid, nil
	}
	v := percentile(p.buf, p.opts.Percentile)
	return float32(v) * scale, valid, nil
}

// innerBox shrinks box around its centre to the fraction inner of its size
// and clips it to a w x h map; the result is [x0, x1) x [y0, y1).
func innerBox(b meta.Rect, inner float32, w, h int) (x0, y0, x1, y1 int) {
	cx, cy := b.X+b.W/2, b.Y+b.H/2
	hw, hh := b.W*inner/2, b.H*inner/2
	x0 = clamp(int(math.Floor(float64(cx-hw))), 0, w)
	x1 = clamp(int(math.Ceil(float64(cx+hw))), 0, w)
	y0 = clamp(int(math.Floor(float64(cy-hh))), 0, h)
	y1 = clamp(int(math.Ceil(float64(cy+hh))), 0, h)
	return
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// percentile returns the value at percentile q (0-100] of vals, reordering
// vals (quickselect: linear time on average).
func percentile(vals []uint16, q float32) uint16 {
	k := int(math.Ceil(float64(q)/100*float64(len(vals)))) - 1
	k = clamp(k, 0, len(vals)-1)
	lo, hi := 0, len(vals)-1
	for lo < hi {
		pivot := vals[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for vals[i] < pivot {
				i++
			}
			for vals[j] > pivot {
				j--
			}
			if i <= j {
				vals[i], vals[j] = vals[j], vals[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return vals[k]
		}
	}
	return vals[k]
}

// Close does nothing; it is there for pipeline.Processor.
func (p *Processor) Close() error { return nil }

var _ pipeline.Processor = (*Processor)(nil)

// Colorizer draws a depth map as a BGR picture: near is red, far is blue,
// no depth is black. It keeps its scratch Mats between calls.
type Colorizer struct {
	// Max is the distance drawn as the far end of the colour map, metres.
	Max        float32
	scaled     gocv.Mat
	mask       gocv.Mat
	colour     gocv.Mat
	closed     bool
	haveMats   bool
	colormapTy gocv.ColormapTypes
}

// NewColorizer makes a Colorizer whose colour map spans 0 to maxMetres.
// Close it when done.
func NewColorizer(maxMetres float32) (*Colorizer, error) {
	if !(maxMetres > 0) {
		return nil, fmt.Errorf("depth: colorizer: max distance must be > 0, not %v", maxMetres)
	}
	return &Colorizer{Max: maxMetres, scaled: gocv.NewMat(), mask: gocv.NewMat(), colour: gocv.NewMat(),
		haveMats: true, colormapTy: gocv.ColormapJet}, nil
}

// Colorize writes the picture of depth (CV_16UC1, times scale in metres)
// into dst, which it reallocates as CV_8UC3 of the same size if needed.
func (c *Colorizer) Colorize(depth gocv.Mat, scale float32, dst *gocv.Mat) error {
	if c.closed {
		return fmt.Errorf("depth: colorize: colorizer closed")
	}
	if depth.Type() != gocv.MatTypeCV16UC1 || depth.Empty() {
		return fmt.Errorf("depth: colorize: depth must be a non-empty CV_16UC1 Mat")
	}
	if !(scale > 0) {
		return fmt.Errorf("depth: colorize: scale must be > 0, not %v", scale)
	}
	// Far (Max and beyond) -> 0 -> blue; near -> 255 -> red.
	steps := c.Max / scale
	depth.ConvertToWithParams(&c.scaled, gocv.MatTypeCV8U, -255/steps, 255)
	gocv.ApplyColorMap(c.scaled, &c.colour, c.colormapTy)
	gocv.InRangeWithScalar(depth, gocv.NewScalar(1, 0, 0, 0), gocv.NewScalar(65535, 0, 0, 0), &c.mask)
	if dst.Empty() || dst.Rows() != depth.Rows() || dst.Cols() != depth.Cols() || dst.Type() != gocv.MatTypeCV8UC3 {
		if dst.Ptr() != nil {
			dst.Close()
		}
		*dst = gocv.NewMatWithSize(depth.Rows(), depth.Cols(), gocv.MatTypeCV8UC3)
	}
	dst.SetTo(gocv.NewScalar(0, 0, 0, 0))
	c.colour.CopyToWithMask(dst, c.mask)
	return nil
}

// Close releases the scratch Mats. Idempotent.
func (c *Colorizer) Close() error {
	if c == nil || c.closed {
		return nil
	}
	c.closed = true
	if c.haveMats {
		c.scaled.Close()
		c.mask.Close()
		c.colour.Close()
	}
	return nil
}
