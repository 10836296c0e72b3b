package infer

import (
	"image"
	"sync"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// passGate spares the second pass (Refine) the parts of a video that have
// not changed. The pass over a 1080p frame is a full-resolution network run
// (about 200 ms of CPU); a camera's picture is mostly the same from one
// frame to the next, and a face cannot appear in a part of the picture
// whose pixels did not change. So the pass runs in tiles, and a tile runs
// only when its picture differs from the one it had when it last ran (any
// 4x4-pixel block's mean grey moved by more than gateThreshold levels), or
// when its turn comes to be refreshed (the least recently run unchanged tile
// of each frame runs anyway, so every tile is looked at again within as
// many frames as there are tiles). An unchanged tile contributes what it
// found when it last ran.
//
// The gate is shared by the stage's workers (frames of one source may be
// refined out of order by two workers: a tile's picture is compared with
// the one it had when it ran, whichever frame that was). It holds Go
// memory only: per source a quarter-size grey picture per tile and the
// objects found, for at most gateSources sources (the least recently seen
// is forgotten first). Still pictures are never gated (Process passes no
// source for them).
type passGate struct {
	mu      sync.Mutex
	sources map[int]*gateSource
	clock   uint64
}

// gateThreshold is the grey-level change of a 4x4 block that counts as a
// change: far above sensor and compression noise averaged over 16 pixels
// (about 1 level), far below a face moving into a block.
const gateThreshold = 6

// gateSources bounds the sources a gate remembers.
const gateSources = 64

type gateSource struct {
	w, h  int // frame size; a new size starts over
	used  uint64
	tiles []gateTile
}

type gateTile struct {
	thumb []byte        // the tile's quarter-size grey picture when it last ran (nil: never)
	found []meta.Object // what it found then (detections, after verification)
	ranAt uint64
	busy  bool // running in another worker now
}

func newPassGate() *passGate { return &passGate{sources: map[int]*gateSource{}} }

// quarter is a frame's grey picture at a quarter of its size.
type quarter struct {
	w, h int
	pix  []byte
}

// region returns the quarter-size pixels of the frame rectangle r.
func (q quarter) region(r image.Rectangle) (image.Rectangle, bool) {
	qr := image.Rect(r.Min.X/4, r.Min.Y/4, (r.Max.X+3)/4, (r.Max.Y+3)/4).Intersect(image.Rect(0, 0, q.w, q.h))
	return qr, !qr.Empty()
}

// crop copies the pixels of qr.
func (q quarter) crop(qr image.Rectangle) []byte {
	out := make([]byte, 0, qr.Dx()*qr.Dy())
	for y := qr.Min.Y; y < qr.Max.Y; y++ {
		out = append(out, q.pix[y*q.w+qr.Min.X:y*q.w+qr.Max.X]...)
	}
	return out
}

// changed says whether the pixels of qr differ from old by more than
// gateThreshold anywhere.
func (q quarter) changed(qr image.Rectangle, old []byte) bool {
	if len(old) != qr.Dx()*qr.Dy() {
		return true
	}
	i := 0
	for y := qr.Min.Y; y < qr.Max.Y; y++ {
		row := q.pix[y*q.w+qr.Min.X : y*q.w+qr.Max.X]
		for _, v := range row {
			d := int(v) - int(old[i])
			if d > gateThreshold || d < -gateThreshold {
				return true
			}
			i++
		}
	}
	return false
}

// plan decides which tiles of this frame run: run[i] is true for a tile
// whose picture changed since it last ran, that never ran, or whose turn it
// is to be refreshed (the least recently run of the unchanged tiles that no
// other worker is running now). It returns what the others found when they
// last ran.
func (g *passGate) plan(src, w, h int, tiles []layout, q quarter) (run []bool, reused []meta.Object) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clock++
	s := g.sources[src]
	if s == nil || s.w != w || s.h != h || len(s.tiles) != len(tiles) {
		if s == nil && len(g.sources) >= gateSources {
			g.evict()
		}
		s = &gateSource{w: w, h: h, tiles: make([]gateTile, len(tiles))}
		g.sources[src] = s
	}
	s.used = g.clock
	run = make([]bool, len(tiles))
	stalest := -1
	for i, l := range tiles {
		t := &s.tiles[i]
		qr, ok := q.region(l.pieces[0].src)
		if t.thumb == nil || !ok || q.changed(qr, t.thumb) {
			run[i] = true
			continue
		}
		// Unchanged since it last ran. A tile another worker is running
		// now (a neighbouring frame's refresh) is not refreshed again.
		if !t.busy && (stalest < 0 || t.ranAt < s.tiles[stalest].ranAt) {
			stalest = i
		}
	}
	if stalest >= 0 {
		run[stalest] = true
	}
	for i := range tiles {
		if run[i] {
			s.tiles[i].busy = true
		} else {
			reused = append(reused, s.tiles[i].found...)
		}
	}
	return run, reused
}

// store records, for each tile that ran, its picture and what the frame's
// refinement found in it (objects whose centre is in its keep area).
func (g *passGate) store(src int, tiles []layout, run []bool, q quarter, objs []meta.Object) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.sources[src]
	if s == nil || len(s.tiles) != len(tiles) {
		return
	}
	for i, l := range tiles {
		if !run[i] {
			continue
		}
		t := &s.tiles[i]
		t.busy = false
		qr, ok := q.region(l.pieces[0].src)
		if !ok {
			t.thumb = nil
			continue
		}
		t.thumb = q.crop(qr)
		t.ranAt = g.clock
		t.found = t.found[:0]
		k := l.pieces[0].keep
		for _, o := range objs {
			cx, cy := o.Box.X+o.Box.W/2, o.Box.Y+o.Box.H/2
			if cx >= k.X && cy >= k.Y && cx < k.X+k.W && cy < k.Y+k.H {
				o.Landmarks = append([]meta.Point(nil), o.Landmarks...)
				t.found = append(t.found, o)
			}
		}
	}
}

// release marks the tiles that were to run as free again, when the frame's
// refinement failed before store.
func (g *passGate) release(src int, run []bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.sources[src]; s != nil && len(s.tiles) == len(run) {
		for i, r := range run {
			if r {
				s.tiles[i].busy = false
			}
		}
	}
}

// evict forgets the least recently seen source.
func (g *passGate) evict() {
	oldest, at := -1, ^uint64(0)
	for id, s := range g.sources {
		if s.used < at {
			oldest, at = id, s.used
		}
	}
	delete(g.sources, oldest)
}
