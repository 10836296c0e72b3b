package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stallSource sends n frames, then blocks in Read until its context is
// cancelled: a camera that only stops when told to.
type stallSource struct {
	n, next  int
	live     bool
	released *atomic.Int64
	closed   atomic.Int32
}

func (s *stallSource) Read(ctx context.Context) (*Frame, error) {
	if s.next < s.n {
		f := &Frame{Number: int64(s.next), Captured: time.Now()}
		f.OnRelease(func() { s.released.Add(1) })
		s.next++
		return f, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *stallSource) Info() SourceInfo { return SourceInfo{Name: "stall", Live: s.live, Frames: -1} }
func (s *stallSource) Close() error     { s.closed.Add(1); return nil }

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startRun runs l in the background; the returned func waits (20 s at most)
// for Run's result.
func startRun(t *testing.T, l *Line, ctx context.Context) (wait func() error, done <-chan struct{}) {
	t.Helper()
	errc := make(chan error, 1)
	ch := make(chan struct{})
	go func() { errc <- l.Run(ctx); close(ch) }()
	return func() error {
		t.Helper()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("line did not finish within 20s")
			return nil
		}
	}, ch
}

func TestAttachWhileRunning(t *testing.T) {
	var released atomic.Int64
	first := &stallSource{n: 3, released: &released}
	later := &countSource{n: 30, released: &released}
	sink := &collectSink{}
	l := New()
	id0, err := l.Attach(first, LinkOptions{})
	require.NoError(t, err)
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter), ProcessorFunc(jitter))
	l.AddSink(sink)
	var probed [2]atomic.Int64
	require.NoError(t, l.Probe("source", Out, func(f *Frame) bool { probed[f.SourceID].Add(1); return true }))

	wait, _ := startRun(t, l, context.Background())
	waitFor(t, "the first source's frames", func() bool { return len(sink.numbers(0)) == 3 })
	id1, err := l.Attach(later, LinkOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, []int{id0, id1}, "ids count in the order of Attach")
	waitFor(t, "the attached source's frames", func() bool { return len(sink.numbers(1)) == 30 })
	require.NoError(t, l.Detach(id0)) // the only way the first source ends
	require.NoError(t, wait())

	assert.Equal(t, seq(3), sink.numbers(0))
	assert.Equal(t, seq(30), sink.numbers(1), "every frame of the new source, in order, with its id")
	assert.EqualValues(t, 30, probed[1].Load(), "source probes apply to sources attached later")
	assert.EqualValues(t, 33, released.Load())
	assert.EqualValues(t, 1, first.closed.Load())
	assert.EqualValues(t, 1, later.closed.Load())
	st := l.Stats()
	require.Len(t, st.Stages, 4)
	assert.Equal(t, "source1", st.Stages[1].Name)
	assert.EqualValues(t, 33, st.Frames)
	_, err = l.Attach(&countSource{released: &released}, LinkOptions{})
	assert.ErrorIs(t, err, ErrLineStopped)
}

func TestDetachABlockedSource(t *testing.T) {
	var released atomic.Int64
	src := &stallSource{n: 7, released: &released}
	sink := &collectSink{}
	l := New()
	l.AddSource(src, LinkOptions{})
	l.AddSink(sink)
	wait, done := startRun(t, l, context.Background())
	waitFor(t, "the frames read before Detach", func() bool { return len(sink.numbers(0)) == 7 })
	select {
	case <-done:
		t.Fatal("the line ended while its source was still running")
	default:
	}
	assert.Equal(t, meta.SourceRunning, l.Sources()[0].State)
	require.NoError(t, l.Detach(0))
	require.NoError(t, wait())
	assert.Equal(t, seq(7), sink.numbers(0))
	assert.EqualValues(t, 1, src.closed.Load(), "closed once")
	assert.EqualValues(t, 7, released.Load())
	st := l.Sources()
	require.Len(t, st, 1)
	assert.Equal(t, SourceStatus{ID: 0, Name: "stall", State: meta.SourceStopped, Frames: 7}, st[0])
	require.NoError(t, l.Detach(0), "detaching an ended source does nothing")
	require.ErrorIs(t, l.Detach(99), ErrNoSource)
	require.ErrorIs(t, l.Detach(-1), ErrNoSource)
}

// ender records, for each source, how many frames it saw and how many it
// had seen each time EndSource was called. It is a Processor, a
// BatchProcessor and a Sink.
type ender struct {
	mu    sync.Mutex
	seen  map[int]int
	ended map[int][]int
	ends  map[int]SourceEnd // the last SourceEnd of each source, as it arrived
	fail  error
	// add, when set, is appended to each SourceEnd's Events (a tracker's
	// meta.TrackLeft events).
	add *meta.TrackEvent
}

