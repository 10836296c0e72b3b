package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// DefaultQueue is how many frames a link holds when LinkOptions.Queue is 0.
// Keep it small: a deep queue only adds latency, it never adds throughput.
const DefaultQueue = 2

// LinkOptions configure the link in front of a stage (or after a source).
type LinkOptions struct {
	// Policy for a full queue; Auto means DropOldest after a live source and
	// Block everywhere else.
	Policy Policy `yaml:"policy" usage:"when a stage is busy: auto (drop-oldest after live sources, block for files), block or drop-oldest"`
	// Queue is the link's capacity in frames; 0 means DefaultQueue.
	Queue int `yaml:"queue" usage:"frames each link holds (0 = 2)"`
}

// Validate checks the options, naming each by its option key.
func (o LinkOptions) Validate() error {
	var errs []error
	if o.Policy < Auto || o.Policy > DropOldest {
		errs = append(errs, fmt.Errorf("policy: %v: want auto, block or drop-oldest", o.Policy))
	}
	if o.Queue < 0 || o.Queue > 1024 {
		errs = append(errs, fmt.Errorf("queue: %d is out of range: want 0 to 1024", o.Queue))
	}
	return errors.Join(errs...)
}

// Line is an assembly line: sources, then stages in order, then sinks, each
// running in its own goroutines and joined by bounded links.
//
// Build it with AddSource (or Attach), AddStage, AddSink and Probe, then
// call Run once. Sources may also come and go while Run runs: Attach adds
// one, Detach stops one, and Sources reports on every source the line has
// had (DeepStream's runtime source add/delete). Each source has its own
// goroutine and its own link, and the line merges them into the first stage.
//
// The line owns everything added to it. A source is closed as soon as its
// Read loop has returned (it ended, failed, was detached, or the line
// stopped); processors and sinks are closed when Run returns. Attach, Detach,
// Sources and Stats are safe to call from any goroutine, before, during and
// after Run; the rest of the building (AddStage, AddSink, Probe, the
// exported fields) must be done before Run.
type Line struct {
	stages []*stageNode
	sinks  []Sink
	sink   *stageNode

	// DrainTimeout bounds the graceful drain after Run's ctx is cancelled:
	// past it the line aborts and releases what is left. 0 means 30 s.
	DrainTimeout time.Duration

	// KeepAlive makes Run outlive its sources, for a line fed by Attach (a
	// server whose cameras come and go): Run does not end when every source
	// has ended, only when its ctx is cancelled (a graceful drain) or on a
	// fatal error, and Run with no source at all is allowed (it waits for
	// Attach). When false, Run ends once every source has ended and the
	// last frame has left the line, and Run with no source is an error.
	KeepAlive bool

	latency *LatencyRecorder

	mu        sync.Mutex    // guards the fields below and sourceNode's mutable ones
	sources   []*sourceNode // in id order: the running ones and the last KeptEndedSources ended
	nextID    int
	srcProbes []ProbeFunc // Probe("source", Out, ...): applies to every source, later ones too
	state     lineState
	ran       bool      // Run or Close was called
	rt        *runState // set by Run
	started   time.Time
	ended     time.Time
}

// lineState says whether Attach may add a source, and how.
type lineState int

const (
	lineBuilding lineState = iota // before Run: a source waits for Run
	lineRunning                   // Run runs: a source starts at once
	lineStopped                   // ended, draining, aborted or closed: Attach refuses
)

// runState is what Run shares with the goroutines of the sources that join
// while it runs.
type runState struct {
	stop      context.Context // Run's ctx: cancelling it stops every source
	abort     context.Context // cancelled on a fatal error
	keepAlive bool
	wg        sync.WaitGroup
	merged    *link         // every source's frames, into the first stage
	first     *StageMetrics // the first stage's, where source-link drops are counted too

	// Guarded by Line.mu.
	links        []*link // to drain after an abort
	active       int     // forwarders still running
	mergedClosed bool
	errs         []error // source failures and close errors
}

