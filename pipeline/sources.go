package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// SourceEnder is implemented by a Processor or Sink that keeps state per
// source (a tracker's tracks, a video file per source, a tile in a view).
// When a source ends (end of stream, failure, Detach, or the line stopping)
// the line sends an end-of-source marker down the line behind that source's
// last frame; EndSource is called once per source, on the stage's own
// goroutine, after every frame of that source has passed the stage: the
// place to finalize that source's output or forget its state.
//
// Only single-worker stages and sinks are told: a stage with several
// workers (or a batch stage) passes the marker on without calling them.
// An error from EndSource is fatal, like one from Process or Write. After
// an abort, markers may not arrive: Close still finalizes everything.
type SourceEnder interface {
	EndSource(ctx context.Context, sourceID int) error
}

// SourceState is where a source is in its life.
type SourceState string

// The states of a source.
const (
	SourceRunning SourceState = "running" // reading frames
	SourceEnded   SourceState = "ended"   // end of stream
	SourceStopped SourceState = "stopped" // detached, or the line stopped
	SourceFailed  SourceState = "failed"  // Read returned an error (see Err)
)

// SourceStatus describes one source of a line, for Line.Sources and the
// HTTP API.
type SourceStatus struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Live bool   `json:"live"`
	// FPS is the nominal frame rate the source gave when attached (0 when
	// unknown).
	FPS   float64     `json:"fps"`
	State SourceState `json:"state"`
	// Err is the error that ended a failed source.
	Err string `json:"error,omitempty"`
	// Frames counts frames the source handed to the line.
	Frames int64 `json:"frames"`
	// Dropped counts this source's frames dropped by its link.
	Dropped int64 `json:"dropped"`
}

// ErrNoSource is returned by Detach for an id the line never had.
var ErrNoSource = errors.New("pipeline: no such source")

// ErrLineStopped is returned by Attach once the line has stopped taking
// sources (it has ended, or a stop is draining it).
var ErrLineStopped = errors.New("pipeline: line has stopped")

// Attach adds a source to the line and returns its id: the SourceID of its
// frames. Ids are never reused: they count 0, 1, 2, ... in the order of
// Attach (and AddSource), and the source's stage name in Stats is "source",
// then "source1", "source2", ... Before Run the source waits for Run; while
// Run runs it starts at once: its own goroutine, its own link with its own
// policy (Auto is DropOldest for a live source, Block otherwise), merged
// into the first stage like the others. Probes on "source" apply to it.
//
// On success the line owns src and closes it once its Read loop has
// returned. Once the line has stopped taking sources (Run has ended, a stop
// is draining it, a fatal error is aborting it, Close was called, or, without
// KeepAlive, its last source has ended) Attach returns ErrLineStopped and
// does not keep src: the caller still owns it and must close it.
func (l *Line) Attach(src Source, opts LinkOptions) (int, error) {
	if src == nil {
		return -1, errors.New("pipeline: attach: nil source")
	}
	info := src.Info()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == lineStopped {
		return -1, ErrLineStopped
	}
	id := len(l.sources)
	name := "source"
	if id > 0 {
		name = fmt.Sprintf("source%d", id)
	}
	s := &sourceNode{id: id, src: src, info: info, opts: opts, metrics: newStageMetrics(name, "source", 1), state: SourceRunning}
	l.sources = append(l.sources, s)
	if l.state == lineRunning {
		l.startSourceLocked(s)
	}
	return id, nil
}

// Detach stops source id gracefully: its Read's context is cancelled, and
// the frames it has already sent go on through the line, followed by its
// end-of-source marker. Detach does not wait: the source is closed, and its
// state becomes SourceStopped, once its Read has returned (see Sources).
// Detach before Run means the source will read nothing. Detaching a source
// that has already ended (or been detached) does nothing and returns nil.
// An id the line never had gives an error wrapping ErrNoSource.
func (l *Line) Detach(id int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id < 0 || id >= len(l.sources) {
		return fmt.Errorf("pipeline: detach source %d: %w", id, ErrNoSource)
	}
	s := l.sources[id]
	s.detached = true
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}

// Sources lists every source the line has had, in id order, ended ones
// included. A source added before Run reads SourceRunning until it ends.
// Safe to call at any time from any goroutine.
func (l *Line) Sources() []SourceStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]SourceStatus, len(l.sources))
	for i, s := range l.sources {
		out[i] = SourceStatus{
			ID:      s.id,
			Name:    s.info.Name,
			Live:    s.info.Live,
			FPS:     s.info.FPS,
			State:   s.state,
			Frames:  s.metrics.out.Load(),
			Dropped: s.dropped.Load(),
		}
		if s.err != nil {
			out[i].Err = s.err.Error()
		}
	}
	return out
}
