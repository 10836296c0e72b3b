package track

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// Options tune a Tracker. The zero value takes every default.
type Options struct {
	// IoU is the least intersection-over-union between a track's predicted
	// box and a detection for them to match; 0 means 0.3 (SORT's value).
	IoU float64 `yaml:"track-iou" usage:"least IoU between a track's predicted box and a detection to match them"`
	// MinHits is how many consecutive frames a new object must be detected
	// before it gets an id and a TrackAppeared event; 0 means 3. 1 confirms
	// on the first detection.
	MinHits int `yaml:"track-min-hits" usage:"frames an object must be detected in a row before it gets an id"`
	// MaxAge is how many frames a confirmed track may go unseen (occlusion,
	// a missed detection) before it is dropped with a TrackLeft event; 0
	// means 30 (one second at 30 FPS). Use -1 for none: drop at the first miss.
	MaxAge int `yaml:"track-max-age" usage:"frames a track may go unseen before it leaves (-1 = leave at the first miss)"`
	// BlurHold is how many frames an object stays in the frame's objects
	// after the detector missed it: the tracker adds it at its predicted box
	// (grown for the uncertainty of the prediction), with Held set, so that
	// the blur stage keeps hiding a face through a missed detection instead
	// of showing it for a frame. Tentative tracks are held too (a face is
	// blurred from its first detection, before it has an id); a confirmed
	// track is held at most until it leaves (MaxAge). 0 means
	// DefaultBlurHold; -1 turns holding off.
	BlurHold int `yaml:"blur-hold" usage:"frames a face stays blurred at its tracked box after the detector misses it (-1 = off)"`
	// Alpha and Beta are the alpha-beta filter's gains for position and
	// velocity, in (0, 1]; 0 means 0.7 and 0.3: detections are precise to a
	// few pixels, so the filter trusts them and follows changes of speed
	// within a few frames.
	Alpha, Beta float64 `yaml:"-"`
	// AnyClass matches detections to tracks of another ClassID too; by
	// default a face never continues a person's track.
	AnyClass bool `yaml:"-"`
	// MaxTracks bounds the tracks of one source (and so the cost of the
	// assignment, cubic in it); detections beyond it stay untracked. 0 means
	// 256.
	MaxTracks int `yaml:"-"`
	// SourceTimeout, when above 0, frees a source's state when it has sent
	// no frame for this long: a safety net for a tracker used outside a
	// pipeline.Line whose sources end without EndSource or Forget. Its tracks
	// get no TrackLeft events. 0 (or less) means never, the right choice in
	// a line: the line always calls EndSource, which reports them, and a
	// camera that is silent for a while (an RTSP source reconnecting) keeps
	// its tracks.
	SourceTimeout time.Duration `yaml:"-"`
}

// DefaultBlurHold is BlurHold's default, in frames: longer than the runs
// of missed detections measured on the sample clips (docs/BENCHMARKS.md,
// "Blur that does not blink").
const DefaultBlurHold = 6

// DefaultOptions returns the options a zero Options stands for.
func DefaultOptions() Options {
	o, _ := Options{}.withDefaults()
	return o
}

