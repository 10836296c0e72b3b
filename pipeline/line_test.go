package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }

// countSource emits n frames numbered 0..n-1, then ErrEndOfStream. With
// live set it reports itself as a camera. Each frame registers a release
// callback so tests can check every frame is released exactly once.
type countSource struct {
	n, next  int
	live     bool
	pace     time.Duration
	released *atomic.Int64
	closed   atomic.Int32
	failAt   int // return an error at this frame number when > 0
}

func (s *countSource) Read(ctx context.Context) (*Frame, error) {
	if s.failAt > 0 && s.next == s.failAt {
		return nil, errors.New("device lost")
	}
	if s.next >= s.n {
		return nil, ErrEndOfStream
	}
	if s.pace > 0 {
		select {
		case <-time.After(s.pace):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &Frame{Number: int64(s.next), Captured: time.Now()}
	f.OnRelease(func() { s.released.Add(1) })
	s.next++
	return f, nil
}

func (s *countSource) Info() SourceInfo { return SourceInfo{Name: "count", Live: s.live, Frames: s.n} }
func (s *countSource) Close() error     { s.closed.Add(1); return nil }

// collectSink records frame numbers per source in arrival order.
type collectSink struct {
	mu     sync.Mutex
	seen   map[int][]int64
	delay  time.Duration
	closed atomic.Int32
}

func (c *collectSink) Write(ctx context.Context, f *Frame) error {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[int][]int64{}
	}
	c.seen[f.SourceID] = append(c.seen[f.SourceID], f.Number)
	return nil
}

func (c *collectSink) Close() error { c.closed.Add(1); return nil }

func (c *collectSink) numbers(source int) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.seen[source]...)
}

// jitter sleeps a pseudo-random time that depends on the frame number, so
// that parallel workers finish out of order.
func jitter(ctx context.Context, f *Frame) error {
	time.Sleep(time.Duration((f.Number*7919)%5) * 200 * time.Microsecond)
	return nil
}

func runWithDeadline(t *testing.T, l *Line, ctx context.Context) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("line did not finish within 20s")
		return nil
	}
}

func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestEveryFrameComesOutInOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var released atomic.Int64
			src := &countSource{n: 200, released: &released}
			sink := &collectSink{}
			l := New()
			l.AddSource(src, LinkOptions{})
			procs := make([]Processor, workers)
			for i := range procs {
				procs[i] = ProcessorFunc(jitter)
			}
			l.AddStage("work", LinkOptions{}, procs...)
			l.AddStage("pass", LinkOptions{}, ProcessorFunc(func(context.Context, *Frame) error { return nil }))
			l.AddSink(sink)

			require.NoError(t, runWithDeadline(t, l, context.Background()))
			assert.Equal(t, seq(200), sink.numbers(0))
			assert.EqualValues(t, 200, released.Load(), "every frame released once")
			assert.EqualValues(t, 1, src.closed.Load())
			assert.EqualValues(t, 1, sink.closed.Load())
			st := l.Stats()
			for _, s := range st.Stages {
				assert.EqualValues(t, 200, s.In, s.Name)
				assert.EqualValues(t, 200, s.Out, s.Name)
			}
		})
	}
}

func TestDropOldestKeepsTheCameraRunning(t *testing.T) {
	var released atomic.Int64
	src := &countSource{n: 100, live: true, released: &released}
	sink := &collectSink{delay: 2 * time.Millisecond}
	l := New()
	l.AddSource(src, LinkOptions{Queue: 1})
	l.AddSink(sink)
	require.NoError(t, runWithDeadline(t, l, context.Background()))

	got := sink.numbers(0)
	st := l.Stats()
	sinkStats := st.Stages[len(st.Stages)-1]
	assert.Less(t, len(got), 100, "a slow sink behind a live source must cost frames")
	assert.EqualValues(t, 100-len(got), sinkStats.Dropped, "every lost frame is counted")
	assert.EqualValues(t, 100, released.Load())
	for i := 1; i < len(got); i++ {
		assert.Less(t, got[i-1], got[i], "frames stay in order")
	}
	assert.EqualValues(t, 99, got[len(got)-1], "the newest frame wins")
}

func TestBlockPolicyLosesNothingBehindASlowSink(t *testing.T) {
	var released atomic.Int64
	src := &countSource{n: 30, released: &released}
	sink := &collectSink{delay: time.Millisecond}
	l := New()
	l.AddSource(src, LinkOptions{Queue: 1})
	l.AddSink(sink)
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	assert.Equal(t, seq(30), sink.numbers(0))
}

