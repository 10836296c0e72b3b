package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
	"github.com/conveyor-vision/conveyor/pipeline/track"
)

// MinFrames is the fewest measured frames a bench accepts: fewer give
// percentiles and rates that mean nothing.
const MinFrames = 10

// MaxMemoryBytes bounds the decoded clip kept for memory replay.
const MaxMemoryBytes = 2 << 30

// Replay modes: how frames reach every mode.
const (
	ReplayMemory = "memory"
	ReplayFile   = "file"
)

// Options configure a bench run.
type Options struct {
	// Source is a video file.
	Source string
	// Replay is ReplayMemory (decode the clip once, replay it, repeating it
	// to reach Warmup+Frames: measures compute, not the disk or the video
	// decoder) or ReplayFile (every mode reads the file, repeated).
	Replay string
	// Frames are measured in each mode, after Warmup frames that are not.
	Frames int
	Warmup int
	// Modes run in this order. The reference for detection agreement is
	// "sequential" when present, else the first mode that ran.
	Modes []Mode
	// Model is the detector (infer.Open), Backend its name for the report.
	Model   *infer.Model
	Backend string
	// Threads is OpenCV's thread count in the Go modes when the user set
	// one; 0 lets each mode run as it would by default: the sequential
	// loop with OpenCV's default (every core, as the seeds' loop), the
	// pipelined modes with Tune's choice.
	Threads int
	// Tune chooses the pipelined mode's inference workers and OpenCV
	// threads for a frame size, as `conveyor run` does; nil: 1 and 1.
	Tune func(w, h int) (Tuned, error)
	// Encode is the video encoder of the Go modes' output.
	Encode sink.EncoderOptions
	// Queue is each link's capacity in the pipelined modes (0: 2).
	Queue int
	// Track, when set, adds the tracker after detection in the Go modes,
	// as conveyor run's default line has it (it keeps a face blurred
	// through a missed detection). The small-face pass (refine) is in
	// them when Model.MinFace > 0, with as many workers as inference.
	Track *track.Options
	// Blur is the blur stage; Mode NoBlur leaves the stage out.
	Blur post.BlurOptions
	// Python finds the baseline's interpreter and script.
	Python PythonOptions
	// Dir is the report folder, created if missing. Each mode's output
	// video is written there too (<mode>.mp4).
	Dir string
	// Rounds runs every mode this many times, round-robin, and keeps each
	// mode's median round (0: 1).
	Rounds int
	// TimelineFrames is how many frames the timeline chart shows (0: 30).
	TimelineFrames int
	// Log, if set, gets one line as each mode starts and ends.
	Log func(format string, args ...any)
}

