package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultQueue is how many frames a link holds when LinkOptions.Queue is 0.
// Keep it small: a deep queue only adds latency, it never adds throughput.
const DefaultQueue = 2

// LinkOptions configure the link in front of a stage (or after a source).
type LinkOptions struct {
	// Policy for a full queue; Auto means DropOldest after a live source and
	// Block everywhere else.
	Policy Policy
	// Queue is the link's capacity in frames; 0 means DefaultQueue.
	Queue int
}

// Line is an assembly line: sources, then stages in order, then sinks, each
// running in its own goroutines and joined by bounded links.
//
// Build it with AddSource, AddStage, AddSink and Probe, then call Run once.
// The line owns everything added to it and closes it when Run returns.
type Line struct {
	sources []*sourceNode
	stages  []*stageNode
	sinks   []Sink
	sink    *stageNode

	// DrainTimeout bounds the graceful drain after Run's ctx is cancelled:
	// past it the line aborts and releases what is left. 0 means 30 s.
	DrainTimeout time.Duration

	latency *LatencyRecorder
	started time.Time
	ended   time.Time
	ran     bool
	mu      sync.Mutex
}

type sourceNode struct {
	id      int
	src     Source
	opts    LinkOptions
	metrics *StageMetrics
	probes  []ProbeFunc
	link    *link
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

// AddSource adds a source. Its frames get SourceID = the number of sources
// added before it.
func (l *Line) AddSource(src Source, opts LinkOptions) {
	name := "source"
	if len(l.sources) > 0 {
		name = fmt.Sprintf("source%d", len(l.sources))
	}
	l.sources = append(l.sources, &sourceNode{id: len(l.sources), src: src, opts: opts, metrics: newStageMetrics(name, "source", 1)})
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
// AddStage, plus "source" (every source's output; only Out) and "sink" (In:
// before the sinks; Out: after every sink has written the frame).
func (l *Line) Probe(stage string, pad Pad, fn ProbeFunc) error {
	if stage == "source" {
		if pad != Out {
			return errors.New("pipeline: a source has only an Out pad")
		}
		for _, s := range l.sources {
			s.probes = append(s.probes, fn)
		}
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
// the line, or until ctx is cancelled, or until the first fatal error.
//
// Cancelling ctx is a graceful stop (SIGINT): the sources stop reading, the
// frames already in the line go on to the sinks, and the sinks are
// finalized; the result is nil. A source that fails ends on its own: the
// other sources carry on, and its error is returned when the line is done.
// A fatal error from a stage or sink aborts the line at once and is
// returned. Either way, every source,
// processor and sink is closed before Run returns, and every frame still in
// the line is released.
func (l *Line) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.ran {
		l.mu.Unlock()
		return errors.New("pipeline: Run called twice")
	}
	l.ran = true
	l.started = clock()
	l.mu.Unlock()
	if len(l.sources) == 0 {
		return errors.Join(errors.New("pipeline: no source"), l.closeAll())
	}

	abort, cancelAbort := context.WithCancelCause(context.Background())
	defer cancelAbort(nil)
	var (
		failOnce sync.Once
		fatal    error
	)
	fail := func(err error) {
		failOnce.Do(func() { fatal = err; cancelAbort(err) })
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

	// Links. Each source gets its own link, with its own policy; with several
	// sources, forwarders merge them into the first stage's link so that a
	// slow source never holds back the others.
	var wg sync.WaitGroup
	var links []*link
	nodes := append([]*stageNode(nil), l.stages...)
	nodes = append(nodes, l.sinkNode())
	for _, s := range l.sources {
		p := s.opts.Policy
		if p == Auto {
			p = Block
			if s.src.Info().Live {
				p = DropOldest
			}
		}
		next := nodes[0].metrics
		s.link = newLink(s.opts.Queue, p, func() { next.dropped.Add(1) })
		links = append(links, s.link)
		s.metrics.input.Store(s.link) // a source's "queue" is what it has sent and not yet been taken
	}
	first := l.sources[0].link
	if len(l.sources) > 1 {
		first = newLink(nodes[0].opts.Queue, Block, func() {})
		links = append(links, first)
		var fwg sync.WaitGroup
		for _, s := range l.sources {
			fwg.Add(1)
			wg.Add(1)
			go func(in *link) {
				defer wg.Done()
				defer fwg.Done()
				for {
					f, ok := in.recv(abort)
					if !ok {
						return
					}
					if first.send(abort, f) != nil {
						return
					}
				}
			}(s.link)
		}
		wg.Add(1)
		go func() { defer wg.Done(); fwg.Wait(); close(first.ch) }()
	}
	nodes[0].input = first
	nodes[0].metrics.input.Store(first)
	for i := 1; i < len(nodes); i++ {
		p := nodes[i].opts.Policy
		if p == Auto {
			p = Block
		}
		m := nodes[i].metrics
		nodes[i].input = newLink(nodes[i].opts.Queue, p, func() { m.dropped.Add(1) })
		m.input.Store(nodes[i].input)
		links = append(links, nodes[i].input)
	}
	l.sink.workers = []Processor{sinkWriter{sinks: l.sinks, latency: l.latency}}

	// A source that fails ends alone: the other sources go on, the frames it
	// sent drain to the sinks, and Run returns its error at the end.
	var (
		srcMu   sync.Mutex
		srcErrs []error
	)
	for _, s := range l.sources {
		wg.Add(1)
		go func(s *sourceNode) {
			defer wg.Done()
			defer close(s.link.ch)
			if err := s.run(ctx, abort); err != nil {
				srcMu.Lock()
				srcErrs = append(srcErrs, err)
				srcMu.Unlock()
			}
		}(s)
	}
	for i, n := range nodes {
		var out *link
		if i+1 < len(nodes) {
			out = nodes[i+1].input
		}
		wg.Add(1)
		go func(n *stageNode, out *link) {
			defer wg.Done()
			if out != nil {
				defer close(out.ch)
			}
			if err := n.run(abort, out); err != nil {
				fail(err)
			}
		}(n, out)
	}
	wg.Wait()
	// After an abort, frames may be left in links: release them.
	for _, lk := range links {
		lk.drain()
	}
	l.mu.Lock()
	l.ended = clock()
	l.mu.Unlock()
	closeErr := l.closeAll()
	return errors.Join(append([]error{fatal}, append(srcErrs, closeErr)...)...)
}

// Close releases everything added to a line that will not be run (a build
// that failed half-way). Run closes everything itself; after Run, Close does
// nothing.
func (l *Line) Close() error {
	l.mu.Lock()
	if l.ran {
		l.mu.Unlock()
		return nil
	}
	l.ran = true
	l.mu.Unlock()
	return l.closeAll()
}

// closeAll closes sources, then processors, then sinks (which finalizes the
// outputs), and joins their errors.
func (l *Line) closeAll() error {
	var errs []error
	for _, s := range l.sources {
		if err := s.src.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close source %s: %w", s.src.Info().Name, err))
		}
	}
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

func (s *sourceNode) run(stop, abort context.Context) error {
	readCtx, cancel := context.WithCancel(abort)
	defer cancel()
	defer context.AfterFunc(stop, cancel)()
	info := s.src.Info()
	for readCtx.Err() == nil {
		t0 := clock()
		f, err := s.src.Read(readCtx)
		s.metrics.observe(clock().Sub(t0))
		if err != nil {
			f.Release()
			if errors.Is(err, ErrEndOfStream) || readCtx.Err() != nil {
				return nil
			}
			return fmt.Errorf("source %s: %w", info.Name, err)
		}
		s.metrics.in.Add(1)
		f.SourceID = s.id
		if f.SourceName == "" {
			f.SourceName = info.Name
		}
		if !runProbes(s.probes, f) {
			s.metrics.probed.Add(1)
			f.Release()
			continue
		}
		s.metrics.out.Add(1)
		if s.link.send(abort, f) != nil {
			return nil
		}
	}
	return nil
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
	for _, s := range l.sources {
		st.Stages = append(st.Stages, s.metrics.Snapshot())
	}
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
