package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/post"
)

// auditConfig is everything `conveyor audit` needs: the line exactly as
// `conveyor run` would build it (every run option), and the audit's own.
type auditConfig struct {
	Config `yaml:",inline"`
	Audit  auditOptions `yaml:",inline" category:"Audit"`
}

// auditOptions are the audit's own options.
type auditOptions struct {
	// RefModel is the reference detector's model ("": the line's).
	RefModel string `yaml:"reference-model" usage:"the reference pass's ONNX model (default: the line's model)"`
	// RefScale runs the reference on the frame enlarged this many times,
	// as well as at its own size.
	RefScale float64 `yaml:"reference-scale" usage:"the reference pass runs the detector on the frame at its size and enlarged this many times"`
	// RefScore is the reference's score threshold (0: the model's).
	RefScore float32 `yaml:"reference-score" usage:"the reference pass's score threshold (0 = the model's calibrated default)"`
	// Out is the folder for the report and the frames with a miss.
	Out string `yaml:"audit-out" usage:"folder for audit.jsonl (one line per frame) and a picture of every frame where a face was not blurred"`
}

func defaultAuditConfig() auditConfig {
	return auditConfig{Config: defaultConfig(), Audit: auditOptions{RefScale: 2, Out: "out/audit"}}
}

// Validate checks the audit's own options.
func (o auditOptions) Validate() error {
	var errs []error
	if !(o.RefScale >= 0.25 && o.RefScale <= 4) {
		errs = append(errs, fmt.Errorf("reference-scale: %g is out of range: want 0.25 to 4", o.RefScale))
	}
	if o.RefScore < 0 || o.RefScore > 1 {
		errs = append(errs, fmt.Errorf("reference-score: %g is out of range: want 0 to 1", o.RefScore))
	}
	if o.Out == "" {
		errs = append(errs, errors.New("audit-out: a folder is needed"))
	}
	return errors.Join(errs...)
}

// auditHidden is how much of a face a blur must hide for the audit to call
// it blurred: 90% of the reference's box (the blur's ellipse leaves the
// box's corners, which are hair and background, and the reference's box
// may be larger than the line's).
const auditHidden = 0.9

func auditCommand() *cli.Command {
	d := defaultAuditConfig()
	return &cli.Command{
		Name:  "audit",
		Usage: "count the faces the line leaves unblurred: a slower reference pass checks every frame",
		Description: `Runs the line as conveyor run does (same options, same outputs) and, on
every frame, a reference pass: the detector on the frame at its size and
enlarged --reference-scale times, merged (or another --reference-model at
the same two scales). A face the
reference finds that the line's blur does not cover (90% of its box) is a
miss. audit.jsonl in --audit-out has one line per frame; every frame with
a miss is written there as a picture, the missed faces framed in red; the
summary counts misses and flicker (a face blurred in the frames around it
but shown sharp in one).

Examples:
   conveyor audit --source clip.mp4 --audit-out out/audit
   conveyor audit --source photos/ --reference-scale 3 --out redacted/`,
		Flags:        append([]cli.Flag{configFlag}, optionFlags(&d)...),
		Action:       auditAction,
		OnUsageError: unknownFlag,
	}
}

// auditFace is one reference face in the report.
type auditFace struct {
	Box    meta.Rect `json:"box"`
	Score  float32   `json:"score"`
	Hidden float32   `json:"hidden"`
}

// auditFrame is one line of audit.jsonl.
type auditFrame struct {
	Source    string      `json:"source"`
	SourceID  int         `json:"source_id"`
	Frame     int64       `json:"frame"`
	Path      string      `json:"path,omitempty"`
	Faces     int         `json:"reference_faces"`
	Blurred   int         `json:"blurred_objects"`
	Missed    []auditFace `json:"missed,omitempty"`
	Flicker   int         `json:"flicker,omitempty"`
	Picture   string      `json:"picture,omitempty"`
	faces     []auditFace // every reference face, hidden or not
	picture   gocv.Mat    // the blurred frame, when there is a miss
	hasMissed bool
}