func (o *Options) validate() error {
	var errs []error
	if o.Source == "" {
		errs = append(errs, errors.New("source: a video file is needed"))
	}
	if o.Replay == "" {
		o.Replay = ReplayMemory
	}
	if o.Replay != ReplayMemory && o.Replay != ReplayFile {
		errs = append(errs, fmt.Errorf("replay: %q: want memory or file", o.Replay))
	}
	if o.Frames < MinFrames {
		errs = append(errs, fmt.Errorf("frames: %d measured frames are too few to measure: want at least %d", o.Frames, MinFrames))
	}
	if o.Warmup < 0 {
		errs = append(errs, fmt.Errorf("warmup: %d: want 0 or more", o.Warmup))
	}
	if len(o.Modes) == 0 {
		errs = append(errs, errors.New("modes: no mode to run"))
	}
	if o.Model == nil {
		errs = append(errs, errors.New("model: none given"))
	}
	if o.Dir == "" {
		errs = append(errs, errors.New("report: a folder is needed"))
	}
	if err := o.Blur.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("blur: %w", err))
	}
	if o.Rounds < 0 || o.Rounds > 20 {
		errs = append(errs, fmt.Errorf("rounds: %d: want 1 to 20", o.Rounds))
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	if o.TimelineFrames <= 0 {
		o.TimelineFrames = 30
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// Tuned is what Options.Tune chose: workers and threads, and a line that
// says how.
type Tuned struct {
	Workers, Threads int
	Note             string
}

// runner holds what every mode shares.
type runner struct {
	o      Options
	clip   []gocv.Mat // memory replay
	fps    float64
	total  int
	report *Report
	tuned  Tuned
}

// Run measures every mode over the same frames, then writes report.json
// and report.html into o.Dir and returns the report. A mode that fails
// fails the run, except the Python baseline, which is skipped with its
// reason.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: report folder: %w", err)
	}
	r := &runner{o: o, total: o.Warmup + o.Frames}
	defer r.close()
	if err := r.loadSource(); err != nil {
		return nil, err
	}
	rep := r.report
	r.tuned = Tuned{Workers: 1, Threads: 1}
	if o.Tune != nil {
		t, err := o.Tune(rep.FrameW, rep.FrameH)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		r.tuned = t
		if t.Note != "" {
			rep.Notes = append(rep.Notes, "pipelined: "+t.Note)
		}
	}
	rep.Host.LoadBefore = loadAvg()
	// Round-robin over the modes, so that a change in the machine's load
	// (other users) falls on every mode alike; each mode keeps its median
	// round.
	rounds := make([][]*Result, len(o.Modes))
	for round := 1; round <= o.Rounds; round++ {
		for i, m := range o.Modes {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			if round > 1 && rounds[i][0].Skipped != "" {
				continue
			}
			res, err := r.runMode(ctx, m, round)
			if err != nil {
				return nil, err
			}
			rounds[i] = append(rounds[i], res)
		}
	}
	for _, rs := range rounds {
		rep.Modes = append(rep.Modes, median(rs))
	}
	rep.Host.LoadAfter = loadAvg()
	rep.compare()
	rep.verdict()
	if err := rep.WriteJSON(filepath.Join(o.Dir, JSONFile)); err != nil {
		return rep, err
	}
	if err := rep.WriteHTML(filepath.Join(o.Dir, HTMLFile)); err != nil {
		return rep, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, TextFile), []byte(rep.table()), 0o644); err != nil {
		return rep, fmt.Errorf("bench: report: %w", err)
	}
	return rep, nil
}

// runMode runs one round of one mode.
func (r *runner) runMode(ctx context.Context, m Mode, round int) (*Result, error) {
	o := r.o
	tag := m.Name
	if o.Rounds > 1 {
		tag = fmt.Sprintf("%s (round %d of %d)", m.Name, round, o.Rounds)
	}
	o.Log("bench: %s: %d frames…", tag, r.total)
	var res *Result
	var err error
	busy := startOthers()
	switch m.Kind {
	case Sequential, Pipelined:
		res, err = r.runGo(ctx, m)
	case Python:
		res = r.runPython(ctx, m)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: mode %s: %w", m.Name, err)
	}
	res.OthersCores = busy.stop()
	res.Load = loadAvg()
	if res.Skipped != "" {
		o.Log("bench: %s: skipped: %s", tag, res.Skipped)
	} else {
		o.Log("bench: %s: %.1f FPS", tag, res.FPS)
	}
	return res, nil
}

// median returns the round with the median FPS (the lower middle one for
// an even count), with every round's FPS in RoundsFPS.
func median(rs []*Result) *Result {
	if len(rs) == 1 {
		return rs[0]
	}
	sorted := append([]*Result(nil), rs...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].FPS < sorted[b].FPS })
	m := sorted[(len(sorted)-1)/2]
	for _, r := range rs {
		m.RoundsFPS = append(m.RoundsFPS, r.FPS)
	}
	return m
}

func (r *runner) close() {
	for i := range r.clip {
		_ = r.clip[i].Close()
	}
	r.clip = nil
}