// Validate checks the options a user sets, naming each by its option key;
// zero values stand for the defaults.
func (o Options) Validate() error {
	var errs []error
	if o.IoU < 0 || o.IoU > 1 {
		errs = append(errs, fmt.Errorf("track-iou: %g is out of range: want more than 0, at most 1", o.IoU))
	}
	if o.MinHits < 0 || o.MinHits > 1000 {
		errs = append(errs, fmt.Errorf("track-min-hits: %d is out of range: want 1 to 1000", o.MinHits))
	}
	if o.MaxAge < -1 || o.MaxAge > 100000 {
		errs = append(errs, fmt.Errorf("track-max-age: %d is out of range: want -1 to 100000", o.MaxAge))
	}
	if o.BlurHold < -1 || o.BlurHold > 1000 {
		errs = append(errs, fmt.Errorf("blur-hold: %d is out of range: want -1 (off) to 1000", o.BlurHold))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() (Options, error) {
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("track: %w", err)
	}
	if o.IoU == 0 {
		o.IoU = 0.3
	}
	if o.MinHits == 0 {
		o.MinHits = 3
	}
	if o.MaxAge == 0 {
		o.MaxAge = 30
	}
	if o.MaxAge < 0 {
		o.MaxAge = 0
	}
	if o.BlurHold == 0 {
		o.BlurHold = DefaultBlurHold
	}
	if o.Alpha == 0 {
		o.Alpha = 0.7
	}
	if o.Beta == 0 {
		o.Beta = 0.3
	}
	if o.MaxTracks == 0 {
		o.MaxTracks = 256
	}
	switch {
	case o.Alpha < 0 || o.Alpha > 1:
		return o, fmt.Errorf("track: alpha %g is not in (0, 1]", o.Alpha)
	case o.Beta < 0 || o.Beta > 1:
		return o, fmt.Errorf("track: beta %g is not in (0, 1]", o.Beta)
	case o.MaxTracks < 0:
		return o, fmt.Errorf("track: max tracks %d is negative", o.MaxTracks)
	}
	return o, nil
}

// Tracker is a SORT-like multi-object tracker: a pipeline.Processor that
// sets Object.TrackID and appends TrackEvents. See the package doc.
type Tracker struct {
	opts Options
	now  func() time.Time

	mu        sync.Mutex
	sources   map[int]*source
	lastSweep time.Time
	closed    bool

	// Scratch reused on every frame.
	iou     []float64
	assign  []int // detection index for each track, -1 for none
	matched []bool
	held    []meta.Object
	hung    hungarian
}

// source is one source's tracks.
type source struct {
	tracks   []track
	nextID   int64
	number   int64 // frame number the estimates refer to
	started  bool
	lastWall time.Time
}

// track is one object's state. Positions are box centres and sizes; the
// velocities are per frame.
type track struct {
	id             int64 // 0 while tentative
	classID        int
	label          string
	cx, cy, w, h   float64
	vx, vy, vw, vh float64
	// predicted box for the current frame
	px, py, pw, ph float64
	hits           int   // consecutive matches (confirms a tentative track)
	seen           int   // frames matched in all
	lastSeen       int64 // frame number of the last match
}

// New makes a tracker.
func New(o Options) (*Tracker, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tracker{opts: o, now: time.Now, sources: map[int]*source{}}, nil
}

// Options returns the options in use, defaults filled in.
func (t *Tracker) Options() Options { return t.opts }

// ErrClosed is returned by Process after Close.
var ErrClosed = errors.New("track: tracker closed")

// Update tracks one frame of one source: it sets objs[i].TrackID for
// objects of confirmed tracks (0 for the others), appends the objects held
// through a missed detection (Options.BlurHold; their Held is set) and
// returns both slices, evs with the frame's TrackAppeared and TrackLeft
// events appended. Objects held by the caller (Held > 0) are not
// detections: they are dropped first. number is the frame's number in its
// source: numbers, not calls, measure time.
func (t *Tracker) Update(sourceID int, number int64, objs []meta.Object, evs []meta.TrackEvent) ([]meta.Object, []meta.TrackEvent, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return objs, evs, ErrClosed
	}
	now := t.now()
	t.sweep(now)
	s := t.sources[sourceID]
	if s == nil {
		s = &source{}
		t.sources[sourceID] = s
	}
	s.lastWall = now
	dt := int64(1)
	if s.started && number > s.number {
		dt = number - s.number
	}
	s.started = true
	s.number = number
	objs = slices.DeleteFunc(objs, func(o meta.Object) bool { return o.Held > 0 })
	evs = t.step(s, number, objs, evs, dt)
	return append(objs, t.held...), evs, nil
}