func (e *ender) see(fs ...*Frame) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen == nil {
		e.seen = map[int]int{}
	}
	for _, f := range fs {
		e.seen[f.SourceID]++
	}
}

func (e *ender) Process(ctx context.Context, f *Frame) error { e.see(f); return jitter(ctx, f) }
func (e *ender) Write(_ context.Context, f *Frame) error     { e.see(f); return nil }
func (e *ender) ProcessBatch(_ context.Context, fs []*Frame) error {
	e.see(fs...)
	return nil
}
func (e *ender) Close() error { return nil }

func (e *ender) EndSource(_ context.Context, end *SourceEnd) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended == nil {
		e.ended, e.ends = map[int][]int{}, map[int]SourceEnd{}
	}
	id := end.SourceID
	e.ended[id] = append(e.ended[id], e.seen[id])
	seen := *end // as it arrived: a later stage may append to end.Events
	seen.Events = slices.Clone(end.Events)
	e.ends[id] = seen
	if e.add != nil {
		end.Events = append(end.Events, *e.add)
	}
	return e.fail
}

func (e *ender) endings() map[int][]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[int][]int{}
	for k, v := range e.ended {
		out[k] = append([]int(nil), v...)
	}
	return out
}

func TestEndOfSourceMarkers(t *testing.T) {
	lengths := []int{9, 40, 23}
	var released atomic.Int64
	l := New()
	for i, n := range lengths {
		l.AddSource(&countSource{n: n, pace: time.Duration(i) * 300 * time.Microsecond, released: &released}, LinkOptions{})
	}
	serial := &ender{}
	l.AddStage("serial", LinkOptions{}, serial)
	parallel := []*ender{{}, {}, {}}
	l.AddStage("parallel", LinkOptions{Policy: DropOldest, Queue: 1}, parallel[0], parallel[1], parallel[2])
	batch := &ender{}
	l.AddBatchStage("batch", BatchOptions{Max: 4, Timeout: time.Millisecond}, batch)
	sinkEnder, plain := &ender{}, &collectSink{}
	l.AddSink(plain, sinkEnder)
	require.NoError(t, runWithDeadline(t, l, context.Background()))

	want := map[int][]int{}
	total := 0
	for id, n := range lengths {
		want[id] = []int{n}
		total += n
	}
	seen := map[int]int{}
	for _, p := range parallel {
		assert.Empty(t, p.endings(), "a stage with several workers is not told")
		for id, n := range p.seen {
			seen[id] += n
		}
	}
	dropped := l.Stats().Stages[len(lengths)+1].Dropped
	assert.EqualValues(t, total, int64(seen[0]+seen[1]+seen[2])+dropped, "no marker reached Process")
	assert.Empty(t, batch.endings(), "a batch stage is not told")
	assert.Equal(t, want, serial.endings(), "serial stage: once per source, after its last frame")
	for id := range lengths {
		got := sinkEnder.endings()[id]
		require.Len(t, got, 1, "sink: once for source %d", id)
		assert.Equal(t, len(plain.numbers(id)), got[0], "sink: after the last frame of source %d", id)
		assert.Equal(t, sinkEnder.seen[id], got[0])
	}
	assert.EqualValues(t, total, released.Load())
	// Markers are not counted; frames dropped at the link into "parallel"
	// never reach it or what follows.
	wantIn := map[string]int64{"serial": int64(total), "parallel": int64(total) - dropped, "batch": int64(total) - dropped, "sink": int64(total) - dropped}
	for _, s := range l.Stats().Stages[len(lengths):] {
		assert.Equal(t, wantIn[s.Name], s.In, "in: %s", s.Name)
		assert.Equal(t, wantIn[s.Name], s.Out, "out: %s", s.Name)
		if s.Name == "batch" {
			var frames int64
			for size, n := range s.BatchSizes {
				frames += int64(size) * n
			}
			assert.Equal(t, wantIn["batch"], frames, "no marker in a batch")
		}
	}
}