// loadSource opens the video once: it learns its size and frame count and,
// for memory replay, decodes up to total frames into memory.
func (r *runner) loadSource() error {
	o := r.o
	st, err := os.Stat(o.Source)
	if err != nil {
		return fmt.Errorf("bench: source: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("bench: source %s is a folder: want a video file", o.Source)
	}
	src, err := camera.Open(o.Source, camera.Options{})
	if err != nil {
		return fmt.Errorf("bench: source: %w", err)
	}
	defer src.Close()
	info := src.Info()
	if info.Live {
		return fmt.Errorf("bench: source %s is live: want a video file", o.Source)
	}
	r.fps = info.FPS
	spec := o.Model.Spec
	dopts := o.Model.Opts
	if dopts.ScoreThreshold == 0 {
		dopts.ScoreThreshold = spec.DefaultScore
	}
	if dopts.NMSThreshold == 0 {
		dopts.NMSThreshold = models.DefaultNMSThreshold
	}
	blur := string(o.Blur.Mode)
	if o.Blur.Mode != post.NoBlur {
		shape := "rect"
		if o.Blur.Shape == post.Ellipse {
			shape = "ellipse"
		}
		blur = fmt.Sprintf("%s %s pad %.2f", o.Blur.Mode, shape, o.Blur.Pad)
	}
	rep := &Report{
		Created: time.Now().UTC().Truncate(time.Second), Source: o.Source, Replay: o.Replay,
		Frames: o.Frames, Warmup: o.Warmup, Rounds: o.Rounds,
		Model: o.Model.Path, Spec: spec.Name, InputSize: o.Model.Input.String(),
		Score: dopts.ScoreThreshold, NMS: dopts.NMSThreshold, Backend: o.Backend, Blur: blur, Queue: o.Queue,
		Host: Host{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), OpenCVThreads: infer.NumThreads()},
	}
	if rep.InputSize == "" {
		rep.InputSize = "default"
	}
	r.report = rep
	for len(r.clip) < r.total {
		f, err := src.Read(context.Background())
		if errors.Is(err, pipeline.ErrEndOfStream) {
			break
		}
		if err != nil {
			return fmt.Errorf("bench: source: %w", err)
		}
		if rep.FrameW == 0 {
			rep.FrameW, rep.FrameH = f.Image.Cols(), f.Image.Rows()
			if o.Replay == ReplayFile {
				f.Release()
				break
			}
			if need := int64(f.Image.Total()) * int64(f.Image.ElemSize()) * int64(r.total); need > MaxMemoryBytes {
				f.Release()
				return fmt.Errorf("bench: source %s: %d frames of %dx%d need %d MiB in memory (more than %d): use --replay file or fewer --frames",
					o.Source, r.total, rep.FrameW, rep.FrameH, need>>20, MaxMemoryBytes>>20)
			}
		}
		r.clip = append(r.clip, f.Image.Clone())
		f.Release()
	}
	if rep.FrameW == 0 {
		return fmt.Errorf("bench: source %s: no frames", o.Source)
	}
	rep.ClipFrames, rep.Decoded = info.Frames, len(r.clip)
	if o.Replay == ReplayMemory && len(r.clip) < r.total {
		rep.ClipFrames = len(r.clip) // read to its end
	}
	plan, err := spec.Plan(o.Model.Input, rep.FrameW, rep.FrameH)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	rep.InputW, rep.InputH = plan.InputW, plan.InputH
	if o.Replay == ReplayMemory {
		rep.Notes = append(rep.Notes, fmt.Sprintf("frames: %d frames of the clip were decoded once into memory and replayed, repeated to %d frames; every mode got the same frames, so video decoding and the disk are not measured", rep.Decoded, r.total))
	} else {
		rep.Notes = append(rep.Notes, fmt.Sprintf("frames: every mode read %s from the file (repeated to %d frames): video decoding is measured as the source stage", o.Source, r.total))
	}
	return nil
}

// newSource makes the mode's frame source, ending after total frames.
func (r *runner) newSource() (pipeline.Source, error) {
	if r.o.Replay == ReplayMemory {
		return &replay{clip: r.clip, total: int64(r.total), fps: r.fps, name: r.o.Source}, nil
	}
	repeat := r.total // unknown length: enough passes for any clip
	if n := r.report.ClipFrames; n > 0 {
		repeat = (r.total+n-1)/n + 1 // a pass more, in case the container overstates its length
	}
	src, err := camera.Open(r.o.Source, camera.Options{Repeat: repeat})
	if err != nil {
		return nil, err
	}
	return pipeline.Limit(src, int64(r.total)), nil
}

