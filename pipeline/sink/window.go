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
type Window struct {
	title  string
	tile   bool
	frames chan *pipeline.Frame
	done   chan struct{}
	onQuit func()
	once   sync.Once
	shown  int
	mu     sync.Mutex
}

// NewWindow opens the display. With tile set, all sources share one window
// in a grid; otherwise each source has its own. onQuit, if not nil, is
// called when the user presses q or Esc in a window (cmd uses it to stop the
// line).
func NewWindow(title string, tile bool, onQuit func()) (*Window, error) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil, errors.New("window: no display (DISPLAY is not set): drop --window, or use --http for a live view")
	}
	w := &Window{title: title, tile: tile, frames: make(chan *pipeline.Frame, 1), done: make(chan struct{}), onQuit: onQuit}
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
	for f := range w.frames {
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
		if k := win.WaitKey(1); (k == 'q' || k == 27) && w.onQuit != nil {
			w.once.Do(w.onQuit)
		}
	}
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
