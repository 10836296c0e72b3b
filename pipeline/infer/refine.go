package infer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Refine is the stage after Decode that finds the faces the frame pass is
// too coarse, or too unsure, to report: conveyor's first job is to hide
// every face, and the frame pass shrinks a large frame to the model's
// input size (640 on the long side by default), which makes a 20 px face of
// a 1080p camera 7 px: below what the model sees.
//
// It works as a cascade, in the model's own terms (models.Spec's
// calibration): a proposal is a place where the model scores something at
// least ProposalScore, below the score that makes a detection; the model
// gives proposals for every face of ProposalFace input pixels or more.
//
//  1. Proposals from the frame pass: its raw outputs (Frame.Outputs) are
//     decoded again at ProposalScore. This costs a decode, not a network run.
//  2. When the frame pass ran the frame smaller than ProposalFace / MinFace
//     (so faces of MinFace frame pixels would give no proposal), a second
//     pass runs the frame at that scale (in tiles when the model has a fixed
//     input size or the frame is very large): its detections are added, its
//     proposals join the others. A frame the frame pass saw at that scale
//     already (480x270, 640x480 at the default input) gets no second pass.
//  3. Each proposal that no detection already covers is cut out with some
//     context, scaled so that it becomes VerifyFace pixels (the size the
//     model scores faces best at), and the crops are packed into one canvas
//     that the network runs once; what it finds there at the detection
//     score is added. Detections smaller than 3/4 of VerifyFace go on the
//     canvas too: at the frame's scale their boxes are a few pixels off,
//     and where the canvas finds the face again its box replaces theirs.
//
// Frames where nothing is doubtful or small cost one decode; the
// verification canvas grows with the number of proposals and small faces
// (see docs/BENCHMARKS.md). Objects are merged by NMS with the frame
// pass's, in frame coordinates.
//
// Threading: one goroutine's (a stage of N workers makes N); it owns two
// engines (the second pass and the verification canvas have different
// shapes, and OpenCV re-plans a network whenever its input shape changes)
// and its scratch Mats. Close releases them.
type Refine struct {
	spec    models.Spec
	minFace float32
	score   float32 // a detection
	nms     float32
	minSize float32
	prop    models.Decoder // at the spec's ProposalScore
	verify  models.Decoder // at score
	pass    Engine
	check   Engine
	canvas  gocv.Mat
	gray    gocv.Mat // scratch for the gate's quarter-size pictures
	quarter gocv.Mat
	gate    *passGate // shared by the stage's workers; nil: never gated
	maxSide int       // the engines' largest input side (maxPassSide for OpenCV)
	closed  bool

	// Counters for tests and benchmarks: frames that needed the second
	// pass, proposals verified, canvases run.
	stats RefineStats
}

// RefineStats counts what a Refine did.
type RefineStats struct {
	Frames, Passes, Proposals, Canvases int
	// Tiles and TilesRun count the second pass's tiles on gated (video)
	// frames, and those that ran (the others had not changed).
	Tiles, TilesRun int
	// CanvasPixels is the verification canvases' area, in input pixels.
	CanvasPixels int64
}

var _ pipeline.Processor = (*Refine)(nil)

// maxProposals bounds the proposals verified per frame (best scores first):
// a frame full of texture that the model finds face-like must not take
// seconds. The synthetic crowds of models/CALIBRATION.md give about 110.
const maxProposals = 256

// cropContext is a verification crop's side, in units of the proposal's
// longer side: the face and a face's width of context around it.
const cropContext = 3

// maxPassSide bounds the second pass's input on an any-size model: larger
// frames are tiled (OpenCV's memory grows with the input). An engine with a
// smaller limit (a TensorRT profile: Model.EngineMaxSide) lowers it.
const maxPassSide = 2048

// MaxCanvasSide bounds a verification canvas's sides; with engines that
// take inputs this large on each side, the small-face pass's tiles on video
// fit too (about 640x480 each).
const MaxCanvasSide = 1024

// RefineMaxSide is the largest input side a Refine gives its engines when
// they take up to maxSide (0: no limit of their own): tiles of the second
// pass and verification canvases, on any-size models. A TensorRT profile
// whose maximum is at least this runs every input of the small-face pass.
func RefineMaxSide(maxSide int) int {
	if maxSide <= 0 {
		return maxPassSide
	}
	return min(maxSide, maxPassSide)
}