type sourceNode struct {
	id      int
	src     Source
	info    SourceInfo // as it was at Attach
	opts    LinkOptions
	link    *link        // set when the source starts
	dropped atomic.Int64 // this source's frames dropped at its own link

	// Guarded by Line.mu (the source's own goroutine uses metrics freely
	// until it ends; then retireLocked swaps it for final).
	metrics  *StageMetrics
	final    *StageStats
	state    meta.SourceState
	err      error
	detached bool
	cancel   context.CancelFunc // stops Read; nil until the source starts
	closed   bool

	// Written by the source's reader goroutine only; end is complete before
	// the source's link is closed, so its forwarder may read it after.
	next int64     // one past the highest frame number read
	end  SourceEnd // how the source ended, for its end-of-source marker
}

// statsLocked is the source's metrics: live while it runs, frozen once it
// has ended. Called with Line.mu held.
func (s *sourceNode) statsLocked() StageStats {
	if s.final != nil {
		return *s.final
	}
	return s.metrics.Snapshot()
}

type stageNode struct {
	name    string
	workers []Processor
	opts    LinkOptions
	metrics *StageMetrics
	in, out []ProbeFunc
	input   *link         // set in Run
	batch   *BatchOptions // nil unless added with AddBatchStage
}

// New makes an empty line.
func New() *Line {
	return &Line{latency: NewLatencyRecorder(), sink: &stageNode{name: "sink", metrics: newStageMetrics("sink", "sink", 1)}}
}

// AddSource adds a source while building a line: it is Attach without the
// error. Its frames get SourceID = the number of sources added before it.
// The line owns src from here on: if the line has already stopped, src is
// closed at once.
func (l *Line) AddSource(src Source, opts LinkOptions) {
	if _, err := l.Attach(src, opts); err != nil && src != nil {
		_ = src.Close()
	}
}

// AddStage adds a stage after the ones already added. Each Processor is one
// worker: pass N to run the stage on N goroutines; frames leave the stage in
// the order they entered it.
func (l *Line) AddStage(name string, opts LinkOptions, workers ...Processor) {
	if len(workers) == 0 {
		panic("pipeline: AddStage " + name + " needs at least one worker")
	}
	l.stages = append(l.stages, &stageNode{name: name, workers: workers, opts: opts, metrics: newStageMetrics(name, "stage", len(workers))})
}

// AddSink adds sinks. Every frame is written to every sink, in the order they
// were added, then released.
func (l *Line) AddSink(sinks ...Sink) { l.sinks = append(l.sinks, sinks...) }

// Probe attaches fn to one side of a stage. Stage names are those given to
// AddStage, plus "source" (every source's output, sources attached later
// included; only Out) and "sink" (In: before the sinks; Out: after every
// sink has written the frame). Add probes before Run.
func (l *Line) Probe(stage string, pad Pad, fn ProbeFunc) error {
	if stage == "source" {
		if pad != Out {
			return errors.New("pipeline: a source has only an Out pad")
		}
		l.mu.Lock()
		l.srcProbes = append(l.srcProbes, fn)
		l.mu.Unlock()
		return nil
	}
	var node *stageNode
	if stage == "sink" {
		node = l.sinkNode()
	}
	for _, s := range l.stages {
		if s.name == stage {
			node = s
		}
	}
	if node == nil {
		return fmt.Errorf("pipeline: no stage named %q", stage)
	}
	if pad == In {
		node.in = append(node.in, fn)
	} else {
		node.out = append(node.out, fn)
	}
	return nil
}

func (l *Line) sinkNode() *stageNode { return l.sink }

