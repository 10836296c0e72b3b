package pipeline

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// BatchProcessor works on several frames at once: DeepStream's nvinfer
// after nvstreammux, one inference call for frames from many sources.
// ProcessBatch may change every frame. Returning an error wrapping
// ErrSkipFrame drops the whole batch (counted per frame); one wrapping
// ErrBadSource drops it and ends the source of each of its frames; any
// other error stops the line. As with Processor, each value is used by one
// goroutine.
type BatchProcessor interface {
	ProcessBatch(ctx context.Context, frames []*Frame) error
	Close() error
}

// BatchOptions configure a batching stage.
type BatchOptions struct {
	LinkOptions
	// Max is the largest batch (>= 1).
	Max int
	// Timeout is how long a batch waits for more frames after its first one
	// arrived; a batch leaves when it is full or when Timeout has passed,
	// whichever comes first, so a slow or dead source never holds back the
	// others. 0 means no waiting: a batch is whatever is queued.
	Timeout time.Duration
}

// AddBatchStage adds a stage whose workers take batches. Frames leave the
// stage one by one, in the order they entered it.
func (l *Line) AddBatchStage(name string, opts BatchOptions, workers ...BatchProcessor) {
	if len(workers) == 0 {
		panic("pipeline: AddBatchStage " + name + " needs at least one worker")
	}
	if opts.Max < 1 {
		opts.Max = 1
	}
	procs := make([]Processor, len(workers))
	for i, w := range workers {
		procs[i] = batchWorker{w}
	}
	n := &stageNode{name: name, workers: procs, opts: opts.LinkOptions, metrics: newStageMetrics(name, "stage", len(workers)), batch: &opts}
	n.metrics.batches = newBatchSizes(opts.Max)
	l.stages = append(l.stages, n)
}

// batchWorker lets a BatchProcessor sit in a stage's worker list (Close is
// what the line needs from it).
type batchWorker struct{ BatchProcessor }

func (batchWorker) Process(context.Context, *Frame) error {
	return errors.New("pipeline: a batch worker was given a single frame")
}

// BatchSizes counts how many batches of each size a stage ran.
type BatchSizes struct {
	counts []atomic.Int64 // index = size
}

func newBatchSizes(max int) *BatchSizes { return &BatchSizes{counts: make([]atomic.Int64, max+1)} }

func (b *BatchSizes) add(n int) {
	if n < len(b.counts) {
		b.counts[n].Add(1)
	}
}

// snapshot returns counts by batch size (index 0 is unused).
func (b *BatchSizes) Snapshot() []int64 {
	out := make([]int64, len(b.counts))
	for i := range b.counts {
		out[i] = b.counts[i].Load()
	}
	return out
}

// asBatch gives a stage worker's batch form.
func asBatch(p Processor) BatchProcessor {
	if b, ok := p.(batchWorker); ok {
		return b.BatchProcessor
	}
	return frameWorker{p}
}

// collectBatch waits for a first frame, then gathers more until the batch
// is full, the timeout passes, or the link closes. An end-of-source marker
// ends the batch and is returned apart, to travel in a slot of its own. An
// empty batch and no marker means the link is closed (or ctx ended).
func (n *stageNode) collectBatch(ctx context.Context, opts *BatchOptions, buf []*Frame, timer *time.Timer) (batch []*Frame, marker *Frame) {
	buf = buf[:0]
	f, ok := n.input.recv(ctx)
	if !ok {
		return buf, nil
	}
	if f.endOfSource {
		return buf, f
	}
	buf = append(buf, f)
	if opts.Timeout > 0 {
		timer.Reset(opts.Timeout)
		defer func() {
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}()
	}
	for len(buf) < opts.Max {
		if opts.Timeout <= 0 {
			select {
			case f, ok := <-n.input.ch:
				if !ok {
					return buf, nil
				}
				if f.endOfSource {
					return buf, f
				}
				buf = append(buf, f)
				continue
			default:
				return buf, nil
			}
		}
		select {
		case f, ok := <-n.input.ch:
			if !ok {
				return buf, nil
			}
			if f.endOfSource {
				return buf, f
			}
			buf = append(buf, f)
		case <-timer.C:
			return buf, nil
		case <-ctx.Done():
			return buf, nil
		}
	}
	return buf, nil
}

// frameWorker runs a per-frame Processor on batches of one, so that a stage
// with several workers is a batch stage with Max 1.
type frameWorker struct{ Processor }

func (w frameWorker) ProcessBatch(ctx context.Context, fs []*Frame) error {
	return w.Process(ctx, fs[0])
}

