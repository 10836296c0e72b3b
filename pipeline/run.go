package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// clock is replaced in tests that need deterministic time; production uses
// time.Now.
var clock = time.Now

// runState is what Run shares with the goroutines of the sources that join
// while it runs.
type runState struct {
	stop      context.Context // Run's ctx: cancelling it stops every source
	abort     context.Context // cancelled on a fatal error
	keepAlive bool
	wg        sync.WaitGroup
	merged    *link         // every source's frames, into the first stage
	first     *stageMetrics // the first stage's, where source-link drops are counted too

	// Guarded by Line.mu.
	links        []*link // to drain after an abort
	active       int     // forwarders still running
	mergedClosed bool
	errs         []error // source failures and close errors, the first keptSourceErrors
	moreErrs     int     // how many more there were
}

// keptSourceErrors is how many source errors Run keeps for its result; the
// rest are counted, so that a line whose sources fail for months (bad
// cameras added over the API) does not grow. Line.Sources has them all.
const keptSourceErrors = 16

// addErrLocked records a source's error for Run's result. Called with
// Line.mu held.
func (rt *runState) addErrLocked(err error) {
	if len(rt.errs) < keptSourceErrors {
		rt.errs = append(rt.errs, err)
		return
	}
	rt.moreErrs++
}

// Run runs the line until every source has ended and every frame has left
// the line (unless KeepAlive is set), or until ctx is cancelled, or until
// the first fatal error. Sources may be attached and detached while it runs.
//
// Cancelling ctx is a graceful stop (SIGINT): the sources stop reading, the
// frames already in the line go on to the sinks, and the sinks are
// finalized; the result is nil. A source that fails ends on its own: the
// other sources carry on, and its error is returned when the line is done.
// So does a source whose frames a stage cannot handle (ErrBadSource). Any
// other error from a stage or sink is fatal: it aborts the line at once and
// is returned. Whenever a source ends, an end-of-source marker follows its last
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
	for _, n := range nodes {
		n.metrics.onTime = l.OnStageTime
		n.line = l
	}

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
	if rt.moreErrs > 0 {
		srcErrs = append(slices.Clip(srcErrs), fmt.Errorf("pipeline: %d more sources failed (Line.Sources lists them)", rt.moreErrs))
	}
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
	l.mu.Lock()
	if s.failure != nil { // a stage ended it (failSource): that is why it stopped
		state, err = meta.SourceFailed, s.failure
	}
	s.readDone = true
	l.mu.Unlock()
	s.end = SourceEnd{SourceID: s.id, SourceName: s.info.Name, State: state, NextFrame: s.next, Ended: clock()}
	if err != nil {
		s.end.Err = err.Error()
	}
	close(s.link.ch)
	l.mu.Lock()
	s.closed = true // from here on nobody else closes it
	l.mu.Unlock()
	closeErr := redactError(s.src.Close(), s.rawName, s.info.Name)
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.failure != nil { // failed while the marker was being written: patchEnd fixes the marker
		state, err = meta.SourceFailed, s.failure
	}
	s.state, s.err = state, err
	l.retireLocked(s)
	if err != nil {
		rt.addErrLocked(err)
	}
	if closeErr != nil {
		rt.addErrLocked(fmt.Errorf("close source %s: %w", s.info.Name, closeErr))
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
			return meta.SourceFailed, fmt.Errorf("source %s: %w", s.info.Name, redactError(err, s.rawName, s.info.Name))
		}
		s.metrics.in.Add(1)
		s.next = max(s.next, f.Number+1)
		f.SourceID = s.id
		switch f.SourceName {
		case "", s.rawName:
			f.SourceName = s.info.Name
		default: // a name of the source's own choosing: hide its secrets too
			f.SourceName = meta.RedactURI(f.SourceName)
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
		id := f.SourceID
		f.Release()
		if errors.Is(err, ErrSkipFrame) {
			n.metrics.skipped.Add(1)
			return nil, nil
		}
		if ctx.Err() != nil {
			return nil, nil // aborted: the error that caused it is already recorded
		}
		if errors.Is(err, ErrBadSource) {
			n.metrics.skipped.Add(1)
			n.failSource(id, err)
			return nil, nil
		}
		return nil, stageError(n.name, err)
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
			n.patchEnd(f.end)
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

// failSource ends the source of a frame the stage refused with
// ErrBadSource (Line.failSource); the other sources go on.
func (n *stageNode) failSource(id int, err error) {
	if n.line != nil {
		n.line.failSource(id, stageError(n.name, err))
	}
}

// patchEnd updates a marker whose source a stage has failed since its
// reader wrote it (Line.patchEnd).
func (n *stageNode) patchEnd(end *SourceEnd) {
	if n.line != nil {
		n.line.patchEnd(end)
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