// Run runs the line until every source has ended and every frame has left
// the line (unless KeepAlive is set), or until ctx is cancelled, or until
// the first fatal error. Sources may be attached and detached while it runs.
//
// Cancelling ctx is a graceful stop (SIGINT): the sources stop reading, the
// frames already in the line go on to the sinks, and the sinks are
// finalized; the result is nil. A source that fails ends on its own: the
// other sources carry on, and its error is returned when the line is done.
// A fatal error from a stage or sink aborts the line at once and is
// returned. Whenever a source ends, an end-of-source marker follows its last
// frame down the line (see SourceEnder). Each source is closed as soon as
// its Read loop has returned; every processor and sink is closed before Run
// returns, and every frame still in the line is released.
func (l *Line) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.ran {
		l.mu.Unlock()
		return errors.New("pipeline: Run called twice")
	}
	l.ran = true
	l.started = clock()
	if len(l.sources) == 0 && !l.KeepAlive {
		l.state = lineStopped
		l.mu.Unlock()
		return errors.Join(errors.New("pipeline: no source"), l.closeAll())
	}

	abort, cancelAbort := context.WithCancelCause(context.Background())
	defer cancelAbort(nil)
	var (
		failOnce sync.Once
		fatal    error
	)
	fail := func(err error) {
		failOnce.Do(func() {
			fatal = err
			l.mu.Lock()
			l.stopTakingLocked()
			l.mu.Unlock()
			cancelAbort(err)
		})
	}
	// A graceful stop that takes too long becomes an abort.
	drainTimeout := l.DrainTimeout
	if drainTimeout == 0 {
		drainTimeout = 30 * time.Second
	}
	stopDrainTimer := context.AfterFunc(ctx, func() {
		t := time.NewTimer(drainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			fail(fmt.Errorf("pipeline: drain did not finish within %s after stop", drainTimeout))
		case <-abort.Done():
		}
	})
	defer stopDrainTimer()

	// Links. Each source gets its own link, with its own policy, and a
	// forwarder that merges it into the first stage's link, so that a slow
	// source never holds back the others (startSourceLocked).
	nodes := append([]*stageNode(nil), l.stages...)
	nodes = append(nodes, l.sinkNode())
	rt := &runState{stop: ctx, abort: abort, keepAlive: l.KeepAlive, first: nodes[0].metrics}
	rt.merged = newLink(nodes[0].opts.Queue, Block, func() {})
	rt.links = append(rt.links, rt.merged)
	nodes[0].input = rt.merged
	nodes[0].metrics.input.Store(rt.merged)
	for i := 1; i < len(nodes); i++ {
		p := nodes[i].opts.Policy
		if p == Auto {
			p = Block
		}
		m := nodes[i].metrics
		nodes[i].input = newLink(nodes[i].opts.Queue, p, func() { m.dropped.Add(1) })
		m.input.Store(nodes[i].input)
		rt.links = append(rt.links, nodes[i].input)
	}
	l.sink.workers = []Processor{sinkWriter{sinks: l.sinks, latency: l.latency}}

	// The line takes sources until it stops: this count on the WaitGroup
	// keeps it above zero while Attach may still Add to it.
	rt.wg.Add(1)
	l.rt = rt
	l.state = lineRunning
	for _, s := range l.sources {
		l.startSourceLocked(s)
	}
	l.mu.Unlock()
	stopTaking := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.stopTakingLocked()
		l.mu.Unlock()
	})
	defer stopTaking()

	for i, n := range nodes {
		var out *link
		if i+1 < len(nodes) {
			out = nodes[i+1].input
		}
		rt.wg.Add(1)
		go func(n *stageNode, out *link) {
			defer rt.wg.Done()
			if out != nil {
				defer close(out.ch)
			}
			if err := n.run(abort, out); err != nil {
				fail(err)
			}
		}(n, out)
	}
	rt.wg.Wait()
	// Every goroutine is done and Attach refuses now: after an abort,
	// frames may be left in links; release them.
	l.mu.Lock()
	links, srcErrs := rt.links, rt.errs
	l.mu.Unlock()
	for _, lk := range links {
		lk.drain()
	}
	l.mu.Lock()
	l.ended = clock()
	l.mu.Unlock()
	closeErr := l.closeStages()
	return errors.Join(append([]error{fatal}, append(srcErrs, closeErr)...)...)
}