// NewRefine makes the refine stage for the model m, at min-face minFace
// (frame pixels; > 0), with engines from newEngine (two: one for the
// second pass, one for the verification canvas), which the stage takes
// over. Its decoders take m's thresholds.
func NewRefine(m *Model, minFace int, newEngine func() (Engine, error)) (*Refine, error) {
	if minFace <= 0 {
		return nil, errors.New("infer: refine: min-face must be positive")
	}
	cal := m.Spec.Calibration
	if cal.ProposalScore <= 0 || cal.ProposalFace <= 0 || cal.VerifyFace <= 0 {
		return nil, fmt.Errorf("infer: refine: model spec %s has no calibration for small faces (min-face 0 turns the pass off)", m.Spec.Name)
	}
	o := m.Opts
	score := o.ScoreThreshold
	if score == 0 {
		score = m.Spec.DefaultScore
	}
	nms := o.NMSThreshold
	if nms == 0 {
		nms = models.DefaultNMSThreshold
	}
	r := &Refine{spec: m.Spec, minFace: float32(minFace), score: score, nms: nms, minSize: o.MinSize, maxSide: RefineMaxSide(m.EngineMaxSide)}
	var err error
	po := models.DecoderOptions{ScoreThreshold: min(cal.ProposalScore, score), NMSThreshold: nms}
	if r.prop, err = m.Spec.NewDecoder(po); err != nil {
		return nil, fmt.Errorf("infer: refine: %w", err)
	}
	if r.verify, err = m.Spec.NewDecoder(models.DecoderOptions{ScoreThreshold: max(score, cal.VerifyScore), NMSThreshold: nms}); err != nil {
		return nil, fmt.Errorf("infer: refine: %w", err)
	}
	if r.pass, err = newEngine(); err != nil {
		return nil, err
	}
	if r.check, err = newEngine(); err != nil {
		_ = r.pass.Close()
		return nil, err
	}
	r.canvas, r.gray, r.quarter = gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	return r, nil
}

// Stats returns what the stage did so far (one goroutine's: read it after
// the line ends).
func (r *Refine) Stats() RefineStats { return r.stats }

// Process adds to f.Objects the faces the frame pass missed. It needs
// f.Image, and f.Outputs and f.Geometry from the frame pass (without them
// it runs its own pass).
func (r *Refine) Process(ctx context.Context, f *pipeline.Frame) error {
	if r.closed {
		return ErrClosed
	}
	if f.Image.Ptr() == nil || f.Image.Empty() || f.Image.Type() != gocv.MatTypeCV8UC3 {
		return nil
	}
	// A still picture of a folder is not a video: nothing to gate on.
	src := f.SourceID
	if p, ok := f.User["path"].(string); ok && p != "" {
		src = -1
	}
	objs, err := r.refine(ctx, f.Image, f.Outputs, f.Geometry, f.Objects, src)
	if err != nil {
		return fmt.Errorf("infer: refine frame %d: %w", f.Number, err)
	}
	f.Objects = objs
	return nil
}