// AuditSummary is the audit's result.
type AuditSummary struct {
	Frames          int     `json:"frames"`
	ReferenceFaces  int     `json:"reference_faces"`
	Missed          int     `json:"missed"`
	FramesWithMiss  int     `json:"frames_with_miss"`
	FlickerFrames   int     `json:"flicker_frames"`
	MissedFraction  float64 `json:"missed_fraction"`
	ReferenceModel  string  `json:"reference_model"`
	ReferenceScale  float64 `json:"reference_scale"`
	ReferenceScore  float32 `json:"reference_score"`
	PicturesWritten int     `json:"pictures_written"`
}

func loadAuditConfig(c *cli.Context) (auditConfig, error) {
	cfg := defaultAuditConfig()
	if err := readConfigFile(c.String("config"), &cfg); err != nil {
		return cfg, err
	}
	applyFlags(c, &cfg)
	errs := []error{cfg.Config.Validate(), cfg.Audit.Validate()}
	if cfg.Blur.Mode == post.NoBlur {
		errs = append(errs, errors.New("blur: none: there is no blur to audit"))
	}
	if cfg.Run.API {
		errs = append(errs, errors.New("api: an audit runs the sources it is given, not sources added while it runs"))
	}
	return cfg, errors.Join(errs...)
}

func auditAction(c *cli.Context) error {
	cfg, err := loadAuditConfig(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Audit.Out, 0o755); err != nil {
		return fmt.Errorf("audit-out: %w", err)
	}
	report, err := os.Create(filepath.Join(cfg.Audit.Out, "audit.jsonl"))
	if err != nil {
		return fmt.Errorf("audit-out: %w", err)
	}
	defer report.Close()
	ref, err := newReference(cfg)
	if err != nil {
		return err
	}
	defer ref.close()

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	b, err := build(ctx, cfg.Config, quit)
	if err != nil {
		return err
	}
	a := &auditor{cfg: cfg, ref: ref, w: report, last: map[int][]*auditFrame{}}
	// The reference looks at the picture the blur is given (every stage
	// before it has run; nothing is blurred yet); the verdict is taken on
	// the objects the blur hides, held ones included.
	if err := b.line.Probe("blur", pipeline.In, a.inspect); err != nil {
		b.after.close()
		_ = b.line.Close()
		return err
	}
	if err := b.line.Probe("blur", pipeline.Out, a.judge); err != nil {
		b.after.close()
		_ = b.line.Close()
		return err
	}
	runErr := b.line.Run(ctx)
	b.after.close()
	a.flushAll()
	stderr := c.App.ErrWriter
	printSummary(stderr, cfg.Config, b, b.line.Stats())
	sum := a.summary()
	fmt.Fprintf(stderr, "conveyor: audit: %d frames, %d faces found by the reference (%s at 1x and %gx, score %.2f), %d not blurred (%.2f%%) in %d frames, %d flicker frames; report %s\n",
		sum.Frames, sum.ReferenceFaces, shortPath(sum.ReferenceModel), sum.ReferenceScale, sum.ReferenceScore, sum.Missed, 100*sum.MissedFraction,
		sum.FramesWithMiss, sum.FlickerFrames, report.Name())
	if err := errors.Join(a.err, writeJSON(filepath.Join(cfg.Audit.Out, "summary.json"), sum)); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// reference is the slower detector the audit holds the line to.
type reference struct {
	det   *infer.Detector
	scale float64
	score float32
	path  string
	big   gocv.Mat
}

func newReference(cfg auditConfig) (*reference, error) {
	o := infer.Options{Model: cfg.Detect.Model, Spec: cfg.Detect.Spec, Input: models.InputSize{Frame: true}}
	if cfg.Audit.RefModel != "" {
		o = infer.Options{Model: cfg.Audit.RefModel, Input: models.InputSize{Frame: true}}
	}
	o.Decoder.ScoreThreshold = cfg.Audit.RefScore
	m, err := infer.Open(o)
	if err != nil {
		return nil, fmt.Errorf("reference-model: %w", err)
	}
	if !m.Spec.AnySize {
		return nil, fmt.Errorf("reference-model: %s runs only at %dx%d: the reference needs a model that runs at any size (YuNet)", m.Path, m.Spec.InputW, m.Spec.InputH)
	}
	det, err := m.NewDetector()
	if err != nil {
		return nil, err
	}
	score := o.Decoder.ScoreThreshold
	if score == 0 {
		score = m.Spec.DefaultScore
	}
	return &reference{det: det, scale: cfg.Audit.RefScale, score: score, path: m.Path, big: gocv.NewMat()}, nil
}

// faces runs the reference on img at its own size and enlarged r.scale
// times (the reference: YuNet at 1x and 2x) and returns their
// faces in img's pixels, merged (NMS at IoU 0.3). Both scales are needed:
// enlarged, small faces come within the model's reach and large ones leave
// it (a 1080p frame's 300 px face is 600 px at 2x, beyond YuNet's largest
// anchors).
func (r *reference) faces(img gocv.Mat) ([]meta.Object, error) {
	objs, err := r.det.Detect(context.Background(), img)
	if err != nil {
		return nil, err
	}
	if r.scale != 1 {
		gocv.Resize(img, &r.big, image.Pt(int(float64(img.Cols())*r.scale+0.5), int(float64(img.Rows())*r.scale+0.5)), 0, 0, gocv.InterpolationLinear)
		more, err := r.det.Detect(context.Background(), r.big)
		if err != nil {
			return nil, err
		}
		k := float32(r.scale)
		for _, o := range more {
			b := o.Box
			o.Box = meta.Rect{X: b.X / k, Y: b.Y / k, W: b.W / k, H: b.H / k}
			objs = append(objs, o)
		}
	}
	objs = models.NMSObjects(objs, referenceNMS)
	out := make([]meta.Object, 0, len(objs))
	for _, o := range objs {
		if !insideLarger(o.Box, objs) {
			out = append(out, o)
		}
	}
	return out, nil
}

// referenceNMS merges the reference's two scales: a face found at both is
// one face.
const referenceNMS = 0.3

// insideLarger says whether b lies mostly (70%) inside a larger box of
// objs: enlarged, a large face's eyes or mouth can score as a face of their
// own; no face is inside another.
func insideLarger(b meta.Rect, objs []meta.Object) bool {
	for _, o := range objs {
		ob := o.Box
		if ob.W*ob.H <= b.W*b.H {
			continue
		}
		iw := min(b.X+b.W, ob.X+ob.W) - max(b.X, ob.X)
		ih := min(b.Y+b.H, ob.Y+ob.H) - max(b.Y, ob.Y)
		if iw > 0 && ih > 0 && iw*ih >= 0.7*b.W*b.H {
			return true
		}
	}
	return false
}

func (r *reference) close() {
	_ = r.det.Close()
	_ = r.big.Close()
}

// auditor holds what the probes share. The probes run on the blur stage's
// goroutine (one worker), in frame order per source.
type auditor struct {
	cfg auditConfig
	ref *reference
	w   io.Writer

	mu      sync.Mutex
	pending map[*pipeline.Frame][]meta.Object // reference faces, between the two probes
	last    map[int][]*auditFrame             // per source: the frames not yet written (t-1, t)
	sum     AuditSummary
	err     error
}

// inspect runs the reference on the frame before it is blurred.
func (a *auditor) inspect(f *pipeline.Frame) bool {
	faces, err := a.ref.faces(f.Image)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("audit: reference on %s frame %d: %w", f.SourceName, f.Number, err))
		return true
	}
	if a.pending == nil {
		a.pending = map[*pipeline.Frame][]meta.Object{}
	}
	a.pending[f] = faces
	return true
}