// stopTakingLocked stops the line taking sources (the first call releases
// Run's hold on the WaitGroup) and, once no source is left, closes the
// merged link so that the stages drain and end. Called with l.mu held.
func (l *Line) stopTakingLocked() {
	rt := l.rt
	if l.state == lineRunning {
		l.state = lineStopped
		rt.wg.Done()
	}
	if rt.active == 0 && !rt.mergedClosed {
		rt.mergedClosed = true
		close(rt.merged.ch)
	}
}

// startSourceLocked gives s its link and starts its reader and its
// forwarder. Called with l.mu held, while the line runs.
func (l *Line) startSourceLocked(s *sourceNode) {
	rt := l.rt
	p := s.opts.Policy
	if p == Auto {
		p = Block
		if s.info.Live {
			p = DropOldest
		}
	}
	first := rt.first
	s.link = newLink(s.opts.Queue, p, func() { first.dropped.Add(1); s.dropped.Add(1) })
	s.metrics.input.Store(s.link) // a source's "queue" is what it has sent and not yet been taken
	rt.links = append(rt.links, s.link)
	readCtx, cancel := context.WithCancel(rt.abort)
	s.cancel = cancel
	if s.detached {
		cancel()
	}
	probes := l.srcProbes[:len(l.srcProbes):len(l.srcProbes)]
	rt.active++
	rt.wg.Add(2)
	go l.readSource(rt, s, readCtx, cancel, probes)
	go l.forward(rt, s)
}

// readSource runs one source's Read loop, then closes its link and the
// source itself, and records how it ended.
func (l *Line) readSource(rt *runState, s *sourceNode, readCtx context.Context, cancel context.CancelFunc, probes []ProbeFunc) {
	defer rt.wg.Done()
	stopRead := context.AfterFunc(rt.stop, cancel)
	state, err := s.run(readCtx, rt.abort, probes)
	stopRead()
	cancel()
	s.end = SourceEnd{SourceID: s.id, SourceName: s.info.Name, State: state, NextFrame: s.next, Ended: clock()}
	if err != nil {
		s.end.Err = err.Error()
	}
	close(s.link.ch)
	l.mu.Lock()
	s.closed = true // from here on nobody else closes it
	l.mu.Unlock()
	closeErr := s.src.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	s.state, s.err = state, err
	l.retireLocked(s)
	if err != nil {
		rt.errs = append(rt.errs, err)
	}
	if closeErr != nil {
		rt.errs = append(rt.errs, fmt.Errorf("close source %s: %w", s.info.Name, closeErr))
	}
}

// forward moves one source's frames into the merged link and, after the
// last one, the source's end marker. The last forwarder to end closes the
// merged link, unless KeepAlive keeps the line waiting for Attach.
func (l *Line) forward(rt *runState, s *sourceNode) {
	defer rt.wg.Done()
	for {
		f, ok := s.link.recv(rt.abort)
		if !ok {
			break
		}
		if rt.merged.send(rt.abort, f) != nil {
			break
		}
	}
	if rt.abort.Err() == nil { // after an abort markers are not needed: everything closes
		end := s.end // the reader wrote it before closing the link
		_ = rt.merged.send(rt.abort, &Frame{SourceID: s.id, SourceName: s.info.Name, endOfSource: true, end: &end})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rt.abort.Err() == nil { // drained and closed: nothing left for Run to release
		rt.links = slices.DeleteFunc(rt.links, func(k *link) bool { return k == s.link })
	}
	rt.active--
	if rt.active == 0 && (!rt.keepAlive || l.state != lineRunning) {
		l.stopTakingLocked()
	}
}

// Close releases everything added to a line that will not be run (a build
// that failed half-way). Run closes everything itself; after Run, Close does
// nothing. Attach on a closed line returns ErrLineStopped.
func (l *Line) Close() error {
	l.mu.Lock()
	if l.ran {
		l.mu.Unlock()
		return nil
	}
	l.ran = true
	l.state = lineStopped
	l.mu.Unlock()
	return l.closeAll()
}

// closeAll closes the sources that were never started, then processors,
// then sinks (which finalizes the outputs), and joins their errors.
func (l *Line) closeAll() error {
	var errs []error
	l.mu.Lock()
	var toClose []*sourceNode
	for _, s := range l.sources {
		if !s.closed {
			s.closed = true
			s.state = meta.SourceStopped
			toClose = append(toClose, s)
		}
	}
	l.mu.Unlock()
	for _, s := range toClose {
		if err := s.src.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close source %s: %w", s.info.Name, err))
		}
	}
	return errors.Join(append(errs, l.closeStages())...)
}

