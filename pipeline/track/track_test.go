package track

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// frame is what the tracker sees of a pipeline.Frame (stage.go passes
// these fields to Update).
type frame struct {
	SourceID int
	Number   int64
	Objects  []meta.Object
	Events   []meta.TrackEvent
}

// process runs f through the tracker as its line stage would.
func (t *Tracker) process(f *frame) error {
	var err error
	f.Objects, f.Events, err = t.Update(f.SourceID, f.Number, f.Objects, f.Events)
	return err
}

// mover is a ground-truth object: a box moving at constant velocity, seen
// on frames [from, to) except those in hidden.
type mover struct {
	x, y, w, h float32
	vx, vy     float32
	from, to   int64
	hidden     map[int64]bool
	class      int
}

func (mv mover) at(n int64) (meta.Object, bool) {
	if n < mv.from || n >= mv.to || mv.hidden[n] {
		return meta.Object{}, false
	}
	k := float32(n - mv.from)
	return meta.Object{Box: meta.Rect{X: mv.x + mv.vx*k, Y: mv.y + mv.vy*k, W: mv.w, H: mv.h}, Score: 0.9, Label: "face", ClassID: mv.class}, true
}

// result is what a run of the tracker produced.
type result struct {
	ids    [][]int64 // per mover, per frame: track id (0 untracked), -1 absent
	events map[int64][]meta.TrackEvent
}

// switches counts id switches: the times a mover's non-zero id differs from
// its previous non-zero id.
func (r result) switches(i int) int {
	var last int64
	n := 0
	for _, id := range r.ids[i] {
		if id <= 0 {
			continue
		}
		if last != 0 && id != last {
			n++
		}
		last = id
	}
	return n
}

// firstID is the first non-zero id of mover i.
func (r result) firstID(i int) int64 {
	for _, id := range r.ids[i] {
		if id > 0 {
			return id
		}
	}
	return 0
}

func (r result) count(kind meta.TrackEventKind) int {
	n := 0
	for _, evs := range r.events {
		for _, e := range evs {
			if e.Kind == kind {
				n++
			}
		}
	}
	return n
}

// run feeds frames 0..frames-1 (numbers step apart) of source 0 through t.
func run(t *testing.T, tr *Tracker, movers []mover, frames, step int64) result {
	t.Helper()
	res := result{ids: make([][]int64, len(movers)), events: map[int64][]meta.TrackEvent{}}
	rng := rand.New(rand.NewPCG(uint64(frames), uint64(len(movers))))
	for n := int64(0); n < frames; n += step {
		f := &frame{Number: n}
		var who []int
		for i, mv := range movers {
			res.ids[i] = append(res.ids[i], -1)
			if ob, ok := mv.at(n); ok {
				f.Objects = append(f.Objects, ob)
				who = append(who, i)
			}
		}
		// Detectors give no particular order: shuffle.
		rng.Shuffle(len(who), func(a, b int) {
			who[a], who[b] = who[b], who[a]
			f.Objects[a], f.Objects[b] = f.Objects[b], f.Objects[a]
		})
		require.NoError(t, tr.process(f))
		for k, i := range who {
			res.ids[i][len(res.ids[i])-1] = f.Objects[k].TrackID
		}
		if len(f.Events) > 0 {
			res.events[n] = f.Events
		}
	}
	return res
}

func newTracker(t *testing.T, o Options) *Tracker {
	t.Helper()
	tr, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tr.Close()) })
	return tr
}