// refine is Process on plain values: img is the frame, outs and g the frame
// pass's raw outputs and geometry (outs may be nil), found its detections,
// src the frame's source when it is a video frame the gate may spare work
// on (passGate), -1 otherwise.
func (r *Refine) refine(ctx context.Context, img gocv.Mat, outs []meta.Tensor, g meta.Geometry, found []meta.Object, src int) (objsOut []meta.Object, err error) {
	r.stats.Frames++
	fw, fh := img.Cols(), img.Rows()
	cal := r.spec.Calibration
	var props []meta.Object
	s0 := 0.0
	// reused are the faces of tiles the gate spared (found and checked on
	// an earlier frame): they take part in the final merge only.
	var reused []meta.Object
	if len(outs) > 0 && g.FrameW == fw && g.FrameH == fh {
		s0 = float64(min(g.ScaleX, g.ScaleY))
		cands, err := r.prop.Decode(outs, g)
		if err != nil {
			return nil, err
		}
		_, props = split(cands, r.score)
	}
	// The scale at which a face of minFace frame pixels gives a proposal.
	sp := float64(cal.ProposalFace / r.minFace)
	secondPass := sp > s0*1.05
	var small []meta.Object
	if secondPass {
		r.stats.Passes++
		fixed := !r.spec.AnySize
		maxW, maxH, mult := r.maxSide, r.maxSide, max(r.spec.PadMultiple, 64)
		if fixed {
			maxW, maxH, mult = r.spec.InputW, r.spec.InputH, 1
		}
		// Tiles overlap by twice the largest face left to this pass: the
		// frame pass gives proposals for faces of ProposalFace/s0 and more.
		overlap := int(math.Ceil(2 * float64(cal.ProposalFace) / max(s0, 0.1)))
		gated := src >= 0 && r.gate != nil
		if gated && !fixed {
			maxW, maxH, mult = gateTiles(fw, fh, sp, overlap)
			maxW, maxH = min(maxW, r.maxSide), min(maxH, r.maxSide)
		}
		tiles := tilePass(fw, fh, sp, maxW, maxH, mult, overlap, fixed)
		run := make([]bool, len(tiles))
		for i := range run {
			run[i] = true
		}
		if gated {
			q := r.quarterOf(img)
			run, reused = r.gate.plan(src, fw, fh, tiles, q)
			defer func() {
				if err != nil {
					r.gate.release(src, run)
					return
				}
				r.gate.store(src, tiles, run, q, objsOut)
			}()
			r.stats.Tiles += len(tiles)
		}
		var passFound, passProps []meta.Object
		for i, l := range tiles {
			if !run[i] {
				continue
			}
			if gated {
				r.stats.TilesRun++
			}
			cands, err := r.run(ctx, r.pass, r.prop, img, l)
			if err != nil {
				return nil, err
			}
			sure, doubtful := split(cands, r.score)
			passFound = append(passFound, sure...)
			passProps = append(passProps, doubtful...)
		}
		// The second pass sees every face up to secondPassFace input pixels
		// better than the frame pass: the frame pass's proposals of that
		// size are dropped (the second pass proposed those places itself,
		// now or when a spared tile last ran), and its detections of that
		// size give way to the second pass's where both found the face.
		seen := append(passFound, reused...)
		covered := func(o meta.Object) bool { return float64(max(o.Box.W, o.Box.H))*sp < secondPassFace }
		props = slices.DeleteFunc(props, covered)
		found = slices.DeleteFunc(found, func(o meta.Object) bool { return covered(o) && overlapsAny(o, seen, r.nms) })
		props = append(props, passProps...)
		small = passFound
		found = r.merge(append(found, passFound...))
	}
	props = r.doubtful(props, append(found, reused...))
	// Small detections are checked too: the frame's scale finds them but
	// places their boxes poorly (a 12 px face's box is a few pixels off);
	// where the check finds the face again, its box replaces the first.
	locate := cal.LocateFace
	if locate == 0 {
		locate = cal.VerifyFace
	}
	// The detections to place again: the second pass's (those of spared
	// tiles were placed when they ran), or without a second pass the frame
	// pass's; only the small ones.
	if !secondPass {
		small = found
	}
	small = slices.DeleteFunc(slices.Clone(small), func(o meta.Object) bool { return max(o.Box.W, o.Box.H) >= locate*0.75 })
	nprops := len(props)
	props = append(props, small...)
	if len(props) == 0 {
		return r.merge(append(found, reused...)), nil
	}
	r.stats.Proposals += nprops
	// Crops: each proposal with context, scaled to VerifyFace.
	crops := make([]piece, 0, len(props))
	sizes := make([]image.Point, 0, len(props))
	lim := canvasLimits{minSide: 128, maxSide: min(MaxCanvasSide, r.maxSide), mult: max(r.spec.PadMultiple, 64)}
	if !r.spec.AnySize {
		lim = canvasLimits{fixedW: r.spec.InputW, fixedH: r.spec.InputH}
	}
	for i, p := range props {
		side := float64(max(p.Box.W, p.Box.H))
		to := cal.VerifyFace
		if i >= nprops {
			to = locate
		}
		k := min(max(float64(to)/side, 1.0/8), 4)
		half := side * cropContext / 2
		cx, cy := float64(p.Box.X+p.Box.W/2), float64(p.Box.Y+p.Box.H/2)
		src := image.Rect(int(cx-half), int(cy-half), int(math.Ceil(cx+half)), int(math.Ceil(cy+half))).Intersect(image.Rect(0, 0, fw, fh))
		if src.Dx() < 2 || src.Dy() < 2 {
			continue // a sliver at the frame's edge: nothing to verify
		}
		if lim.fixedW > 0 { // a crop never exceeds a fixed canvas
			k = min(k, float64(lim.fixedW)/float64(src.Dx()), float64(lim.fixedH)/float64(src.Dy()))
		}
		sz := image.Pt(max(1, int(math.Round(float64(src.Dx())*k))), max(1, int(math.Round(float64(src.Dy())*k))))
		grow := 0.5 * p.Box.W
		growY := 0.5 * p.Box.H
		crops = append(crops, piece{src: src, k: k, keep: meta.Rect{X: p.Box.X - grow, Y: p.Box.Y - growY, W: p.Box.W + 2*grow, H: p.Box.H + 2*growY}})
		sizes = append(sizes, sz)
	}
	var verified []meta.Object
	for _, pl := range packCrops(sizes, lim) {
		l := layout{w: pl.w, h: pl.h}
		for j, i := range pl.idx {
			p := crops[i]
			p.dst = pl.at[j]
			// The packer may clip a crop to the canvas: scale to what fits.
			p.k = min(float64(p.dst.Dx())/float64(p.src.Dx()), float64(p.dst.Dy())/float64(p.src.Dy()))
			l.pieces = append(l.pieces, p)
		}
		r.stats.Canvases++
		r.stats.CanvasPixels += int64(l.w * l.h)
		objs, err := r.run(ctx, r.check, r.verify, img, l)
		if err != nil {
			return nil, err
		}
		verified = append(verified, objs...)
	}
	// A small detection found again at the better scale takes that box.
	if len(small) > 0 && len(verified) > 0 {
		found = slices.DeleteFunc(found, func(o meta.Object) bool {
			if max(o.Box.W, o.Box.H) >= locate*0.75 {
				return false
			}
			for _, v := range verified {
				if models.IoU(o.Box, v.Box) > r.nms {
					return true
				}
			}
			return false
		})
	}
	return r.merge(append(append(found, verified...), reused...)), nil
}