func TestProbesSeeAndChangeFrames(t *testing.T) {
	var released atomic.Int64
	src := &countSource{n: 10, released: &released}
	sink := &collectSink{}
	l := New()
	l.AddSource(src, LinkOptions{})
	l.AddStage("detect", LinkOptions{}, ProcessorFunc(func(_ context.Context, f *Frame) error {
		f.Objects = append(f.Objects, meta.Object{Label: "face", Score: 0.9})
		return nil
	}))
	l.AddSink(sink)
	var seenIn, seenOut atomic.Int64
	require.NoError(t, l.Probe("detect", In, func(f *Frame) bool {
		seenIn.Add(int64(len(f.Objects)))
		return f.Number%2 == 0 // drop odd frames before detection
	}))
	require.NoError(t, l.Probe("detect", Out, func(f *Frame) bool {
		seenOut.Add(int64(len(f.Objects)))
		f.Objects[0].Label = "blurred-face"
		return true
	}))
	var labels []string
	require.NoError(t, l.Probe("sink", In, func(f *Frame) bool {
		labels = append(labels, f.Objects[0].Label)
		return true
	}))
	require.Error(t, l.Probe("nope", In, func(*Frame) bool { return true }))

	require.NoError(t, runWithDeadline(t, l, context.Background()))
	assert.Equal(t, []int64{0, 2, 4, 6, 8}, sink.numbers(0))
	assert.EqualValues(t, 0, seenIn.Load())
	assert.EqualValues(t, 5, seenOut.Load())
	assert.Equal(t, []string{"blurred-face", "blurred-face", "blurred-face", "blurred-face", "blurred-face"}, labels)
	assert.EqualValues(t, 10, released.Load())
	assert.EqualValues(t, 5, l.Stats().Stages[1].Probed)
}

func TestSkipFrameIsCountedAndTheLineGoesOn(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var released atomic.Int64
			src := &countSource{n: 50, released: &released}
			sink := &collectSink{}
			l := New()
			l.AddSource(src, LinkOptions{})
			procs := make([]Processor, workers)
			for i := range procs {
				procs[i] = ProcessorFunc(func(_ context.Context, f *Frame) error {
					if f.Number%10 == 3 {
						return fmt.Errorf("corrupt frame: %w", ErrSkipFrame)
					}
					return nil
				})
			}
			l.AddStage("decode", LinkOptions{}, procs...)
			l.AddSink(sink)
			require.NoError(t, runWithDeadline(t, l, context.Background()))
			assert.Len(t, sink.numbers(0), 45)
			assert.EqualValues(t, 5, l.Stats().Stages[1].Skipped)
			assert.EqualValues(t, 50, released.Load())
		})
	}
}

func TestFirstFatalErrorStopsTheLine(t *testing.T) {
	boom := errors.New("engine exploded")
	cases := []struct {
		name    string
		build   func(l *Line, src *countSource)
		wantErr string
	}{
		{"stage", func(l *Line, src *countSource) {
			l.AddStage("infer", LinkOptions{}, ProcessorFunc(func(_ context.Context, f *Frame) error {
				if f.Number == 20 {
					return boom
				}
				return nil
			}))
		}, "infer: engine exploded"},
		{"parallel stage", func(l *Line, src *countSource) {
			p := ProcessorFunc(func(_ context.Context, f *Frame) error {
				if f.Number == 20 {
					return boom
				}
				return jitter(context.Background(), f)
			})
			l.AddStage("infer", LinkOptions{}, p, p, p)
		}, "infer: engine exploded"},
		{"source", func(l *Line, src *countSource) { src.failAt = 7 }, "source count: device lost"},
		{"sink", func(l *Line, src *countSource) {
			l.AddSink(SinkFunc(func(_ context.Context, f *Frame) error {
				if f.Number == 5 {
					return errors.New("disk full")
				}
				return nil
			}))
		}, "sink: disk full"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var released atomic.Int64
			src := &countSource{n: 10000, released: &released}
			l := New()
			l.AddSource(src, LinkOptions{})
			tc.build(l, src)
			err := runWithDeadline(t, l, context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.EqualValues(t, src.next, released.Load(), "every frame read was released")
			assert.EqualValues(t, 1, src.closed.Load())
		})
	}
}

func TestCancelDrainsAndFinalizes(t *testing.T) {
	var released atomic.Int64
	src := &countSource{n: 1 << 30, live: true, pace: time.Millisecond, released: &released}
	sink := &collectSink{}
	l := New()
	l.AddSource(src, LinkOptions{})
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter), ProcessorFunc(jitter))
	l.AddSink(sink)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, l.Probe("sink", Out, func(f *Frame) bool {
		if f.Number == 20 {
			cancel()
		}
		return true
	}))
	require.NoError(t, runWithDeadline(t, l, ctx), "a stop by the user is not an error")
	assert.EqualValues(t, src.next, released.Load())
	assert.EqualValues(t, 1, sink.closed.Load(), "sink finalized")
	got := sink.numbers(0)
	require.NotEmpty(t, got)
	// Everything read before the stop that the link did not drop came out.
	st := l.Stats()
	var dropped int64
	for _, s := range st.Stages {
		dropped += s.Dropped
	}
	assert.EqualValues(t, src.next, int64(len(got))+dropped)
}