func TestScenarios(t *testing.T) {
	hide := func(from, to int64) map[int64]bool {
		m := map[int64]bool{}
		for n := from; n < to; n++ {
			m[n] = true
		}
		return m
	}
	tests := []struct {
		name     string
		opts     Options
		movers   []mover
		frames   int64
		step     int64
		ids      int // distinct confirmed ids expected
		appeared int
		left     int
	}{
		{
			name: "crossing paths, same row",
			movers: []mover{
				// Identical boxes at the crossing would make any answer right:
				// 8 px apart, they still overlap with an IoU of 0.67.
				{x: 0, y: 100, w: 40, h: 40, vx: 4, from: 0, to: 100},
				{x: 400, y: 108, w: 40, h: 40, vx: -4, from: 0, to: 100},
			},
			frames: 100, step: 1, ids: 2, appeared: 2,
		},
		{
			name: "crossing paths, diagonal, different sizes",
			movers: []mover{
				{x: 0, y: 0, w: 50, h: 50, vx: 3, vy: 3, from: 0, to: 100},
				{x: 300, y: 0, w: 44, h: 44, vx: -3, vy: 3, from: 0, to: 100},
			},
			frames: 100, step: 1, ids: 2, appeared: 2,
		},
		{
			name: "occlusion for 8 frames while moving",
			movers: []mover{
				{x: 10, y: 50, w: 40, h: 40, vx: 3, from: 0, to: 80, hidden: hide(30, 38)},
			},
			frames: 80, step: 1, ids: 1, appeared: 1,
		},
		{
			name: "occlusion longer than max age starts a new id",
			opts: Options{MaxAge: 5},
			movers: []mover{
				{x: 10, y: 50, w: 40, h: 40, vx: 1, from: 0, to: 60, hidden: hide(20, 30)},
			},
			frames: 60, step: 1, ids: 2, appeared: 2, left: 1,
		},
		{
			name: "new objects and leaving",
			opts: Options{MaxAge: 10},
			movers: []mover{
				{x: 10, y: 10, w: 30, h: 30, vx: 2, from: 0, to: 40},
				{x: 200, y: 200, w: 30, h: 30, vy: -2, from: 20, to: 70},
				{x: 300, y: 10, w: 30, h: 30, from: 50, to: 100},
			},
			frames: 100, step: 1, ids: 3, appeared: 3, left: 2,
		},
		{
			name: "dropped frames: numbers step by 3",
			movers: []mover{
				{x: 10, y: 50, w: 40, h: 40, vx: 5, from: 0, to: 90},
				{x: 400, y: 60, w: 40, h: 40, vx: -5, from: 0, to: 90},
			},
			frames: 90, step: 3, ids: 2, appeared: 2,
		},
		{
			name: "classes never share a track",
			movers: []mover{
				{x: 100, y: 100, w: 40, h: 40, from: 0, to: 30, class: 0},
				{x: 102, y: 101, w: 40, h: 40, from: 0, to: 30, class: 1},
			},
			frames: 30, step: 1, ids: 2, appeared: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(t, tc.opts)
			res := run(t, tr, tc.movers, tc.frames, tc.step)
			seen := map[int64]bool{}
			for i := range tc.movers {
				for _, id := range res.ids[i] {
					if id > 0 {
						seen[id] = true
					}
				}
			}
			assert.Len(t, seen, tc.ids, "distinct ids")
			assert.Equal(t, tc.appeared, res.count(meta.TrackAppeared), "appeared events")
			assert.Equal(t, tc.left, res.count(meta.TrackLeft), "left events")
			if tc.ids == len(tc.movers) {
				for i := range tc.movers {
					assert.Zero(t, res.switches(i), "id switches of mover %d: %v", i, res.ids[i])
				}
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 3, MaxAge: 5})
	mv := mover{x: 10, y: 10, w: 30, h: 30, vx: 1, from: 10, to: 20}
	res := run(t, tr, []mover{mv}, 40, 1)
	// Confirmed on its third detection (frame 12): id 1 from then on.
	assert.Equal(t, []int64{-1, -1, 0, 0, 1, 1}, res.ids[0][8:14])
	require.Contains(t, res.events, int64(12))
	assert.Equal(t, []meta.TrackEvent{{Kind: meta.TrackAppeared, TrackID: 1, Label: "face"}}, res.events[12])
	// Last seen on frame 19; more than 5 frames unseen on frame 25.
	require.Contains(t, res.events, int64(25))
	assert.Equal(t, []meta.TrackEvent{{Kind: meta.TrackLeft, TrackID: 1, Label: "face", Frames: 10}}, res.events[25])
	assert.Len(t, res.events, 2)
	assert.Equal(t, Stats{Sources: 1}, tr.Stats(), "the track is freed")
}

func TestFlickerNeverConfirmed(t *testing.T) {
	tr := newTracker(t, Options{})
	// A false positive seen on every other frame never gets 3 in a row.
	movers := []mover{{x: 50, y: 50, w: 20, h: 20, from: 0, to: 60, hidden: map[int64]bool{}}}
	for n := int64(1); n < 60; n += 2 {
		movers[0].hidden[n] = true
	}
	res := run(t, tr, movers, 60, 1)
	assert.Empty(t, res.events)
	assert.Zero(t, res.firstID(0))
}

func TestMinHitsOne(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1, MaxAge: -1})
	res := run(t, tr, []mover{{x: 5, y: 5, w: 20, h: 20, from: 0, to: 3}}, 5, 1)
	assert.Equal(t, []int64{1, 1, 1, -1, -1}, res.ids[0])
	assert.Equal(t, meta.TrackAppeared, res.events[0][0].Kind)
	assert.Equal(t, meta.TrackLeft, res.events[3][0].Kind, "max age -1 drops at the first miss")
}