// gateTiles sizes the second pass's tiles on gated frames (input pixels,
// multiples of 32): as many as it takes for tiles of about 640 x 480,
// sized so that they cover the frame with the overlap and little more. A
// 1080p frame at scale 1 is 3 x 3 tiles of 672 x 416.
func gateTiles(fw, fh int, k float64, overlap int) (w, h, mult int) {
	side := func(n, target int) int {
		in := float64(n) * k
		count := max(1, int(math.Ceil(in/float64(target))))
		return roundUp(int(math.Ceil((in+float64(count-1)*float64(overlap)*k)/float64(count))), 32)
	}
	return side(fw, 640), side(fh, 480), 32
}

// quarterOf is img as grey at a quarter of its size, for the gate.
func (r *Refine) quarterOf(img gocv.Mat) quarter {
	gocv.CvtColor(img, &r.gray, gocv.ColorBGRToGray)
	w, h := (img.Cols()+3)/4, (img.Rows()+3)/4
	gocv.Resize(r.gray, &r.quarter, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	return quarter{w: w, h: h, pix: r.quarter.ToBytes()}
}

// doubtful keeps the proposals no detection covers (a proposal inside a
// found face is that face), best first, at most maxProposals, after NMS.
func (r *Refine) doubtful(props, found []meta.Object) []meta.Object {
	props = slices.DeleteFunc(props, func(p meta.Object) bool { return overlapsAny(p, found, r.nms) })
	props = models.NMSObjects(props, r.nms)
	if len(props) > maxProposals {
		props = props[:maxProposals]
	}
	return props
}

// merge runs NMS over objects found by different passes and drops those
// under the minimum size.
func (r *Refine) merge(objs []meta.Object) []meta.Object {
	objs = models.NMSObjects(objs, r.nms)
	if r.minSize > 0 {
		objs = slices.DeleteFunc(objs, func(o meta.Object) bool { return o.Box.W < r.minSize || o.Box.H < r.minSize })
	}
	return objs
}

// secondPassFace is the largest face, in the second pass's input pixels,
// that it finds as well as the frame pass (YuNet's largest anchor is 256).
const secondPassFace = 192

// overlapsAny says whether o overlaps one of objs: IoU above iou, or its
// centre inside one.
func overlapsAny(o meta.Object, objs []meta.Object, iou float32) bool {
	cx, cy := o.Box.X+o.Box.W/2, o.Box.Y+o.Box.H/2
	for _, f := range objs {
		if models.IoU(o.Box, f.Box) > iou || (cx >= f.Box.X && cx <= f.Box.X+f.Box.W && cy >= f.Box.Y && cy <= f.Box.Y+f.Box.H) {
			return true
		}
	}
	return false
}

// split parts objs into those scoring at least score and the others (new
// slices: objs is left as it is).
func split(objs []meta.Object, score float32) (sure, doubtful []meta.Object) {
	for _, o := range objs {
		if o.Score >= score {
			sure = append(sure, o)
		} else {
			doubtful = append(doubtful, o)
		}
	}
	return sure, doubtful
}

// run draws layout l of img onto the canvas, runs e on it, decodes with
// dec and returns what it found in frame coordinates, each object reported
// by the piece it falls in (and only if its centre is in that piece's keep
// area).
func (r *Refine) run(ctx context.Context, e Engine, dec models.Decoder, img gocv.Mat, l layout) ([]meta.Object, error) {
	if r.canvas.Rows() != l.h || r.canvas.Cols() != l.w {
		_ = r.canvas.Close()
		r.canvas = gocv.NewMatWithSize(l.h, l.w, gocv.MatTypeCV8UC3)
	}
	r.canvas.SetTo(gocv.NewScalar(0, 0, 0, 0))
	for _, p := range l.pieces {
		if p.src.Empty() || p.dst.Empty() || !p.src.In(image.Rect(0, 0, img.Cols(), img.Rows())) || !p.dst.In(image.Rect(0, 0, l.w, l.h)) {
			return nil, fmt.Errorf("bad piece %v -> %v on a %dx%d canvas", p.src, p.dst, l.w, l.h)
		}
		src := img.Region(p.src)
		dst := r.canvas.Region(p.dst)
		if p.dst.Dx() == p.src.Dx() && p.dst.Dy() == p.src.Dy() {
			src.CopyTo(&dst)
		} else {
			interp := gocv.InterpolationLinear
			if p.k < 1 {
				interp = gocv.InterpolationArea
			}
			gocv.Resize(src, &dst, p.dst.Size(), 0, 0, interp)
		}
		_ = dst.Close()
		_ = src.Close()
	}
	mean := gocv.NewScalar(r.spec.Mean, r.spec.Mean, r.spec.Mean, 0)
	blob := gocv.BlobFromImage(r.canvas, r.spec.Scale, image.Pt(l.w, l.h), mean, r.spec.Color == models.RGB, false)
	defer blob.Close()
	data, err := blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	outs, err := e.Infer(ctx, meta.Tensor{Name: r.spec.InputName, Shape: []int{1, 3, l.h, l.w}, Data: data})
	if err != nil {
		return nil, err
	}
	g := meta.Geometry{FrameW: l.w, FrameH: l.h, InputW: l.w, InputH: l.h, ScaleX: 1, ScaleY: 1}
	objs, err := dec.Decode(outs, g)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	out := objs[:0]
	for _, o := range objs {
		cx, cy := o.Box.X+o.Box.W/2, o.Box.Y+o.Box.H/2
		for _, p := range l.pieces {
			if !image.Pt(int(cx), int(cy)).In(p.dst) {
				continue
			}
			x1, y1 := p.toFrame(o.Box.X, o.Box.Y)
			x2, y2 := p.toFrame(o.Box.X+o.Box.W, o.Box.Y+o.Box.H)
			x1, y1 = max(x1, 0), max(y1, 0)
			x2, y2 = min(x2, float32(img.Cols())), min(y2, float32(img.Rows()))
			fx, fy := (x1+x2)/2, (y1+y2)/2
			k := p.keep
			if x2 <= x1 || y2 <= y1 || fx < k.X || fy < k.Y || fx >= k.X+k.W || fy >= k.Y+k.H {
				break
			}
			o.Box = meta.Rect{X: x1, Y: y1, W: x2 - x1, H: y2 - y1}
			lm := make([]meta.Point, len(o.Landmarks))
			for i, pt := range o.Landmarks {
				lm[i].X, lm[i].Y = p.toFrame(pt.X, pt.Y)
			}
			o.Landmarks = lm
			out = append(out, o)
			break
		}
	}
	return out, nil
}

// Close releases the engines and the canvas. It is idempotent.
func (r *Refine) Close() error {
	if r == nil || r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	if r.pass != nil {
		errs = append(errs, r.pass.Close())
	}
	if r.check != nil {
		errs = append(errs, r.check.Close())
	}
	for _, m := range []*gocv.Mat{&r.canvas, &r.gray, &r.quarter} {
		if m.Ptr() != nil {
			_ = m.Close()
		}
	}
	return errors.Join(errs...)
}