// TestSourceEndSaysHowTheSourceEnded: the SourceEnd on a marker tells the
// state, the error and the next frame number, and what a stage adds to it
// reaches the sinks.
func TestSourceEndSaysHowTheSourceEnded(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.KeepAlive = true
	l.AddSource(&countSource{n: 5, released: &released}, LinkOptions{})
	l.AddSource(&countSource{n: 9, failAt: 3, released: &released}, LinkOptions{})
	left := meta.TrackEvent{Kind: meta.TrackLeft, TrackID: 7, Label: "face", Frames: 2}
	stage, sink := &ender{add: &left}, &ender{}
	l.AddStage("tracker", LinkOptions{}, stage)
	l.AddSink(sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, _ := startRun(t, l, ctx)
	stall := &stallSource{n: 4, released: &released}
	id, err := l.Attach(stall, LinkOptions{})
	require.NoError(t, err)
	waitFor(t, "the first two sources to end and the third to send its frames", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.ends) == 2 && sink.seen[id] == 4
	})
	require.NoError(t, l.Detach(id))
	waitFor(t, "the detached source's end", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.ends) == 3
	})
	cancel()
	require.ErrorContains(t, wait(), "source count: device lost", "Run reports the failed source")

	want := map[int]SourceEnd{
		0:  {SourceID: 0, SourceName: "count", State: meta.SourceEnded, NextFrame: 5},
		1:  {SourceID: 1, SourceName: "count", State: meta.SourceFailed, Err: "source count: device lost", NextFrame: 3},
		id: {SourceID: id, SourceName: "stall", State: meta.SourceStopped, NextFrame: 4},
	}
	for sid, w := range want {
		for _, e := range []*ender{stage, sink} {
			got := e.ends[sid]
			assert.False(t, got.Ended.IsZero(), "source %d: Ended is set", sid)
			got.Ended, got.Events = time.Time{}, nil
			assert.Equal(t, w, got, "source %d", sid)
		}
		assert.Empty(t, stage.ends[sid].Events, "source %d: nothing before the stage", sid)
		assert.Equal(t, []meta.TrackEvent{left}, sink.ends[sid].Events, "source %d: the stage's event reaches the sink", sid)
	}
	assert.EqualValues(t, 5+3+4, released.Load())
}

func TestEndSourceErrorIsFatal(t *testing.T) {
	cases := []struct {
		name    string
		build   func(l *Line, e *ender)
		wantErr string
	}{
		{"stage", func(l *Line, e *ender) { l.AddStage("mark", LinkOptions{}, e) }, "mark: end source 0: tracker lost"},
		{"sink", func(l *Line, e *ender) { l.AddSink(e) }, "sink: end source 0: tracker lost"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var released atomic.Int64
			l := New()
			l.KeepAlive = true // only the error can end it
			l.AddSource(&countSource{n: 5, released: &released}, LinkOptions{})
			tc.build(l, &ender{fail: errors.New("tracker lost")})
			err := runWithDeadline(t, l, context.Background())
			require.ErrorContains(t, err, tc.wantErr)
			assert.EqualValues(t, 5, released.Load())
			_, err = l.Attach(&countSource{released: &released}, LinkOptions{})
			assert.ErrorIs(t, err, ErrLineStopped)
		})
	}
}

func TestDropOldestNeverDropsAMarker(t *testing.T) {
	var released atomic.Int64
	frame := func(src int, n int64) *Frame {
		f := &Frame{SourceID: src, Number: n}
		f.OnRelease(func() { released.Add(1) })
		return f
	}
	marker := func(src int) *Frame { return &Frame{SourceID: src, endOfSource: true} }
	type item struct {
		src    int
		n      int64
		marker bool
	}
	cases := []struct {
		name     string
		queued   []*Frame
		wantErr  error
		want     []item // what the link holds after the send
		dropped  int64
		released int64
	}{
		// The marker is put back behind the frame, and the send waits for
		// room instead of dropping: here nobody receives, so it times out.
		{"marker oldest: put back, then wait", []*Frame{marker(3), frame(1, 0)}, context.DeadlineExceeded,
			[]item{{1, 0, false}, {3, 0, true}}, 0, 1},
		{"frame oldest: dropped", []*Frame{frame(1, 0), marker(3)}, nil,
			[]item{{3, 0, true}, {1, 1, false}}, 1, 1},
		{"room: nothing dropped", []*Frame{marker(3)}, nil,
			[]item{{3, 0, true}, {1, 1, false}}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			released.Store(0)
			var dropped atomic.Int64
			lk := newLink(2, DropOldest, func() { dropped.Add(1) })
			for _, f := range tc.queued {
				require.NoError(t, lk.send(context.Background(), f))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			err := lk.send(ctx, frame(1, 1))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			var got []item
			for len(lk.ch) > 0 {
				f := <-lk.ch
				got = append(got, item{f.SourceID, f.Number, f.endOfSource})
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.dropped, dropped.Load())
			assert.Equal(t, tc.released, released.Load(), "a dropped or refused frame is released")
		})
	}
}