// step runs one frame of one source.
func (t *Tracker) step(s *source, number int64, objs []meta.Object, evs []meta.TrackEvent, dt int64) []meta.TrackEvent {
	o := &t.opts
	// Predict. A long gap is capped: past MaxAge the track is gone anyway.
	steps := float64(min(dt, int64(o.MaxAge)+1))
	for i := range s.tracks {
		tr := &s.tracks[i]
		tr.px = tr.cx + tr.vx*steps
		tr.py = tr.cy + tr.vy*steps
		tr.pw = max(tr.w+tr.vw*steps, 1)
		tr.ph = max(tr.h+tr.vh*steps, 1)
	}

	n, m := len(s.tracks), len(objs)
	t.assign = grow(t.assign, n)
	t.matched = grow(t.matched, m)
	for i := range t.assign {
		t.assign[i] = -1
	}
	for j := range t.matched {
		t.matched[j] = false
	}
	for j := range objs {
		objs[j].TrackID = 0
	}
	if n > 0 && m > 0 {
		t.iou = grow(t.iou, n*m)
		for i := range s.tracks {
			tr := &s.tracks[i]
			for j := range objs {
				ob := &objs[j]
				v := 0.0
				if (o.AnyClass || ob.ClassID == tr.classID) && ob.Box.W > 0 && ob.Box.H > 0 {
					v = iou(tr.px-tr.pw/2, tr.py-tr.ph/2, tr.pw, tr.ph, ob.Box)
				}
				t.iou[i*m+j] = v
			}
		}
		t.hung.solve(n, m, t.iou, t.assign)
		for i, j := range t.assign {
			if j >= 0 && t.iou[i*m+j] < o.IoU {
				t.assign[i] = -1
			} else if j >= 0 {
				t.matched[j] = true
			}
		}
	}

	// Update matched tracks, coast or drop the others.
	t.held = t.held[:0]
	for i := 0; i < len(s.tracks); {
		tr := &s.tracks[i]
		if j := t.assign[i]; j >= 0 {
			ob := &objs[j]
			t.update(tr, ob, float64(dt))
			tr.lastSeen = number
			tr.hits++
			tr.seen++
			if tr.id == 0 && tr.hits >= o.MinHits {
				s.nextID++
				tr.id = s.nextID
				evs = append(evs, meta.TrackEvent{Kind: meta.TrackAppeared, TrackID: tr.id, Label: tr.label})
			}
			ob.TrackID = tr.id
			i++
			continue
		}
		tr.hits = 0
		unseen := number - tr.lastSeen
		if (tr.id == 0 && unseen > int64(o.BlurHold)) || unseen > int64(o.MaxAge) {
			if tr.id != 0 {
				evs = append(evs, meta.TrackEvent{Kind: meta.TrackLeft, TrackID: tr.id, Label: tr.label, Frames: tr.seen})
			}
			// Swap-remove; the moved track (from the end) is visited next
			// at index i. Its assignment moves with it.
			last := len(s.tracks) - 1
			s.tracks[i] = s.tracks[last]
			s.tracks[last] = track{}
			s.tracks = s.tracks[:last]
			t.assign[i] = t.assign[last] // no track was added yet: last < n
			n = last
			continue
		}
		// Coast on the prediction; a size trend is not extrapolated
		// through an occlusion.
		tr.cx, tr.cy, tr.w, tr.h = tr.px, tr.py, tr.pw, tr.ph
		tr.vw, tr.vh = 0, 0
		if unseen <= int64(o.BlurHold) {
			t.held = append(t.held, heldObject(tr, unseen))
		}
		i++
	}

	// Start tentative tracks for the unmatched detections.
	for j := range objs {
		ob := &objs[j]
		if t.matched[j] || ob.Box.W <= 0 || ob.Box.H <= 0 || len(s.tracks) >= o.MaxTracks {
			continue
		}
		s.tracks = append(s.tracks, track{
			classID: ob.ClassID, label: ob.Label,
			cx: float64(ob.Box.X + ob.Box.W/2), cy: float64(ob.Box.Y + ob.Box.H/2),
			w: float64(ob.Box.W), h: float64(ob.Box.H),
			hits: 1, seen: 1, lastSeen: number,
		})
		tr := &s.tracks[len(s.tracks)-1]
		if o.MinHits <= 1 {
			s.nextID++
			tr.id = s.nextID
			evs = append(evs, meta.TrackEvent{Kind: meta.TrackAppeared, TrackID: tr.id, Label: tr.label})
		}
		ob.TrackID = tr.id
	}
	return evs
}