func TestSourcesAreIndependent(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1})
	for n := int64(0); n < 10; n++ {
		for src := range 3 {
			objs := []meta.Object{{Box: meta.Rect{X: float32(n), Y: 10, W: 30, H: 30}}}
			if src == 1 {
				objs = append(objs, meta.Object{Box: meta.Rect{X: 200, Y: 10, W: 30, H: 30}})
			}
			f := &frame{SourceID: src, Number: n, Objects: objs}
			require.NoError(t, tr.process(f))
			assert.Equal(t, int64(1), f.Objects[0].TrackID, "ids count from 1 in every source")
		}
	}
	assert.Equal(t, Stats{Sources: 3, Tracks: 4, Confirmed: 4}, tr.Stats())
	left := tr.Forget(1)
	assert.ElementsMatch(t, []meta.TrackEvent{
		{Kind: meta.TrackLeft, TrackID: 1, Frames: 10},
		{Kind: meta.TrackLeft, TrackID: 2, Frames: 10},
	}, left)
	assert.Nil(t, tr.Forget(1), "forgotten")
	assert.Equal(t, Stats{Sources: 2, Tracks: 2, Confirmed: 2}, tr.Stats())
}

func TestSourceTimeout(t *testing.T) {
	tr := newTracker(t, Options{SourceTimeout: 10 * time.Second, MinHits: 1})
	now := time.Unix(1000, 0)
	tr.now = func() time.Time { return now }
	obj := func() []meta.Object { return []meta.Object{{Box: meta.Rect{X: 1, Y: 1, W: 9, H: 9}}} }
	require.NoError(t, tr.process(&frame{SourceID: 7, Objects: obj()}))
	now = now.Add(5 * time.Second)
	require.NoError(t, tr.process(&frame{SourceID: 8, Objects: obj()}))
	assert.Equal(t, 2, tr.Stats().Sources)
	now = now.Add(6 * time.Second)
	require.NoError(t, tr.process(&frame{SourceID: 8, Number: 1, Objects: obj()}))
	assert.Equal(t, 1, tr.Stats().Sources, "source 7 idle for 11 s is freed")
	assert.Nil(t, tr.Forget(7))
}

// TestSilentSourceKeepsItsTracks: by default a source that sends nothing for
// an hour (a camera reconnecting) keeps its tracks, and their left events
// come with its end.
func TestSilentSourceKeepsItsTracks(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1})
	now := time.Unix(1000, 0)
	tr.now = func() time.Time { return now }
	obj := func() []meta.Object {
		return []meta.Object{{Box: meta.Rect{X: 1, Y: 1, W: 9, H: 9}, Label: "face"}}
	}
	require.NoError(t, tr.process(&frame{SourceID: 7, Objects: obj()}))
	for n := range int64(5) {
		now = now.Add(15 * time.Minute)
		require.NoError(t, tr.process(&frame{SourceID: 8, Number: n, Objects: obj()}))
	}
	assert.Equal(t, 2, tr.Stats().Sources, "source 7, silent for 75 minutes, is kept")
	assert.Equal(t, []meta.TrackEvent{{Kind: meta.TrackLeft, TrackID: 1, Label: "face", Frames: 1}}, tr.Forget(7))
}