// replay hands out clones of the decoded clip, in order, repeating it.
type replay struct {
	clip  []gocv.Mat
	n     int64
	total int64
	fps   float64
	name  string
}

func (s *replay) Read(ctx context.Context) (*pipeline.Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.n >= s.total {
		return nil, pipeline.ErrEndOfStream
	}
	now := time.Now()
	f := &pipeline.Frame{Number: s.n, Captured: now, Image: s.clip[s.n%int64(len(s.clip))].Clone()}
	if s.fps > 0 {
		f.PTS = time.Duration(float64(s.n) / s.fps * float64(time.Second))
	}
	s.n++
	return f, nil
}

func (s *replay) Info() pipeline.SourceInfo {
	w, h := 0, 0
	if len(s.clip) > 0 {
		w, h = s.clip[0].Cols(), s.clip[0].Rows()
	}
	return pipeline.SourceInfo{Name: s.name, FPS: s.fps, Width: w, Height: h, Frames: int(s.total)}
}

func (s *replay) Close() error { return nil }

// timed records the source stage (the read) of every frame.
type timed struct {
	pipeline.Source
	rec *recorder
}

func (s timed) Read(ctx context.Context) (*pipeline.Frame, error) {
	t := time.Since(s.rec.t0)
	var c0 cpuSample
	if s.rec.perStageCPU {
		c0 = selfCPU()
	}
	f, err := s.Source.Read(ctx)
	if err == nil && s.rec.ok(f.Number) {
		s.rec.start[0][f.Number] = t
		s.rec.finish(0, f.Number)
		if s.rec.perStageCPU {
			s.rec.stageTime(0, f.Number, selfCPU().sub(c0).total())
		}
	}
	return f, err
}

// stages are the mode's processors, in line order, with their names.
type stages struct {
	names   []string
	workers [][]pipeline.Processor
	video   *sink.Video
}

func (s *stages) close() error {
	var errs []error
	for _, ws := range s.workers {
		for _, w := range ws {
			errs = append(errs, w.Close())
		}
	}
	if s.video != nil {
		errs = append(errs, s.video.Close())
	}
	return errors.Join(errs...)
}

// newStages makes preprocess, infer ×workers, decode, refine ×workers
// (min-face > 0), track (if set), blur (unless none) and the video sink:
// conveyor run's line, the same stage types for every Go mode.
func (r *runner) newStages(m Mode) (*stages, error) {
	s := &stages{}
	add := func(name string, ps ...pipeline.Processor) {
		s.names = append(s.names, name)
		s.workers = append(s.workers, ps)
	}
	pre, err := r.o.Model.NewPreprocess()
	if err != nil {
		return nil, err
	}
	add("preprocess", pre)
	workers := max(m.Workers, 1)
	infs, err := pipeline.NewWorkers(workers, func() (pipeline.Processor, error) { return r.o.Model.NewInfer() })
	if err != nil {
		_ = s.close()
		return nil, err
	}
	add("infer", infs...)
	dec, err := r.o.Model.NewDecode()
	if err != nil {
		_ = s.close()
		return nil, err
	}
	add("decode", dec)
	if r.o.Model.MinFace > 0 {
		refs, err := pipeline.NewWorkers(workers, func() (pipeline.Processor, error) { return r.o.Model.NewRefine() })
		if err != nil {
			_ = s.close()
			return nil, err
		}
		add("refine", refs...)
	}
	if r.o.Track != nil {
		tr, err := track.New(*r.o.Track)
		if err != nil {
			_ = s.close()
			return nil, err
		}
		add("track", tr)
	}
	if r.o.Blur.Mode != post.NoBlur {
		b, err := post.NewBlur(r.o.Blur)
		if err != nil {
			_ = s.close()
			return nil, err
		}
		add("blur", b)
	}
	v, err := sink.NewVideo(sink.VideoOptions{Path: filepath.Join(r.o.Dir, m.Name+".mp4"), FPS: []float64{r.fps}, Encode: r.o.Encode})
	if err != nil {
		_ = s.close()
		return nil, err
	}
	s.video = v
	return s, nil
}

