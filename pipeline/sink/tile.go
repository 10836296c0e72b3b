package sink

import (
	"image"
	"image/color"
	"sort"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// The size of one source's tile in a tiled view.
const (
	TileW = 480
	TileH = 270
)

// Tiler composes the newest picture of every source into one grid image:
// the tiled view of the window and the web page. It keeps one scaled copy
// per source. Not safe for concurrent use; Close releases its Mats.
type Tiler struct {
	w, h  int
	tiles map[int]gocv.Mat
	grid  gocv.Mat
	// stale is set when a tile went: its cell must be blanked even if the
	// grid keeps its size.
	stale bool
}

// NewTiler makes a tiler with tiles of w×h pixels.
func NewTiler(w, h int) *Tiler {
	return &Tiler{w: w, h: h, tiles: map[int]gocv.Mat{}, grid: gocv.NewMat()}
}

// Put stores f's picture as its source's tile and returns the grid, valid
// until the next Put or Close. Each picture is scaled to fit its tile,
// keeping its aspect, and labelled with the source's name.
func (t *Tiler) Put(f *pipeline.Frame) gocv.Mat {
	tile, ok := t.tiles[f.SourceID]
	if !ok {
		tile = gocv.NewMatWithSize(t.h, t.w, gocv.MatTypeCV8UC3)
		t.tiles[f.SourceID] = tile
	}
	tile.SetTo(gocv.NewScalar(0, 0, 0, 0))
	iw, ih := f.Image.Cols(), f.Image.Rows()
	if iw > 0 && ih > 0 {
		scale := min(float64(t.w)/float64(iw), float64(t.h)/float64(ih))
		sw, sh := max(1, int(float64(iw)*scale)), max(1, int(float64(ih)*scale))
		dst := tile.Region(image.Rect((t.w-sw)/2, (t.h-sh)/2, (t.w-sw)/2+sw, (t.h-sh)/2+sh))
		gocv.Resize(f.Image, &dst, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
		dst.Close()
	}
	gocv.PutText(&tile, f.SourceName, image.Pt(6, t.h-8), gocv.FontHersheySimplex, 0.45, color.RGBA{255, 255, 255, 0}, 1)

	ids := make([]int, 0, len(t.tiles))
	for id := range t.tiles {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	cols := 1
	for cols*cols < len(ids) {
		cols++
	}
	rows := (len(ids) + cols - 1) / cols
	if t.grid.Rows() != rows*t.h || t.grid.Cols() != cols*t.w {
		t.grid.Close()
		t.grid = gocv.NewMatWithSize(rows*t.h, cols*t.w, gocv.MatTypeCV8UC3)
		t.stale = true
	}
	if t.stale {
		t.grid.SetTo(gocv.NewScalar(0, 0, 0, 0))
		t.stale = false
	}
	for i, id := range ids {
		x, y := (i%cols)*t.w, (i/cols)*t.h
		dst := t.grid.Region(image.Rect(x, y, x+t.w, y+t.h))
		tile := t.tiles[id]
		tile.CopyTo(&dst)
		dst.Close()
	}
	return t.grid
}

// Forget drops a source's tile (a source that ended): from the next Put on
// the grid has one cell less, and shrinks when the remaining tiles fit a
// smaller one.
func (t *Tiler) Forget(sourceID int) {
	if m, ok := t.tiles[sourceID]; ok {
		m.Close()
		delete(t.tiles, sourceID)
		t.stale = true
	}
}

// Len is the number of tiles (sources) in the grid.
func (t *Tiler) Len() int { return len(t.tiles) }

// Close releases the tiles and the grid.
func (t *Tiler) Close() error {
	for id := range t.tiles {
		t.Forget(id)
	}
	if t.grid.Ptr() != nil {
		t.grid.Close()
		t.grid = gocv.Mat{}
	}
	return nil
}
