package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// refuser refuses the frames of some sources with ErrBadSource (a picture
// too small for the model, say), after an optional delay, and passes the
// others on. It works as a Processor, a BatchProcessor and a Sink.
type refuser struct {
	bad   map[int]bool
	delay time.Duration
}

func (r *refuser) check(f *Frame) error {
	if !r.bad[f.SourceID] {
		return nil
	}
	time.Sleep(r.delay)
	return fmt.Errorf("frame %d is 2x2: %w", f.Number, ErrBadSource)
}

func (r *refuser) Process(_ context.Context, f *Frame) error { return r.check(f) }
func (r *refuser) Write(_ context.Context, f *Frame) error   { return r.check(f) }
func (r *refuser) ProcessBatch(_ context.Context, fs []*Frame) error {
	for _, f := range fs {
		if err := r.check(f); err != nil {
			return err
		}
	}
	return nil
}
func (r *refuser) Close() error { return nil }

// TestABadSourceEndsAlone (issue 13, item 4): a stage that cannot handle
// one source's frames ends that source alone, with its end-of-source
// marker and its reason, wherever the stage is (one worker, several, a
// batch stage, a sink); every frame of the good source comes out, in
// order; Run reports the bad sources when the line is done.
func TestABadSourceEndsAlone(t *testing.T) {
	cases := []struct {
		name, stage string
		build       func(l *Line, r *refuser)
	}{
		{"serial stage", "refuse", func(l *Line, r *refuser) { l.AddStage("refuse", LinkOptions{}, r) }},
		{"workers", "refuse", func(l *Line, r *refuser) { l.AddStage("refuse", LinkOptions{}, r, r, r) }},
		{"batch stage", "refuse", func(l *Line, r *refuser) {
			l.AddBatchStage("refuse", BatchOptions{Max: 1, Timeout: time.Millisecond}, r)
		}},
		{"sink", "sink", func(l *Line, r *refuser) { l.AddSink(r) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var released atomic.Int64
			good := &countSource{n: 60, pace: 200 * time.Microsecond, released: &released}
			// A camera that would run for ever: only the failure stops it.
			endless := &stallSource{n: 1000, live: true, released: &released}
			// A file that has ended (its reader is done) before the slow
			// stage refuses its frames.
			short := &countSource{n: 3, released: &released}
			l := New()
			l.AddSource(good, LinkOptions{})
			l.AddSource(endless, LinkOptions{})
			l.AddSource(short, LinkOptions{Queue: 8})
			refuse := &refuser{bad: map[int]bool{1: true, 2: true}}
			ends := &ender{}
			l.AddStage("first", LinkOptions{}, ProcessorFunc(func(_ context.Context, f *Frame) error {
				if f.SourceID == 2 && f.Number == 0 {
					time.Sleep(50 * time.Millisecond) // short's reader ends meanwhile
				}
				return nil
			}))
			tc.build(l, refuse)
			sink := &collectSink{}
			l.AddSink(sink, ends)

			err := runWithDeadline(t, l, context.Background())
			require.Error(t, err, "Run reports the bad sources")
			assert.ErrorIs(t, err, ErrBadSource)
			assert.Regexp(t, "source stall: "+tc.stage+`: frame \d+ is 2x2: source ended`, err.Error())
			assert.Regexp(t, "source count: "+tc.stage+`: frame \d is 2x2: source ended`, err.Error())
			assert.Equal(t, seq(60), sink.numbers(0), "every frame of the good source, in order")

			sts := l.Sources()
			require.Len(t, sts, 3)
			assert.Equal(t, meta.SourceEnded, sts[0].State)
			for _, st := range sts[1:] {
				assert.Equal(t, meta.SourceFailed, st.State, "source %d", st.ID)
				assert.Regexp(t, tc.stage+`: frame \d+ is 2x2`, st.Err, "source %d", st.ID)
			}
			if tc.name != "sink" { // a sink refuses frames the other sinks already wrote
				assert.Empty(t, sink.numbers(1))
				assert.Empty(t, sink.numbers(2))
			}
			// Every source got its end marker, once, saying how it ended.
			if tc.name != "sink" { // the refusing sink is before ends: both see each marker
				require.Len(t, ends.ends, 3)
				assert.Equal(t, meta.SourceEnded, ends.ends[0].State)
				for id := 1; id <= 2; id++ {
					assert.Equal(t, meta.SourceFailed, ends.ends[id].State, "source %d", id)
					assert.Regexp(t, tc.stage+`: frame \d+ is 2x2: source ended`, ends.ends[id].Err, "source %d", id)
				}
				for id, n := range ends.endings() {
					assert.Len(t, n, 1, "one marker for source %d", id)
				}
			}
			assert.EqualValues(t, 1, endless.closed.Load(), "the endless source was stopped and closed")
			assert.EqualValues(t, 60+int64(endless.next)+3, released.Load(), "every frame released once")
			var skipped int64
			for _, s := range l.Stats().Stages {
				if s.Name == tc.stage {
					skipped = s.Skipped
				}
			}
			assert.Positive(t, skipped, "refused frames are counted as skipped")
		})
	}
}