// runGo runs one Go mode.
func (r *runner) runGo(ctx context.Context, m Mode) (*Result, error) {
	// Workers and threads as this mode runs them by default, unless the
	// user set threads for every mode.
	switch {
	case m.Kind == Sequential:
		m.Threads = -1
	case m.Workers == 0:
		m.Workers, m.Threads = r.tuned.Workers, r.tuned.Threads
	default:
		m.Threads = r.tuned.Threads
	}
	if r.o.Threads > 0 {
		m.Threads = r.o.Threads
	}
	if err := infer.SetNumThreads(m.Threads); err != nil {
		return nil, err
	}
	src, err := r.newSource()
	if err != nil {
		return nil, err
	}
	st, err := r.newStages(m)
	if err != nil {
		_ = src.Close()
		return nil, err
	}
	names := append(append([]string{"source"}, st.names...), "sink")
	workers := []int{1}
	for _, ws := range st.workers {
		workers = append(workers, len(ws))
	}
	workers = append(workers, 1)
	// Give the previous mode's memory back first, or the reset peak starts
	// from it.
	debug.FreeOSMemory()
	rssOK := resetPeakRSS()
	rec := newRecorder(names, r.total, r.o.Warmup)
	res := &Result{Mode: m}
	if m.Kind == Sequential {
		err = r.sequential(ctx, timed{src, rec}, st, rec, res)
	} else {
		err = r.pipelined(ctx, timed{src, rec}, st, rec, res)
	}
	if err != nil {
		return nil, err
	}
	res.PeakRSSMB = peakRSSMB()
	if !rssOK {
		res.Info = map[string]string{"peak_rss": "process peak since start (clear_refs unavailable)"}
	}
	rec.measured(res, workers, r.o.TimelineFrames, childrenCPU())
	return res, nil
}

// sequential is the seeds' loop: each frame goes through every step before
// the next is read, on this goroutine.
func (r *runner) sequential(ctx context.Context, src pipeline.Source, st *stages, rec *recorder, res *Result) (err error) {
	defer func() {
		err = errors.Join(err, src.Close(), st.close())
	}()
	procs := make([]pipeline.Processor, len(st.workers))
	for i, ws := range st.workers {
		procs[i] = ws[0]
	}
	rec.perStageCPU = true
	sinkIdx := len(procs) + 1
frames:
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfStream) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		for i, p := range procs {
			rec.begin(i+1, f.Number)
			c0 := selfCPU()
			err := p.Process(ctx, f)
			rec.stageTime(i+1, f.Number, selfCPU().sub(c0).total())
			rec.finish(i+1, f.Number)
			if errors.Is(err, pipeline.ErrSkipFrame) {
				res.Dropped++
				f.Release()
				continue frames
			}
			if err != nil {
				f.Release()
				return fmt.Errorf("%s: %w", st.names[i], err)
			}
		}
		rec.begin(sinkIdx, f.Number)
		c0 := selfCPU()
		err = st.video.Write(ctx, f)
		rec.stageTime(sinkIdx, f.Number, selfCPU().sub(c0).total())
		rec.finish(sinkIdx, f.Number)
		if err != nil {
			f.Release()
			return fmt.Errorf("sink: %w", err)
		}
		rec.output(f)
		f.Release()
	}
}