func TestKeepAlive(t *testing.T) {
	var released atomic.Int64
	sink := &collectSink{}
	l := New()
	l.KeepAlive = true
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter))
	l.AddSink(sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, done := startRun(t, l, ctx)
	srcs := []*countSource{{n: 20, released: &released}, {n: 15, released: &released}}
	for i, src := range srcs {
		id, err := l.Attach(src, LinkOptions{})
		require.NoError(t, err)
		require.Equal(t, i, id)
		waitFor(t, fmt.Sprintf("source %d's frames", i), func() bool { return len(sink.numbers(i)) == src.n })
		waitFor(t, fmt.Sprintf("source %d ends", i), func() bool { return l.Sources()[i].State == meta.SourceEnded })
		select {
		case <-done:
			t.Fatal("a KeepAlive line ended with its sources")
		default:
		}
	}
	cancel()
	require.NoError(t, wait())
	assert.Equal(t, seq(20), sink.numbers(0))
	assert.Equal(t, seq(15), sink.numbers(1))
	assert.EqualValues(t, 35, released.Load())
	assert.EqualValues(t, 1, srcs[0].closed.Load())
	assert.EqualValues(t, 1, srcs[1].closed.Load())
	assert.EqualValues(t, 1, sink.closed.Load())

	late := &countSource{n: 1, released: &released}
	_, err := l.Attach(late, LinkOptions{})
	require.ErrorIs(t, err, ErrLineStopped)
	assert.EqualValues(t, 0, late.closed.Load(), "a refused source stays the caller's")
	assert.Len(t, l.Sources(), 2)
}

func TestKeepAliveStopWithNoSource(t *testing.T) {
	l := New()
	l.KeepAlive = true
	sink := &collectSink{}
	l.AddSink(sink)
	ctx, cancel := context.WithCancel(context.Background())
	wait, _ := startRun(t, l, ctx)
	cancel()
	require.NoError(t, wait())
	assert.EqualValues(t, 1, sink.closed.Load())
}

func TestAttachAfterTheLineStopped(t *testing.T) {
	var released atomic.Int64
	t.Run("after Run", func(t *testing.T) {
		l := New()
		l.AddSource(&countSource{n: 3, released: &released}, LinkOptions{})
		require.NoError(t, runWithDeadline(t, l, context.Background()))
		src := &countSource{n: 3, released: &released}
		_, err := l.Attach(src, LinkOptions{})
		require.ErrorIs(t, err, ErrLineStopped)
		assert.EqualValues(t, 0, src.closed.Load())
	})
	t.Run("after Close", func(t *testing.T) {
		l := New()
		before := &countSource{n: 3, released: &released}
		l.AddSource(before, LinkOptions{})
		require.NoError(t, l.Close())
		require.NoError(t, l.Close())
		assert.EqualValues(t, 1, before.closed.Load(), "Close closes a source that never ran, once")
		assert.Equal(t, meta.SourceStopped, l.Sources()[0].State)
		_, err := l.Attach(&countSource{released: &released}, LinkOptions{})
		require.ErrorIs(t, err, ErrLineStopped)
		require.ErrorContains(t, l.Run(context.Background()), "twice")
	})
	t.Run("AddSource closes what it cannot keep", func(t *testing.T) {
		l := New()
		require.NoError(t, l.Close())
		src := &countSource{released: &released}
		l.AddSource(src, LinkOptions{})
		assert.EqualValues(t, 1, src.closed.Load())
	})
	t.Run("nil source", func(t *testing.T) {
		_, err := New().Attach(nil, LinkOptions{})
		require.Error(t, err)
	})
}