// runBatches spreads the stage's work over its workers and keeps the order:
// a dispatcher forms batches (of one, for a per-frame stage) and numbers
// them into a ring of slots, workers fill the slots, and a collector empties
// them in number order and emits their frames one by one. An end-of-source
// marker ends the batch being collected and takes a slot of its own, which
// the dispatcher fills itself, so it leaves after every frame before it;
// no worker sees it. Slots and their buffers are reused, so the steady
// state allocates nothing.
func (n *stageNode) runBatches(ctx context.Context, out *link) error {
	// A worker's fatal error must stop the dispatcher and the other workers
	// before the caller gets to cancel the whole line.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := n.batch
	if opts == nil {
		opts = &BatchOptions{Max: 1}
	}
	type job struct {
		frames []*Frame
		slot   int
	}
	workers := len(n.workers)
	ahead := 2 * workers
	// order holds at most ahead numbers, so by the time the dispatcher sends
	// number i the collector has taken number i-ahead from it, and has
	// emptied and emitted slot i-ahead-2: with ahead+2 slots, the one the
	// dispatcher reuses is always free, buffer included.
	slots := make([]chan []*Frame, ahead+2)
	bufs := make([][]*Frame, len(slots)) // batch buffers, reused with their slot
	for i := range slots {
		slots[i] = make(chan []*Frame, 1)
		bufs[i] = make([]*Frame, 0, opts.Max)
	}
	jobs := make(chan job, workers)
	order := make(chan int, ahead)
	errc := make(chan error, workers+1)
	var wg sync.WaitGroup
	releaseAll := func(fs []*Frame) {
		for _, f := range fs {
			f.Release()
		}
	}

	wg.Add(1)
	go func() { // dispatcher
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		next := 0
		for {
			batch, marker := n.collectBatch(ctx, opts, bufs[next], timer)
			if len(batch) == 0 && marker == nil {
				return
			}
			if len(batch) > 0 {
				n.metrics.in.Add(int64(len(batch)))
				n.metrics.sampleQueue()
				if n.metrics.batches != nil {
					n.metrics.batches.add(len(batch))
				}
				select {
				case order <- next:
				case <-ctx.Done():
					releaseAll(batch)
					marker.Release()
					return
				}
				select {
				case jobs <- job{batch, next}:
				case <-ctx.Done():
					releaseAll(batch)
					marker.Release()
					return
				}
				next = (next + 1) % len(slots)
			}
			if marker != nil {
				// A marker skips the workers: it takes the next slot
				// itself, so that it leaves after the frames before it.
				select {
				case order <- next:
				case <-ctx.Done():
					marker.Release()
					return
				}
				// The slot is free (the collector has emptied it: see the
				// ring above), unless the collector has given up on ctx.
				select {
				case slots[next] <- append(bufs[next][:0], marker):
				case <-ctx.Done():
					marker.Release()
					return
				}
				next = (next + 1) % len(slots)
			}
		}
	}()
	for _, p := range n.workers {
		wg.Add(1)
		go func(p BatchProcessor) {
			defer wg.Done()
			for j := range jobs {
				kept, err := n.processBatch(ctx, p, j.frames)
				if err != nil {
					errc <- err
					return
				}
				select {
				case slots[j.slot] <- kept:
				case <-ctx.Done():
					releaseAll(kept)
				}
			}
		}(asBatch(p))
	}
	var result error
collect:
	for slot := range order {
		var frames []*Frame
		select {
		case frames = <-slots[slot]:
		case <-ctx.Done():
			break collect
		case result = <-errc:
			break collect
		}
		for i, f := range frames {
			var err error
			if f.endOfSource {
				n.patchEnd(f.end)
				err = passMarker(ctx, out, f)
			} else {
				err = n.emit(ctx, out, f)
			}
			if err != nil {
				releaseAll(frames[i+1:])
				break collect
			}
		}
	}
	if result != nil {
		cancel()
	}
	go func() {
		for range order {
		}
	}()
	wg.Wait()
	for j := range jobs {
		releaseAll(j.frames)
	}
	for _, s := range slots {
		select {
		case fs := <-s:
			releaseAll(fs)
		default:
		}
	}
	if result == nil {
		select {
		case result = <-errc:
		default:
		}
	}
	return result
}

// processBatch runs probes and the worker on one batch; it returns the
// frames to pass on (the batch slice, compacted in place).
func (n *stageNode) processBatch(ctx context.Context, p BatchProcessor, batch []*Frame) ([]*Frame, error) {
	kept := batch[:0]
	for _, f := range batch {
		if runProbes(n.in, f) {
			kept = append(kept, f)
		} else {
			n.metrics.probed.Add(1)
			f.Release()
		}
	}
	if len(kept) == 0 {
		return kept, nil
	}
	t0 := clock()
	err := p.ProcessBatch(ctx, kept)
	n.metrics.observe(clock().Sub(t0))
	if err != nil {
		bad := errors.Is(err, ErrBadSource) && ctx.Err() == nil && !errors.Is(err, ErrSkipFrame)
		for i, f := range kept {
			if bad && !slices.ContainsFunc(kept[:i], func(g *Frame) bool { return g.SourceID == f.SourceID }) {
				n.failSource(f.SourceID, err)
			}
			f.Release()
		}
		if errors.Is(err, ErrSkipFrame) || bad {
			n.metrics.skipped.Add(int64(len(kept)))
			return kept[:0], nil
		}
		if ctx.Err() != nil {
			return kept[:0], nil
		}
		return nil, stageError(n.name, err)
	}
	out := kept[:0]
	for _, f := range kept {
		if runProbes(n.out, f) {
			out = append(out, f)
		} else {
			n.metrics.probed.Add(1)
			f.Release()
		}
	}
	return out, nil
}
