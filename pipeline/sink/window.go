package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// Window shows the frames on screen, one window per source. HighGUI wants
// every call on one OS thread, so the window runs in a goroutine of its own
// locked to its thread; Write hands it a copy of the newest frame and never
// waits (a slow display skips pictures, it does not slow the line).
// HighGUI binds itself to the first thread that uses it: make one Window
// per process. When a source ends (EndSource), its tile leaves the grid or
// its window closes.
type Window struct {
	title  string
	tile   bool
	frames chan *pipeline.Frame
	wake   chan struct{} // cap 1: ended sources to forget
	done   chan struct{}
	onQuit func()
	once   sync.Once
	mu     sync.Mutex
	shown  int   // guarded by mu
	ended  []int // guarded by mu: sources to forget, for the loop
	// open counts the windows and tiles the loop holds (tests).
	open struct{ windows, tiles int } // guarded by mu
}

var (
	_ pipeline.Sink        = (*Window)(nil)
	_ pipeline.SourceEnder = (*Window)(nil)
)

// NewWindow opens the display. With tile set, all sources share one window
// in a grid; otherwise each source has its own. onQuit, if not nil, is
// called when the user presses q or Esc in a window (cmd uses it to stop the
// line).
func NewWindow(title string, tile bool, onQuit func()) (*Window, error) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil, errors.New("window: no display (DISPLAY is not set): drop --window, or use --http for a live view")
	}
	w := &Window{title: title, tile: tile, frames: make(chan *pipeline.Frame, 1), wake: make(chan struct{}, 1), done: make(chan struct{}), onQuit: onQuit}
	go w.loop()
	return w, nil
}

func (w *Window) loop() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(w.done)
	windows := map[int]*gocv.Window{}
	grid := NewTiler(TileW, TileH)
	defer grid.Close()
	defer func() {
		for _, win := range windows {
			win.Close()
		}
	}()
	forget := func() {
		w.mu.Lock()
		ended := w.ended
		w.ended = nil
		w.mu.Unlock()
		for _, id := range ended {
			grid.Forget(id)
			if win := windows[id]; win != nil && !w.tile {
				win.Close()
				delete(windows, id)
			}
		}
		if len(ended) > 0 {
			w.count(grid, windows)
		}
	}
	for {
		var f *pipeline.Frame
		select {
		case f = <-w.frames:
		case <-w.wake:
			forget()
			continue
		}
		if f == nil {
			return // closed
		}
		w.show(f, grid, windows)
		// A source that ended while f was on its way goes after it.
		forget()
	}
}

// show displays one frame. Loop goroutine only.
func (w *Window) show(f *pipeline.Frame, grid *Tiler, windows map[int]*gocv.Window) {
	id, name, img := f.SourceID, f.SourceName, f.Image
	if w.tile {
		id, name = -1, "all sources"
		img = grid.Put(f)
	}
	win := windows[id]
	if win == nil {
		win = gocv.NewWindow(fmt.Sprintf("%s [%d] %s", w.title, id, name))
		windows[id] = win
	}
	win.IMShow(img)
	f.Release()
	w.mu.Lock()
	w.shown++
	w.mu.Unlock()
	w.count(grid, windows)
	if k := win.WaitKey(1); (k == 'q' || k == 27) && w.onQuit != nil {
		w.once.Do(w.onQuit)
	}
}

func (w *Window) count(grid *Tiler, windows map[int]*gocv.Window) {
	w.mu.Lock()
	w.open.windows, w.open.tiles = len(windows), grid.Len()
	w.mu.Unlock()
}

// EndSource drops an ended source's picture: its tile leaves the grid (which
// shrinks), or its own window closes. A picture of it still waiting to be
// shown is dropped.
func (w *Window) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	sourceID := end.SourceID
	// Write and EndSource run on the same goroutine, so nothing is queued
	// behind this check: a picture of the source is either waiting here or
	// already with the loop, which forgets the source after showing it.
	select {
	case old, ok := <-w.frames:
		if !ok {
			return nil // closed
		}
		if old.SourceID == sourceID {
			old.Release()
		} else {
			w.frames <- old // room: only this goroutine sends
		}
	default:
	}
	w.mu.Lock()
	w.ended = append(w.ended, sourceID)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Write queues a copy of the frame's picture for display, replacing one that
// has not been shown yet.
func (w *Window) Write(_ context.Context, f *pipeline.Frame) error {
	c := &pipeline.Frame{SourceID: f.SourceID, SourceName: f.SourceName, Number: f.Number, Image: f.Image.Clone()}
	for {
		select {
		case w.frames <- c:
			return nil
		default:
		}
		select {
		case old := <-w.frames:
			old.Release()
		default:
		}
	}
}

// Shown counts the pictures the window displayed.
func (w *Window) Shown() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shown
}

// Close closes the windows after the last picture is shown.
func (w *Window) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	w.once.Do(func() {}) // no quit callback after Close
	close(w.frames)
	<-w.done
	return nil
}