// judge compares the reference's faces with what the blur hid.
func (a *auditor) judge(f *pipeline.Frame) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	faces := a.pending[f]
	delete(a.pending, f)
	w, h := f.Image.Cols(), f.Image.Rows()
	fr := &auditFrame{Source: f.SourceName, SourceID: f.SourceID, Frame: f.Number, Faces: len(faces), Blurred: len(a.cfg.Blur.Regions(f.Objects, w, h))}
	fr.Path, _ = f.User["path"].(string)
	for _, rf := range faces {
		af := auditFace{Box: rf.Box, Score: rf.Score, Hidden: a.cfg.Blur.Hidden(rf.Box, f.Objects, w, h)}
		fr.faces = append(fr.faces, af)
		if af.Hidden < auditHidden {
			fr.Missed = append(fr.Missed, af)
		}
	}
	if len(fr.Missed) > 0 {
		fr.hasMissed = true
		fr.picture = f.Image.Clone()
		for _, m := range fr.Missed {
			r := image.Rect(int(m.Box.X), int(m.Box.Y), int(m.Box.X+m.Box.W+0.5), int(m.Box.Y+m.Box.H+0.5))
			gocv.Rectangle(&fr.picture, r, color.RGBA{255, 0, 0, 0}, 2)
		}
	}
	// Flicker is judged one frame late: frame t is a flicker frame when a
	// face it missed was hidden in the frames before and after it.
	q := append(a.last[f.SourceID], fr)
	if len(q) == 3 {
		a.flicker(q[0], q[1], q[2])
		a.write(q[0])
		q = q[1:]
	}
	a.last[f.SourceID] = q
	return true
}