// TestBadSourceOverKeepAlive: on a line that outlives its sources (the
// source API), a bad source attached while it runs ends alone and the line
// goes on taking sources.
func TestBadSourceOverKeepAlive(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.KeepAlive = true
	l.AddStage("refuse", LinkOptions{}, &refuser{bad: map[int]bool{1: true}})
	sink := &collectSink{}
	l.AddSink(sink)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, done := startRun(t, l, ctx)
	bad := &stallSource{n: 5, released: &released}
	_, err := l.Attach(&stallSource{n: 5, released: &released}, LinkOptions{})
	require.NoError(t, err)
	_, err = l.Attach(bad, LinkOptions{})
	require.NoError(t, err)
	waitFor(t, "the bad source to fail", func() bool { return l.Sources()[1].State == meta.SourceFailed })
	id, err := l.Attach(&countSource{n: 7, released: &released}, LinkOptions{})
	require.NoError(t, err, "the line still takes sources")
	waitFor(t, "the new source's frames", func() bool { return len(sink.numbers(id)) == 7 })
	assert.Equal(t, seq(5), sink.numbers(0))
	assert.Equal(t, meta.SourceRunning, l.Sources()[0].State, "the good camera runs on")
	select {
	case <-done:
		t.Fatal("the line ended")
	default:
	}
	cancel()
	require.ErrorIs(t, wait(), ErrBadSource)
	assert.EqualValues(t, 5+bad.next+7, released.Load())
}

// TestSourceErrorsAreBounded: Run keeps the first source errors and counts
// the rest, so that a server whose bad cameras come and go does not grow.
func TestSourceErrorsAreBounded(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.KeepAlive = true
	l.AddSink(&collectSink{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, _ := startRun(t, l, ctx)
	const n = keptSourceErrors + 4
	for range n {
		_, err := l.Attach(&countSource{n: 5, failAt: 1, released: &released}, LinkOptions{})
		require.NoError(t, err)
	}
	waitFor(t, "every source to fail", func() bool {
		for _, st := range l.Sources() {
			if st.State != meta.SourceFailed {
				return false
			}
		}
		return true
	})
	cancel()
	err := wait()
	require.Error(t, err)
	assert.Equal(t, keptSourceErrors, strings.Count(err.Error(), "device lost"))
	assert.Contains(t, err.Error(), "4 more sources failed")
	assert.Len(t, l.Sources(), n, "Sources lists them all")
}

// secretSource is a camera whose URI holds a password Go's URL parser
// rejects; its frames, errors and Close name it.
type secretSource struct {
	frames   int
	ownName  bool
	released *atomic.Int64
}

const secretURI = "rtsp://admin:50%off!@cam/x"

func (s *secretSource) Read(context.Context) (*Frame, error) {
	if s.frames == 0 {
		return nil, fmt.Errorf("dial %s: connection refused", secretURI)
	}
	s.frames--
	f := &Frame{}
	if s.ownName {
		f.SourceName = "rtsp://admin:50%off!@cam/x#sub"
	}
	f.OnRelease(func() { s.released.Add(1) })
	return f, nil
}
func (s *secretSource) Info() SourceInfo { return SourceInfo{Name: secretURI, Live: true} }
func (s *secretSource) Close() error     { return errors.New("close " + secretURI + ": broken pipe") }

// TestSourceNamesAreRedactedOnce (issue 13, item 3): the line redacts a
// source's name where it enters, so that no frame, status, end marker or
// error downstream carries its password.
func TestSourceNamesAreRedactedOnce(t *testing.T) {
	var released atomic.Int64
	l := New()
	l.AddSource(&secretSource{frames: 3, released: &released}, LinkOptions{Policy: Block})
	l.AddSource(&secretSource{frames: 2, ownName: true, released: &released}, LinkOptions{Policy: Block})
	var names []string
	l.AddSink(SinkFunc(func(_ context.Context, f *Frame) error { names = append(names, f.SourceName); return nil }))
	ends := &ender{}
	l.AddSink(ends)
	err := runWithDeadline(t, l, context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "source rtsp://admin:xxxxx@cam/x: dial rtsp://admin:xxxxx@cam/x: connection refused")
	assert.ErrorContains(t, err, "close source rtsp://admin:xxxxx@cam/x: close rtsp://admin:xxxxx@cam/x: broken pipe")
	assert.Len(t, names, 5)
	texts := append([]string{err.Error()}, names...)
	for _, st := range l.Sources() {
		assert.Equal(t, "rtsp://admin:xxxxx@cam/x", st.Name)
		texts = append(texts, st.Name, st.Err)
	}
	for _, e := range ends.ends {
		texts = append(texts, e.SourceName, e.Err)
	}
	for _, s := range texts {
		assert.NotContains(t, s, "50%off", "no password in %q", s)
	}
	assert.Contains(t, names, "rtsp://admin:xxxxx@cam/x#sub", "a name of the source's own is redacted too")
	assert.EqualValues(t, 5, released.Load())
}

// TestStageErrorsNameTheStageOnce: a stage whose errors already start with
// its name does not get it twice ("infer: infer: ...").
func TestStageErrorsNameTheStageOnce(t *testing.T) {
	for _, msg := range []string{"infer: model x.onnx: forward: boom", "forward: boom"} {
		var released atomic.Int64
		l := New()
		l.AddSource(&countSource{n: 3, released: &released}, LinkOptions{})
		l.AddStage("infer", LinkOptions{}, ProcessorFunc(func(context.Context, *Frame) error { return errors.New(msg) }))
		err := runWithDeadline(t, l, context.Background())
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), "infer: "), err.Error())
		assert.True(t, strings.HasPrefix(err.Error(), "infer: "), err.Error())
	}
}