func TestMemoryStaysFlat(t *testing.T) {
	tr := newTracker(t, Options{MaxAge: 10})
	rng := rand.New(rand.NewPCG(1, 2))
	// A day of churn in miniature: objects appear at random places, live
	// 1-100 frames, and leave.
	type live struct {
		box  meta.Rect
		left int
	}
	var alive []live
	f := &frame{}
	maxTracks := 0
	for n := int64(0); n < 20000; n++ {
		if rng.IntN(10) == 0 && len(alive) < 12 {
			alive = append(alive, live{box: meta.Rect{X: float32(rng.IntN(1800)), Y: float32(rng.IntN(1000)), W: 40, H: 40}, left: 1 + rng.IntN(100)})
		}
		f.Number = n
		f.Objects = f.Objects[:0]
		f.Events = f.Events[:0]
		for i := 0; i < len(alive); {
			alive[i].left--
			if alive[i].left < 0 {
				alive[i] = alive[len(alive)-1]
				alive = alive[:len(alive)-1]
				continue
			}
			alive[i].box.X++
			f.Objects = append(f.Objects, meta.Object{Box: alive[i].box})
			i++
		}
		require.NoError(t, tr.process(f))
		maxTracks = max(maxTracks, tr.Stats().Tracks)
	}
	assert.LessOrEqual(t, maxTracks, 40, "tracks are freed")
	// Nothing left after MaxAge frames without objects.
	for n := int64(20000); n < 20012; n++ {
		f.Number, f.Objects = n, f.Objects[:0]
		require.NoError(t, tr.process(f))
	}
	assert.Equal(t, Stats{Sources: 1}, tr.Stats())
	tr.Forget(0)
	assert.Equal(t, Stats{}, tr.Stats())
}

func TestNoAllocationsInSteadyState(t *testing.T) {
	tr := newTracker(t, Options{})
	f := &frame{}
	objs := make([]meta.Object, 6)
	n := int64(0)
	step := func() {
		for i := range objs {
			objs[i] = meta.Object{Box: meta.Rect{X: float32(100*i) + float32(n), Y: float32(40 * i), W: 50, H: 50}}
		}
		// Reverse order on odd frames: matching must not rely on it.
		if n%2 == 1 {
			for i, j := 0, len(objs)-1; i < j; i, j = i+1, j-1 {
				objs[i], objs[j] = objs[j], objs[i]
			}
		}
		f.Number, f.Objects, f.Events = n, objs, f.Events[:0]
		if err := tr.process(f); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for range 10 {
		step()
	}
	assert.Zero(t, testing.AllocsPerRun(200, step))
	assert.Equal(t, 6, tr.Stats().Confirmed)
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"defaults", Options{}, ""},
		{"iou above 1", Options{IoU: 1.5}, "track-iou: 1.5 is out of range"},
		{"negative min hits", Options{MinHits: -2}, "track-min-hits: -2 is out of range"},
		{"max age", Options{MaxAge: -2}, "track-max-age: -2 is out of range"},
		{"alpha", Options{Alpha: 2}, "alpha 2"},
		{"beta", Options{Beta: -1}, "beta -1"},
		{"max tracks", Options{MaxTracks: -1}, "max tracks -1"},
		{"blur hold", Options{BlurHold: -2}, "blur-hold: -2 is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(tc.o)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				assert.Nil(t, tr)
				return
			}
			require.NoError(t, err)
			o := tr.Options()
			assert.Equal(t, Options{IoU: 0.3, MinHits: 3, MaxAge: 30, BlurHold: DefaultBlurHold, Alpha: 0.7, Beta: 0.3, MaxTracks: 256}, o)
			assert.Equal(t, DefaultOptions(), o, "DefaultOptions is what the zero value stands for")
			require.NoError(t, tr.Close())
			require.NoError(t, tr.Close(), "idempotent")
			assert.ErrorIs(t, tr.process(&frame{}), ErrClosed)
		})
	}
}