// flicker counts, on mid, the missed faces that the frames before and after
// hid (the same face: IoU > 0.3 with a face of theirs).
func (a *auditor) flicker(before, mid, after *auditFrame) {
	hiddenIn := func(fr *auditFrame, box meta.Rect) bool {
		for _, f := range fr.faces {
			if f.Hidden >= auditHidden && models.IoU(f.Box, box) > 0.3 {
				return true
			}
		}
		return false
	}
	for _, m := range mid.Missed {
		if before.Frame == mid.Frame-1 && after.Frame == mid.Frame+1 && hiddenIn(before, m.Box) && hiddenIn(after, m.Box) {
			mid.Flicker++
		}
	}
}

// write reports one frame: a line of audit.jsonl, and its picture when a
// face was missed.
func (a *auditor) write(fr *auditFrame) {
	a.sum.Frames++
	a.sum.ReferenceFaces += fr.Faces
	a.sum.Missed += len(fr.Missed)
	if fr.hasMissed {
		a.sum.FramesWithMiss++
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == ':' || r == '?' || r == '*' {
				return '_'
			}
			return r
		}, strings.TrimSuffix(filepath.Base(fr.Source), filepath.Ext(fr.Source)))
		if fr.Path != "" {
			name = strings.TrimSuffix(filepath.Base(fr.Path), filepath.Ext(fr.Path))
		}
		fr.Picture = filepath.Join(a.cfg.Audit.Out, fmt.Sprintf("missed-%d-%s-%06d.jpg", fr.SourceID, name, fr.Frame))
		if !gocv.IMWrite(fr.Picture, fr.picture) {
			a.err = errors.Join(a.err, fmt.Errorf("audit: cannot write %s", fr.Picture))
			fr.Picture = ""
		} else {
			a.sum.PicturesWritten++
		}
		_ = fr.picture.Close()
	}
	if fr.Flicker > 0 {
		a.sum.FlickerFrames++
	}
	data, err := json.Marshal(fr)
	if err == nil {
		_, err = a.w.Write(append(data, '\n'))
	}
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("audit: report: %w", err))
	}
}

// flushAll writes the frames still waiting for their next frame (the last
// of each source: no frame after them, so no flicker to judge).
func (a *auditor) flushAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, q := range a.last {
		for _, fr := range q {
			a.write(fr)
		}
		delete(a.last, id)
	}
}

func (a *auditor) summary() AuditSummary {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sum
	s.ReferenceModel, s.ReferenceScale, s.ReferenceScore = a.ref.path, a.ref.scale, a.ref.score
	if s.ReferenceFaces > 0 {
		s.MissedFraction = float64(s.Missed) / float64(s.ReferenceFaces)
	}
	return s
}
