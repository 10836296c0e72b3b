package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchRecorder records the batches it is given.
type batchRecorder struct {
	mu      sync.Mutex
	sizes   []int
	sources []map[int]int
	delay   time.Duration
	failAt  int64
	skipAt  int64
}

func (b *batchRecorder) ProcessBatch(_ context.Context, fs []*Frame) error {
	m := map[int]int{}
	for _, f := range fs {
		m[f.SourceID]++
		if b.failAt > 0 && f.Number == b.failAt {
			return errors.New("gpu fell off the bus")
		}
		if b.skipAt > 0 && f.Number == b.skipAt && f.SourceID == 0 {
			return fmt.Errorf("bad batch: %w", ErrSkipFrame)
		}
	}
	time.Sleep(b.delay)
	b.mu.Lock()
	b.sizes = append(b.sizes, len(fs))
	b.sources = append(b.sources, m)
	b.mu.Unlock()
	return nil
}

func (b *batchRecorder) Close() error { return nil }

func TestBatchesFormAcrossSourcesAndOrderIsKept(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var released atomic.Int64
			l := New()
			for i := 0; i < 4; i++ {
				l.AddSource(&countSource{n: 30 + 10*i, released: &released}, LinkOptions{})
			}
			recs := make([]BatchProcessor, workers)
			for i := range recs {
				recs[i] = &batchRecorder{delay: 2 * time.Millisecond}
			}
			l.AddBatchStage("infer", BatchOptions{Max: 4, Timeout: 20 * time.Millisecond}, recs...)
			sink := &collectSink{}
			l.AddSink(sink)
			require.NoError(t, runWithDeadline(t, l, context.Background()))
			for i := 0; i < 4; i++ {
				assert.Equal(t, seq(30+10*i), sink.numbers(i), "source %d: every frame once, in order", i)
			}
			assert.EqualValues(t, 30+40+50+60, released.Load())
			st := l.Stats().Stages[4+0] // 4 sources, then infer
			require.Equal(t, "infer", st.Name)
			var frames, batches int64
			for size, n := range st.BatchSizes {
				frames += int64(size) * n
				batches += n
			}
			assert.EqualValues(t, 180, frames)
			assert.Less(t, batches, int64(180), "frames were batched")
			mixed := false
			for _, r := range recs {
				for _, m := range r.(*batchRecorder).sources {
					if len(m) > 1 {
						mixed = true
					}
				}
			}
			assert.True(t, mixed, "batches hold frames of several sources")
		})
	}
}

func TestBatchTimeoutDoesNotWaitForADeadSource(t *testing.T) {
	var released atomic.Int64
	l := New()
	// One slow source: a batch of 8 would take 8 × 30 ms to fill.
	l.AddSource(&countSource{n: 6, pace: 30 * time.Millisecond, released: &released}, LinkOptions{})
	rec := &batchRecorder{}
	l.AddBatchStage("infer", BatchOptions{Max: 8, Timeout: 5 * time.Millisecond}, rec)
	var lat []time.Duration
	var mu sync.Mutex
	require.NoError(t, l.Probe("infer", Out, func(f *Frame) bool {
		mu.Lock()
		lat = append(lat, time.Since(f.Captured))
		mu.Unlock()
		return true
	}))
	require.NoError(t, runWithDeadline(t, l, context.Background()))
	require.Len(t, lat, 6)
	for _, d := range lat {
		assert.Less(t, d, 25*time.Millisecond, "a frame waits at most about the batch timeout")
	}
}

func TestBatchErrors(t *testing.T) {
	t.Run("skip drops the batch", func(t *testing.T) {
		var released atomic.Int64
		l := New()
		l.AddSource(&countSource{n: 20, released: &released}, LinkOptions{})
		l.AddBatchStage("infer", BatchOptions{Max: 1}, &batchRecorder{skipAt: 7})
		sink := &collectSink{}
		l.AddSink(sink)
		require.NoError(t, runWithDeadline(t, l, context.Background()))
		assert.Len(t, sink.numbers(0), 19)
		assert.EqualValues(t, 1, l.Stats().Stages[1].Skipped)
		assert.EqualValues(t, 20, released.Load())
	})
	t.Run("fatal stops the line", func(t *testing.T) {
		var released atomic.Int64
		src := &countSource{n: 10000, released: &released}
		l := New()
		l.AddSource(src, LinkOptions{})
		l.AddBatchStage("infer", BatchOptions{Max: 4, Timeout: time.Millisecond}, &batchRecorder{failAt: 50}, &batchRecorder{failAt: 50})
		err := runWithDeadline(t, l, context.Background())
		require.ErrorContains(t, err, "infer: gpu fell off the bus")
		assert.EqualValues(t, src.next, released.Load())
	})
}

func BenchmarkBatchHop(b *testing.B) {
	src := &nullSource{n: b.N, frames: make([]Frame, 64)}
	l := New()
	l.AddSource(src, LinkOptions{Queue: 8})
	l.AddBatchStage("null", BatchOptions{Max: 8, LinkOptions: LinkOptions{Queue: 8}}, &nullBatch{})
	b.ReportAllocs()
	b.ResetTimer()
	if err := l.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
}

type nullBatch struct{}

func (nullBatch) ProcessBatch(context.Context, []*Frame) error { return nil }
func (nullBatch) Close() error                                 { return nil }