func TestDrainTimeoutAbortsAStuckSink(t *testing.T) {
	var released atomic.Int64
	src := &countSource{n: 1 << 30, live: true, pace: time.Millisecond, released: &released}
	stuck := make(chan struct{})
	defer close(stuck)
	l := New()
	l.DrainTimeout = 50 * time.Millisecond
	l.AddSource(src, LinkOptions{})
	l.AddSink(SinkFunc(func(ctx context.Context, f *Frame) error {
		if f.Number < 3 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stuck:
			return nil
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := runWithDeadline(t, l, ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "drain did not finish")
	assert.EqualValues(t, src.next, released.Load())
}

func TestSeveralSourcesOneSlowNeverHoldsBackTheOthers(t *testing.T) {
	var released atomic.Int64
	fast := &countSource{n: 100, released: &released}
	slow := &countSource{n: 5, pace: 20 * time.Millisecond, released: &released}
	sink := &collectSink{}
	l := New()
	l.AddSource(fast, LinkOptions{})
	l.AddSource(slow, LinkOptions{})
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter), ProcessorFunc(jitter))
	var fastDoneAt, slowDoneAt time.Time
	require.NoError(t, l.Probe("sink", Out, func(f *Frame) bool {
		if f.SourceID == 0 && f.Number == 99 {
			fastDoneAt = time.Now()
		}
		if f.SourceID == 1 && f.Number == 4 {
			slowDoneAt = time.Now()
		}
		return true
	}))
	l.AddSink(sink)
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	assert.Equal(t, seq(100), sink.numbers(0))
	assert.Equal(t, seq(5), sink.numbers(1))
	assert.True(t, fastDoneAt.Before(slowDoneAt), "the fast source finished first")
	assert.EqualValues(t, 105, released.Load())
}

func TestBuildErrors(t *testing.T) {
	l := New()
	require.ErrorContains(t, l.Run(context.Background()), "no source")
	require.ErrorContains(t, l.Run(context.Background()), "twice")
	require.ErrorContains(t, New().Probe("source", In, nil), "only an Out pad")
	assert.Panics(t, func() { New().AddStage("x", LinkOptions{}) })
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": Auto, "auto": Auto, "block": Block, "drop-oldest": DropOldest} {
		got, err := ParsePolicy(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		if in != "" {
			assert.Equal(t, in, got.String())
		}
	}
	_, err := ParsePolicy("sometimes")
	require.ErrorContains(t, err, "sometimes")
}

func TestAFailingSourceDoesNotStopTheOthers(t *testing.T) {
	var released atomic.Int64
	good := &countSource{n: 100, pace: 100 * time.Microsecond, released: &released}
	bad := &countSource{n: 100, failAt: 10, released: &released}
	sink := &collectSink{}
	l := New()
	l.AddSource(good, LinkOptions{})
	l.AddSource(bad, LinkOptions{})
	l.AddSink(sink)
	err := runWithDeadline(t, l, context.Background())
	require.ErrorContains(t, err, "device lost")
	assert.Equal(t, seq(100), sink.numbers(0), "the healthy source ran to its end")
	assert.Equal(t, seq(10), sink.numbers(1), "what the failed source sent before failing came out")
	assert.EqualValues(t, 110, released.Load())
	assert.EqualValues(t, 1, sink.closed.Load())
}

func TestStatsWhileRunning(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.AddSource(&countSource{n: 300, pace: 100 * time.Microsecond, released: &released}, LinkOptions{})
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter), ProcessorFunc(jitter))
	l.AddSink(&collectSink{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // read stats concurrently with Run: -race checks this
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				st := l.Stats()
				require.Len(t, st.Stages, 3)
				assert.Equal(t, []string{"source", "stage", "sink"}, []string{st.Stages[0].Kind, st.Stages[1].Kind, st.Stages[2].Kind})
				time.Sleep(time.Millisecond)
			}
		}
	}()
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stats reader did not stop")
	}
	assert.EqualValues(t, 300, l.Stats().Frames)
}

// TestOnStageTimeReportsEveryStageOnce: the hook sees each stage's and the
// sink's time for every frame (the same measurement as Stats), and never a
// source's.
func TestOnStageTimeReportsEveryStageOnce(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	var slept time.Duration
	l := New()
	var released atomic.Int64
	l.AddSource(&countSource{n: 20, released: &released}, LinkOptions{})
	l.AddStage("work", LinkOptions{}, ProcessorFunc(jitter), ProcessorFunc(jitter))
	l.AddStage("slow", LinkOptions{}, ProcessorFunc(func(context.Context, *Frame) error {
		time.Sleep(time.Millisecond)
		return nil
	}))
	l.AddSink(&collectSink{})
	l.OnStageTime = func(stage string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		calls[stage]++
		if stage == "slow" {
			slept += took
		}
	}
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"work": 20, "slow": 20, "sink": 20}, calls)
	assert.GreaterOrEqual(t, slept, 20*time.Millisecond, "the hook gets the time spent in Process")
}