// heldObject is a track missed for unseen frames, as an object at its
// predicted box, grown on every side by what the prediction may be off by:
// for each frame unseen, the track's speed and 5% of its size (a face that
// turns or changes speed while it is not detected).
func heldObject(tr *track, unseen int64) meta.Object {
	k := float64(unseen)
	mx := k * (math.Abs(tr.vx) + 0.05*tr.pw)
	my := k * (math.Abs(tr.vy) + 0.05*tr.ph)
	w, h := tr.pw+2*mx, tr.ph+2*my
	return meta.Object{
		Box:     meta.Rect{X: float32(tr.px - w/2), Y: float32(tr.py - h/2), W: float32(w), H: float32(h)},
		Label:   tr.label,
		ClassID: tr.classID,
		TrackID: tr.id,
		Held:    int(unseen),
	}
}

// update corrects a track's prediction with a measurement: the alpha-beta
// filter. The second measurement sets the velocity directly (the first one
// has none to correct).
func (t *Tracker) update(tr *track, ob *meta.Object, dt float64) {
	zx, zy := float64(ob.Box.X+ob.Box.W/2), float64(ob.Box.Y+ob.Box.H/2)
	zw, zh := float64(ob.Box.W), float64(ob.Box.H)
	if tr.seen == 1 {
		tr.vx, tr.vy = (zx-tr.cx)/dt, (zy-tr.cy)/dt
		tr.vw, tr.vh = (zw-tr.w)/dt, (zh-tr.h)/dt
		tr.cx, tr.cy, tr.w, tr.h = zx, zy, zw, zh
		return
	}
	a, b := t.opts.Alpha, t.opts.Beta/dt
	rx, ry, rw, rh := zx-tr.px, zy-tr.py, zw-tr.pw, zh-tr.ph
	tr.cx, tr.cy = tr.px+a*rx, tr.py+a*ry
	tr.w, tr.h = max(tr.pw+a*rw, 1), max(tr.ph+a*rh, 1)
	tr.vx += b * rx
	tr.vy += b * ry
	tr.vw += b * rw
	tr.vh += b * rh
}

// sweep frees sources that sent nothing for SourceTimeout, at most once a
// second.
func (t *Tracker) sweep(now time.Time) {
	if t.opts.SourceTimeout <= 0 || now.Sub(t.lastSweep) < time.Second {
		return
	}
	t.lastSweep = now
	for id, s := range t.sources {
		if now.Sub(s.lastWall) > t.opts.SourceTimeout {
			delete(t.sources, id)
		}
	}
}

// Forget frees the state of one source (call it when the source ends) and
// returns a TrackLeft event for each of its confirmed tracks, for the caller
// to publish; nil if the source is unknown. Safe from any goroutine.
func (t *Tracker) Forget(sourceID int) []meta.TrackEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sources[sourceID]
	if s == nil {
		return nil
	}
	delete(t.sources, sourceID)
	var evs []meta.TrackEvent
	for _, tr := range s.tracks {
		if tr.id != 0 {
			evs = append(evs, meta.TrackEvent{Kind: meta.TrackLeft, TrackID: tr.id, Label: tr.label, Frames: tr.seen})
		}
	}
	return evs
}

// Stats counts what the tracker holds now.
type Stats struct {
	// Sources with state, Tracks in all (tentative included), Confirmed
	// tracks.
	Sources, Tracks, Confirmed int
}

// Stats returns the tracker's current size. Safe from any goroutine.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := Stats{Sources: len(t.sources)}
	for _, s := range t.sources {
		st.Tracks += len(s.tracks)
		for _, tr := range s.tracks {
			if tr.id != 0 {
				st.Confirmed++
			}
		}
	}
	return st
}

// Close frees every source's state. It is idempotent.
func (t *Tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.sources = map[int]*source{}
	return nil
}

// iou is the intersection over union of box a (x, y, w, h) and b.
func iou(ax, ay, aw, ah float64, b meta.Rect) float64 {
	bx, by, bw, bh := float64(b.X), float64(b.Y), float64(b.W), float64(b.H)
	ix := min(ax+aw, bx+bw) - max(ax, bx)
	iy := min(ay+ah, by+bh) - max(ay, by)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (aw*ah + bw*bh - inter)
}

// grow returns s resized to n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, max(n, 2*cap(s)))
}