// closeStages closes processors, then sinks.
func (l *Line) closeStages() error {
	var errs []error
	for _, n := range l.stages {
		for _, p := range n.workers {
			if err := p.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close stage %s: %w", n.name, err))
			}
		}
	}
	for _, s := range l.sinks {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sink: %w", err))
		}
	}
	return errors.Join(errs...)
}

// run reads frames until the source ends, fails, or readCtx is cancelled
// (Detach, the line's stop, an abort), and says how it ended.
func (s *sourceNode) run(readCtx, abort context.Context, probes []ProbeFunc) (meta.SourceState, error) {
	for readCtx.Err() == nil {
		t0 := clock()
		f, err := s.src.Read(readCtx)
		s.metrics.observe(clock().Sub(t0))
		if err != nil {
			f.Release()
			if errors.Is(err, ErrEndOfStream) {
				return meta.SourceEnded, nil
			}
			if readCtx.Err() != nil {
				return meta.SourceStopped, nil
			}
			return meta.SourceFailed, fmt.Errorf("source %s: %w", s.info.Name, err)
		}
		s.metrics.in.Add(1)
		s.next = max(s.next, f.Number+1)
		f.SourceID = s.id
		if f.SourceName == "" {
			f.SourceName = s.info.Name
		}
		if !runProbes(probes, f) {
			s.metrics.probed.Add(1)
			f.Release()
			continue
		}
		s.metrics.out.Add(1)
		if s.link.send(abort, f) != nil {
			return meta.SourceStopped, nil
		}
	}
	return meta.SourceStopped, nil
}

func runProbes(probes []ProbeFunc, f *Frame) bool {
	for _, p := range probes {
		if !p(f) {
			return false
		}
	}
	return true
}

// process runs one frame through one worker with metrics and probes. It
// returns the frame to pass on, nil if the frame was dropped (and released),
// or a fatal error.
func (n *stageNode) process(ctx context.Context, p Processor, f *Frame) (*Frame, error) {
	if !runProbes(n.in, f) {
		n.metrics.probed.Add(1)
		f.Release()
		return nil, nil
	}
	t0 := clock()
	err := p.Process(ctx, f)
	n.metrics.observe(clock().Sub(t0))
	if err != nil {
		f.Release()
		if errors.Is(err, ErrSkipFrame) {
			n.metrics.skipped.Add(1)
			return nil, nil
		}
		if ctx.Err() != nil {
			return nil, nil // aborted: the error that caused it is already recorded
		}
		return nil, fmt.Errorf("%s: %w", n.name, err)
	}
	if !runProbes(n.out, f) {
		n.metrics.probed.Add(1)
		f.Release()
		return nil, nil
	}
	return f, nil
}

func (n *stageNode) run(ctx context.Context, out *link) error {
	if n.batch != nil {
		return n.runBatches(ctx, out)
	}
	if len(n.workers) == 1 {
		return n.runSerial(ctx, out)
	}
	return n.runBatches(ctx, out) // batches of one: N workers, order kept
}

func (n *stageNode) emit(ctx context.Context, out *link, f *Frame) error {
	n.metrics.out.Add(1)
	if out == nil {
		f.Release()
		return nil
	}
	return out.send(ctx, f)
}