func TestMaxTracks(t *testing.T) {
	tr := newTracker(t, Options{MaxTracks: 2, MinHits: 1})
	f := &frame{Objects: []meta.Object{
		{Box: meta.Rect{X: 0, Y: 0, W: 10, H: 10}},
		{Box: meta.Rect{X: 50, Y: 0, W: 10, H: 10}},
		{Box: meta.Rect{X: 100, Y: 0, W: 10, H: 10}},
		{Box: meta.Rect{X: 150, Y: 0, W: 0, H: 10}}, // degenerate: never tracked
	}}
	require.NoError(t, tr.process(f))
	assert.Equal(t, []int64{1, 2, 0, 0}, []int64{f.Objects[0].TrackID, f.Objects[1].TrackID, f.Objects[2].TrackID, f.Objects[3].TrackID})
}

// TestHungarianOptimal checks the assignment against brute force on random
// matrices of every shape up to 5x5.
func TestHungarianOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h hungarian
	for trial := range 3000 {
		n, m := 1+rng.IntN(5), 1+rng.IntN(5)
		score := make([]float64, n*m)
		for i := range score {
			if rng.IntN(3) > 0 {
				score[i] = rng.Float64()
			}
		}
		assign := make([]int, n)
		h.solve(n, m, score, assign)
		used := map[int]bool{}
		got := 0.0
		for i, j := range assign {
			if j < 0 {
				continue
			}
			require.False(t, used[j], "trial %d: column %d used twice", trial, j)
			used[j] = true
			got += score[i*m+j]
		}
		assert.Equal(t, min(n, m), len(used), "trial %d: every row or column assigned", trial)
		assert.InDelta(t, bruteBest(score, n, m, 0, map[int]bool{}), got, 1e-9, "trial %d: %dx%d %v", trial, n, m, score)
	}
}

func bruteBest(score []float64, n, m, row int, used map[int]bool) float64 {
	if row == n {
		return 0
	}
	best := bruteBest(score, n, m, row+1, used) // row unassigned
	for j := range m {
		if used[j] {
			continue
		}
		used[j] = true
		best = max(best, score[row*m+j]+bruteBest(score, n, m, row+1, used))
		used[j] = false
	}
	return best
}