func TestSourcesStates(t *testing.T) {
	var released atomic.Int64
	ended := &countSource{n: 5, released: &released}
	failed := &countSource{n: 100, failAt: 3, released: &released}
	stopped := &stallSource{n: 4, released: &released}
	detachedEarly := &countSource{n: 100, released: &released}
	l := New()
	sink := &collectSink{}
	l.AddSink(sink)
	for _, s := range []Source{ended, failed, stopped, detachedEarly} {
		_, err := l.Attach(s, LinkOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, l.Detach(3), "before Run: it will read nothing")

	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() { // Sources concurrently with Run, Detach and the sources ending: -race checks this
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			default:
				for i, st := range l.Sources() {
					if st.ID != i {
						panic("sources out of id order")
					}
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	wait, _ := startRun(t, l, context.Background())
	waitFor(t, "the stalled source's frames", func() bool { return len(sink.numbers(2)) == 4 })
	waitFor(t, "the others to end", func() bool {
		st := l.Sources()
		return st[0].State == meta.SourceEnded && st[1].State == meta.SourceFailed && st[3].State == meta.SourceStopped
	})
	require.NoError(t, l.Detach(2))
	err := wait()
	close(stop)
	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("the Sources poller did not stop")
	}
	require.ErrorContains(t, err, "source count: device lost")
	want := []SourceStatus{
		{ID: 0, Name: "count", State: meta.SourceEnded, Frames: 5},
		{ID: 1, Name: "count", State: meta.SourceFailed, Err: "source count: device lost", Frames: 3},
		{ID: 2, Name: "stall", State: meta.SourceStopped, Frames: 4},
		{ID: 3, Name: "count", State: meta.SourceStopped, Frames: 0},
	}
	assert.Equal(t, want, l.Sources())
	for i, c := range []*countSource{ended, failed, detachedEarly} {
		assert.EqualValues(t, 1, c.closed.Load(), "source %d closed once", i)
	}
	assert.EqualValues(t, 1, stopped.closed.Load())
	assert.EqualValues(t, 12, released.Load())
}

func TestSourcesCountDropsPerSource(t *testing.T) {
	var released atomic.Int64
	srcs := []*countSource{{n: 60, live: true, released: &released}, {n: 40, live: true, released: &released}}
	sink := &collectSink{delay: time.Millisecond}
	l := New()
	for _, s := range srcs {
		l.AddSource(s, LinkOptions{Queue: 1})
	}
	l.AddSink(sink)
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	st := l.Sources()
	var dropped int64
	for i, s := range st {
		assert.EqualValues(t, srcs[i].n, s.Frames)
		assert.True(t, s.Live)
		assert.EqualValues(t, s.Frames-s.Dropped, len(sink.numbers(i)), "source %d: every frame came out or was dropped at its link", i)
		dropped += s.Dropped
	}
	assert.Positive(t, dropped, "live sources behind a slow sink lose frames")
	stats := l.Stats()
	assert.Equal(t, dropped, stats.Stages[len(stats.Stages)-1].Dropped, "the first stage still counts every source's drops")
	assert.EqualValues(t, 100, released.Load())
}

// TestEndedSourcesAreForgotten: a line whose sources come and go keeps
// every running source, the last KeptEndedSources ended ones (with their
// metrics frozen, histogram dropped), and nothing else.
func TestEndedSourcesAreForgotten(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.KeepAlive = true
	sink := &collectSink{}
	l.AddStage("work", LinkOptions{}, ProcessorFunc(func(context.Context, *Frame) error { return nil }))
	l.AddSink(sink)
	stay := &stallSource{n: 1, released: &released}
	_, err := l.Attach(stay, LinkOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, _ := startRun(t, l, ctx)
	total := KeptEndedSources + 40
	for i := 0; i < total; i++ {
		_, err := l.Attach(&countSource{n: 2, released: &released}, LinkOptions{})
		require.NoError(t, err)
	}
	waitFor(t, "every short source to end", func() bool {
		sts := l.Sources()
		return len(sts) == 1+KeptEndedSources && sts[len(sts)-1].State == meta.SourceEnded && sts[len(sts)-1].Frames == 2
	})
	sts := l.Sources()
	assert.Equal(t, 0, sts[0].ID, "the running source is kept")
	assert.Equal(t, meta.SourceRunning, sts[0].State)
	assert.Equal(t, total-KeptEndedSources+1, sts[1].ID, "the oldest ended ones are forgotten")
	assert.Equal(t, total, sts[len(sts)-1].ID)
	assert.Len(t, l.Stats().Stages, 1+KeptEndedSources+2, "sources, work, sink")
	l.mu.Lock()
	for _, s := range l.sources[1:] {
		assert.Nil(t, s.metrics, "an ended source keeps no histogram")
		assert.Equal(t, int64(2), s.final.Out)
	}
	l.mu.Unlock()
	require.NoError(t, l.Detach(1), "detaching a forgotten source is a no-op")
	require.ErrorIs(t, l.Detach(total+1), ErrNoSource)
	cancel()
	require.NoError(t, wait())
	assert.Equal(t, int64(1+2*total), released.Load(), "every frame released")
	sink.mu.Lock()
	defer sink.mu.Unlock()
	n := 0
	for _, frames := range sink.seen {
		n += len(frames)
	}
	assert.Equal(t, 1+2*total, n)
}

func TestForgetEnded(t *testing.T) {
	m := map[int]int64{}
	n := KeptEndedSources + 10
	for id := 0; id < n; id++ {
		m[id] = int64(id)
		ForgetEnded(m)
	}
	require.Len(t, m, KeptEndedSources)
	assert.NotContains(t, m, 9, "the oldest ids go")
	assert.Contains(t, m, 10)
	assert.Equal(t, int64(n-1), m[n-1])
}