func (n *stageNode) runSerial(ctx context.Context, out *link) error {
	p := n.workers[0]
	for {
		f, ok := n.input.recv(ctx)
		if !ok {
			return nil
		}
		if f.endOfSource {
			if err := n.endSource(ctx, p, f.end); err != nil {
				f.Release()
				return err
			}
			if passMarker(ctx, out, f) != nil {
				return nil
			}
			continue
		}
		n.metrics.in.Add(1)
		n.metrics.sampleQueue()
		f, err := n.process(ctx, p, f)
		if err != nil {
			return err
		}
		if f != nil && n.emit(ctx, out, f) != nil {
			return nil
		}
	}
}

// endSource tells p, if it is a SourceEnder, that a source has ended. A
// failure is fatal.
func (n *stageNode) endSource(ctx context.Context, p Processor, end *SourceEnd) error {
	e, ok := p.(SourceEnder)
	if !ok {
		return nil
	}
	if err := e.EndSource(ctx, end); err != nil {
		if ctx.Err() != nil {
			return nil // aborted: the error that caused it is already recorded
		}
		return fmt.Errorf("%s: end source %d: %w", n.name, end.SourceID, err)
	}
	return nil
}

// passMarker sends an end-of-source marker on, outside the metrics; after
// the last stage it is simply released.
func passMarker(ctx context.Context, out *link, marker *Frame) error {
	if out == nil {
		marker.Release()
		return nil
	}
	return out.send(ctx, marker)
}

// sinkWriter is the last stage: it writes each frame to every sink.
type sinkWriter struct {
	sinks   []Sink
	latency *LatencyRecorder
}

func (w sinkWriter) Process(ctx context.Context, f *Frame) error {
	for _, s := range w.sinks {
		if err := s.Write(ctx, f); err != nil {
			return err
		}
	}
	w.latency.Record(f.Latency(clock()))
	return nil
}

// EndSource tells every sink that is a SourceEnder, in sink order.
func (w sinkWriter) EndSource(ctx context.Context, end *SourceEnd) error {
	for _, s := range w.sinks {
		if e, ok := s.(SourceEnder); ok {
			if err := e.EndSource(ctx, end); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sinkWriter) Close() error { return nil }

// Stats is a snapshot of a line's metrics.
type Stats struct {
	// Stages lists the sources, then the stages in order, then "sink".
	Stages []StageStats `json:"stages"`
	// Frames counts frames that left the line through the sinks.
	Frames int64 `json:"frames"`
	// Wall is the time from the start of Run to its end (or to now while it
	// runs).
	Wall time.Duration `json:"wall_ns"`
	// FPS is Frames / Wall.
	FPS float64 `json:"fps"`
	// Latency percentiles, capture to the last sink.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP90 time.Duration `json:"latency_p90_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

// Stats returns the line's metrics so far; safe to call while it runs.
func (l *Line) Stats() Stats {
	var st Stats
	l.mu.Lock()
	for _, s := range l.sources {
		st.Stages = append(st.Stages, s.statsLocked())
	}
	l.mu.Unlock()
	for _, n := range l.stages {
		st.Stages = append(st.Stages, n.metrics.Snapshot())
	}
	sink := l.sinkNode().metrics.Snapshot()
	st.Stages = append(st.Stages, sink)
	st.Frames = sink.Out
	l.mu.Lock()
	start, end := l.started, l.ended
	l.mu.Unlock()
	if !start.IsZero() {
		if end.IsZero() {
			end = clock()
		}
		st.Wall = end.Sub(start)
	}
	if st.Wall > 0 {
		st.FPS = float64(st.Frames) / st.Wall.Seconds()
	}
	st.LatencyP50 = l.latency.Quantile(50)
	st.LatencyP90 = l.latency.Quantile(90)
	st.LatencyP99 = l.latency.Quantile(99)
	return st
}