func BenchmarkTrack(b *testing.B) {
	for _, objects := range []int{1, 5, 20, 50} {
		b.Run(itoa(objects)+"objects", func(b *testing.B) {
			tr, err := New(Options{})
			require.NoError(b, err)
			defer tr.Close()
			objs := make([]meta.Object, objects)
			f := &frame{}
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				for i := range objs {
					objs[i] = meta.Object{Box: meta.Rect{X: float32(60*(i%30)) + float32(n%200), Y: float32(60 * (i / 30)), W: 40, H: 40}}
				}
				f.Number, f.Objects, f.Events = n, objs, f.Events[:0]
				if err := tr.process(f); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestSourcesComeAndGo: a long churn of short-lived sources, each ended by
// Forget (as EndSource does), leaves no state behind and the heap flat.
func TestSourcesComeAndGo(t *testing.T) {
	tr := newTracker(t, Options{MinHits: 1, SourceTimeout: -1})
	f := &frame{}
	churn := func(from, to int) {
		for id := from; id < to; id++ {
			for n := int64(0); n < 5; n++ {
				f.SourceID, f.Number = id, n
				f.Objects = append(f.Objects[:0],
					meta.Object{Box: meta.Rect{X: float32(n), Y: 10, W: 30, H: 30}},
					meta.Object{Box: meta.Rect{X: 300 + float32(n), Y: 10, W: 30, H: 30}})
				f.Events = f.Events[:0]
				require.NoError(t, tr.process(f))
			}
			tr.Forget(id)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	churn(0, 2000) // warm up: buffers at their size
	before := heap()
	churn(2000, 22000)
	after := heap()
	assert.Equal(t, Stats{}, tr.Stats())
	t.Logf("heap %d → %d bytes over 20000 sources", before, after)
	// A source's state is some 400 bytes: 20000 kept would be 8 MB.
	assert.Less(t, int64(after)-int64(before), int64(256<<10), "the heap grew with the sources")
}

// TestBlurHold: a face missed by the detector for 1 to 3 frames stays in the
// frame's objects at its predicted box (Held set, score 0, the track's id),
// for a confirmed track and for a tentative one alike; past the hold it is
// gone; with BlurHold -1 nothing is held.
func TestBlurHold(t *testing.T) {
	face := func(n int64) meta.Object {
		return meta.Object{Box: meta.Rect{X: 100 + 4*float32(n), Y: 50, W: 40, H: 40}, Score: 0.9, Label: "face"}
	}
	for _, missed := range []int64{1, 2, 3} {
		for _, from := range []int64{2, 5} { // missed from frame 2: tentative (seen twice); from 5: confirmed
			t.Run(fmt.Sprintf("missed %d from frame %d", missed, from), func(t *testing.T) {
				tr := newTracker(t, Options{BlurHold: 3})
				for n := int64(0); n < from+missed+2; n++ {
					f := &frame{Number: n}
					gone := n >= from && n < from+missed
					if !gone {
						f.Objects = []meta.Object{face(n)}
					}
					require.NoError(t, tr.process(f))
					require.Len(t, f.Objects, 1, "frame %d: one face, detected or held", n)
					o := f.Objects[0]
					if !gone {
						assert.Zero(t, o.Held)
						continue
					}
					assert.Equal(t, int(n-from+1), o.Held)
					assert.Zero(t, o.Score)
					if from >= 3 {
						assert.Equal(t, int64(1), o.TrackID, "a confirmed track keeps its id")
					} else {
						assert.Zero(t, o.TrackID, "a tentative track has no id yet")
					}
					// The predicted box follows the motion (4 px a frame)
					// and covers where the face really is.
					truth := face(n).Box
					assert.InDelta(t, truth.X+truth.W/2, o.Box.X+o.Box.W/2, 2, "centre x")
					assert.GreaterOrEqual(t, o.Box.W, truth.W)
					assert.Equal(t, float32(1), models.Hidden(truth, []meta.Rect{o.Box}, false))
				}
			})
		}
	}
	t.Run("past the hold", func(t *testing.T) {
		tr := newTracker(t, Options{BlurHold: 2})
		for n := int64(0); n < 5; n++ {
			require.NoError(t, tr.process(&frame{Number: n, Objects: []meta.Object{face(n)}}))
		}
		var held []int
		for n := int64(5); n < 9; n++ {
			f := &frame{Number: n}
			require.NoError(t, tr.process(f))
			held = append(held, len(f.Objects))
		}
		assert.Equal(t, []int{1, 1, 0, 0}, held)
	})
	t.Run("off", func(t *testing.T) {
		tr := newTracker(t, Options{BlurHold: -1})
		for n := int64(0); n < 5; n++ {
			require.NoError(t, tr.process(&frame{Number: n, Objects: []meta.Object{face(n)}}))
		}
		f := &frame{Number: 5}
		require.NoError(t, tr.process(f))
		assert.Empty(t, f.Objects)
	})
	t.Run("held objects given back are not detections", func(t *testing.T) {
		tr := newTracker(t, Options{BlurHold: 3})
		for n := int64(0); n < 5; n++ {
			require.NoError(t, tr.process(&frame{Number: n, Objects: []meta.Object{face(n)}}))
		}
		f := &frame{Number: 5}
		require.NoError(t, tr.process(f))
		require.Len(t, f.Objects, 1)
		g := &frame{Number: 6, Objects: f.Objects} // a second tracker pass over the same objects
		require.NoError(t, tr.process(g))
		require.Len(t, g.Objects, 1)
		assert.Equal(t, 2, g.Objects[0].Held, "still missed, not matched to its own prediction")
	})
}
