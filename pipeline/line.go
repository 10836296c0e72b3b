package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

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

	// OnStageTime, when set before Run, is called with a stage's name and
	// the time it spent on one frame (Process; for "sink", every sink's
	// Write; for a batch stage, one batch), on that stage's goroutine, from
	// the same measurement as the stage's latency in Stats. It lets a
	// caller export the line's own timings (the web server's Prometheus
	// histograms) without timing frames again. It must be quick.
	OnStageTime func(stage string, took time.Duration)

	latency *latencyRecorder

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

type sourceNode struct {
	id      int
	src     Source
	info    SourceInfo // as it was at Attach, its Name redacted (meta.RedactURI)
	rawName string     // the Name the source gave, which may hold a password
	opts    LinkOptions
	link    *link        // set when the source starts
	dropped atomic.Int64 // this source's frames dropped at its own link

	// Guarded by Line.mu (the source's own goroutine uses metrics freely
	// until it ends; then retireLocked swaps it for final).
	metrics  *stageMetrics
	final    *StageStats
	state    meta.SourceState
	err      error
	detached bool
	cancel   context.CancelFunc // stops Read; nil until the source starts
	closed   bool
	// failure is set when a stage could not handle the source's frames
	// (ErrBadSource): the source ends, failed, with it (Line.failSource).
	failure error
	// readDone: the reader has decided how the source ended (failSource
	// then patches the ended source instead of stopping its reader).
	readDone bool

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
	return s.metrics.snapshot()
}

type stageNode struct {
	name    string
	workers []Processor
	opts    LinkOptions
	metrics *stageMetrics
	in, out []ProbeFunc
	input   *link         // set in Run
	batch   *BatchOptions // nil unless added with AddBatchStage
	line    *Line         // set in Run: where a stage ends a bad source
}

// New makes an empty line.
func New() *Line {
	return &Line{latency: newLatencyRecorder(), sink: &stageNode{name: "sink", metrics: newStageMetrics("sink", "sink", 1)}}
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

func (l *Line) sinkNode() *stageNode { return l.sink }

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
		if err := redactError(s.src.Close(), s.rawName, s.info.Name); err != nil {
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
