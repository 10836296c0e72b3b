//go:build cgo

package track

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

func TestEndSourceForgetsTheSource(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1, SourceTimeout: -1})
	ctx := context.Background()
	obj := func(x float32) []meta.Object {
		return []meta.Object{{Box: meta.Rect{X: x, Y: 10, W: 30, H: 30}, Label: "face"}}
	}
	for n := int64(0); n < 5; n++ {
		for src := range 3 {
			require.NoError(t, tr.Process(ctx, &pipeline.Frame{SourceID: src, Number: n, Objects: obj(float32(n))}))
		}
	}
	require.Equal(t, Stats{Sources: 3, Tracks: 3, Confirmed: 3}, tr.Stats())
	// Each frame of source 1 had its one object; the end carries its left
	// event, after what an earlier stage put there.
	earlier := meta.TrackEvent{Kind: meta.TrackLeft, TrackID: 99, Label: "other"}
	end := &pipeline.SourceEnd{SourceID: 1, Events: []meta.TrackEvent{earlier}}
	require.NoError(t, tr.EndSource(ctx, end))
	assert.Equal(t, []meta.TrackEvent{earlier, {Kind: meta.TrackLeft, TrackID: 1, Label: "face", Frames: 5}}, end.Events)
	assert.Equal(t, Stats{Sources: 2, Tracks: 2, Confirmed: 2}, tr.Stats())
	again := &pipeline.SourceEnd{SourceID: 1}
	require.NoError(t, tr.EndSource(ctx, again), "twice")
	assert.Empty(t, again.Events, "its tracks left once")
	require.NoError(t, tr.EndSource(ctx, &pipeline.SourceEnd{SourceID: 9}), "a source the tracker never saw")
	assert.Equal(t, Stats{Sources: 2, Tracks: 2, Confirmed: 2}, tr.Stats())
	assert.Nil(t, tr.Forget(1), "its tracks are gone")
}

// TestEndSourceInALine runs the real detector (YuNet through OpenCV) and the
// tracker over the walking clip next to an endless pattern source: when
// the clip ends, the line's end-of-source marker frees its tracks while
// the line goes on.
func TestEndSourceInALine(t *testing.T) {
	clip, err := models.Asset("media/video/face-demographics-walking-and-pause.mp4")
	require.NoError(t, err)
	src, err := camera.Open(clip, camera.Options{})
	require.NoError(t, err)
	pattern, err := camera.Open("pattern://?width=160&height=120&fps=30&frames=-1", camera.Options{})
	require.NoError(t, err)
	det, err := infer.NewDetector(infer.Options{})
	if err != nil {
		_, _ = src.Close(), pattern.Close()
		require.NoError(t, err)
	}
	tr, err := New(Options{SourceTimeout: -1})
	require.NoError(t, err)

	var (
		mu        sync.Mutex
		clipOut   int
		clipTrack int
	)
	line := pipeline.New()
	line.AddSource(pipeline.Limit(src, 15), pipeline.LinkOptions{})
	line.AddSource(pattern, pipeline.LinkOptions{})
	line.AddStage("detect", pipeline.LinkOptions{}, det)
	line.AddStage("track", pipeline.LinkOptions{}, tr)
	line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
		if f.SourceID != 0 {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		clipOut++
		for _, o := range f.Objects {
			if o.TrackID != 0 {
				clipTrack++
			}
		}
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- line.Run(ctx) }()

	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		out := clipOut
		mu.Unlock()
		// Every frame of the clip passed the tracker and only the pattern
		// source is left in it: the clip's state was freed.
		if out == 15 && tr.Stats().Sources == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "clip frames %d, tracker %+v", out, tr.Stats())
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, Stats{Sources: 1}, tr.Stats(), "the pattern has no faces, so no tracks")
	mu.Lock()
	assert.Greater(t, clipTrack, 15, "the clip's people were tracked")
	mu.Unlock()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the line did not stop")
	}
}

// TestStillPicturesAreScenesOfTheirOwn: frames that are the pictures of an
// image folder (f.User["path"]) are unrelated: nothing is held from one
// picture onto the next, and no track carries over.
func TestStillPicturesAreScenesOfTheirOwn(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1, BlurHold: 5})
	ctx := context.Background()
	face := []meta.Object{{Box: meta.Rect{X: 10, Y: 10, W: 30, H: 30}, Label: "face"}}
	a := &pipeline.Frame{Number: 0, Objects: face, User: map[string]any{"path": "a.jpg"}}
	require.NoError(t, tr.Process(ctx, a))
	require.Len(t, a.Objects, 1)
	assert.Equal(t, int64(1), a.Objects[0].TrackID)
	b := &pipeline.Frame{Number: 1, User: map[string]any{"path": "b.jpg"}}
	require.NoError(t, tr.Process(ctx, b))
	assert.Empty(t, b.Objects, "nothing held from a.jpg onto b.jpg")
	assert.Equal(t, []meta.TrackEvent{{Kind: meta.TrackLeft, TrackID: 1, Label: "face", Frames: 1}}, b.Events, "a.jpg's face left with it")
	// A video's frames do carry over (the hold).
	c := &pipeline.Frame{Number: 2, Objects: face}
	require.NoError(t, tr.Process(ctx, c))
	d := &pipeline.Frame{Number: 3}
	require.NoError(t, tr.Process(ctx, d))
	require.Len(t, d.Objects, 1)
	assert.Equal(t, 1, d.Objects[0].Held)
}