// pipelined runs the real line, timed by probes on every pad.
func (r *runner) pipelined(ctx context.Context, src pipeline.Source, st *stages, rec *recorder, res *Result) error {
	line := pipeline.New()
	line.AddSource(src, pipeline.LinkOptions{Policy: pipeline.Block, Queue: r.o.Queue})
	link := pipeline.LinkOptions{Queue: r.o.Queue}
	for i, name := range st.names {
		line.AddStage(name, link, st.workers[i]...)
	}
	line.AddSink(st.video)
	for i, name := range append(append([]string(nil), st.names...), "sink") {
		s := i + 1
		if err := line.Probe(name, pipeline.In, func(f *pipeline.Frame) bool { rec.begin(s, f.Number); return true }); err != nil {
			_ = line.Close()
			return err
		}
		if err := line.Probe(name, pipeline.Out, func(f *pipeline.Frame) bool { rec.finish(s, f.Number); return true }); err != nil {
			_ = line.Close()
			return err
		}
	}
	if err := line.Probe("sink", pipeline.Out, func(f *pipeline.Frame) bool { rec.output(f); return true }); err != nil {
		_ = line.Close()
		return err
	}
	if err := line.Run(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // a stop: the figures would be of a partial run
	}
	for _, s := range line.Stats().Stages {
		res.Dropped += s.Dropped + s.Skipped + s.Probed
	}
	return nil
}

// compare fills what needs every mode: speed-ups, agreement, bounds and
// the ceiling.
func (rep *Report) compare() {
	var seq, ref *Result
	for _, m := range rep.Modes {
		if m.Skipped != "" {
			continue
		}
		if m.Kind == Sequential && seq == nil {
			seq = m
		}
		if ref == nil {
			ref = m
		}
	}
	if seq != nil {
		ref = seq
	}
	// The ceiling: all cores busy with the least CPU per frame seen in a Go
	// mode.
	best := math.Inf(1)
	for _, m := range rep.Modes {
		if m.Skipped == "" && m.Kind != Python && m.CPU != nil && m.CPU.PerFrameMs > 0 && m.CPU.PerFrameMs < best {
			best = m.CPU.PerFrameMs
			rep.Ceiling = Ceiling{Cores: rep.Host.CPUs, PerFrameMs: m.CPU.PerFrameMs, From: m.Name}
		}
	}
	if rep.Ceiling.PerFrameMs > 0 {
		rep.Ceiling.FPS = float64(rep.Ceiling.Cores) * 1000 / rep.Ceiling.PerFrameMs
	}
	var py *Result
	for _, m := range rep.Modes {
		if m.Skipped == "" && m.Kind == Python && m.FPS > 0 {
			py = m
		}
	}
	for _, m := range rep.Modes {
		if m.Skipped != "" {
			continue
		}
		if seq != nil && seq.FPS > 0 {
			m.Speedup = m.FPS / seq.FPS
		}
		if py != nil && m != py {
			m.VsPython = m.FPS / py.FPS
		}
		if ref != nil && m != ref {
			a := Agree(ref.Name, ref.dets, m.dets)
			m.Agreement = &a
		}
		for _, s := range m.Stages {
			if s.OwnFPS > 0 && (m.SlowestFPS == 0 || s.OwnFPS < m.SlowestFPS) {
				m.Slowest, m.SlowestFPS = s.Name, s.OwnFPS
			}
		}
		if m.SlowestFPS > 0 {
			m.Efficiency = m.FPS / m.SlowestFPS
		}
		if seq != nil && m.Kind == Pipelined {
			m.IsolatedBound = isolatedBound(seq, m)
			if m.IsolatedBound > 0 {
				m.OfIsolated = m.FPS / m.IsolatedBound
			}
		}
		if rep.Ceiling.FPS > 0 && m.Kind != Python {
			m.OfCeiling = m.FPS / rep.Ceiling.FPS
		}
	}
}

// isolatedBound is the slowest stage's throughput with the stage times of
// the sequential mode (each stage alone on the machine) and m's workers.
func isolatedBound(seq, m *Result) float64 {
	bound := math.Inf(1)
	for _, s := range m.Stages {
		for _, q := range seq.Stages {
			if q.Name == s.Name && q.MeanMs > 0 {
				bound = math.Min(bound, float64(s.Workers)*1000/q.MeanMs)
			}
		}
	}
	if math.IsInf(bound, 1) {
		return 0
	}
	return bound
}

// loadAvg is the 1-minute load average, 0 when unknown.
func loadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
