package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// SourceEnder is implemented by a Processor or Sink that keeps state per
// source (a tracker's tracks, a video file per source, a tile in a view).
// When a source ends (end of stream, failure, Detach, or the line stopping)
// the line sends an end-of-source marker down the line behind that source's
// last frame; EndSource is called once per source, on the stage's own
// goroutine, after every frame of that source has passed the stage: the
// place to finalize that source's output or forget its state.
//
// The marker carries a SourceEnd. A stage may add Events to it (the tracker
// adds a meta.TrackLeft event for each track the source still had); sinks that
// report, such as the JSON lines and RabbitMQ sinks, write it out as the
// source's last message.
//
// Only single-worker stages and sinks are told: a stage with several
// workers (or a batch stage) passes the marker on without calling them.
// An error from EndSource is fatal, like one from Process or Write. After
// an abort, markers may not arrive: Close still finalizes everything.
type SourceEnder interface {
	EndSource(ctx context.Context, end *SourceEnd) error
}

// SourceEnd describes a source that ended; it travels down the line with the
// source's end-of-source marker, behind the source's last frame.
type SourceEnd struct {
	SourceID   int
	SourceName string
	// State is how the source ended: meta.SourceEnded, meta.SourceStopped or
	// meta.SourceFailed; Err says why it failed.
	State meta.SourceState
	Err   string
	// NextFrame is one past the highest frame number the source gave (0 if
	// it gave none): the number its next frame would have had.
	NextFrame int64
	// Ended is when the source's reader stopped.
	Ended time.Time
	// Events are added by stages on the way: meta.TrackLeft for each track the
	// source still had when it ended.
	Events []meta.TrackEvent
}

// SourceStatus describes one source of a line, for Line.Sources and the
// HTTP API.
type SourceStatus struct {
	ID int `json:"id"`
	// Name is the source's SourceInfo.Name, its secrets hidden
	// (meta.RedactURI).
	Name string `json:"name"`
	Live bool   `json:"live"`
	// FPS is the nominal frame rate the source gave when attached (0 when
	// unknown).
	FPS   float64          `json:"fps"`
	State meta.SourceState `json:"state"`
	// Err is the error that ended a failed source.
	Err string `json:"error,omitempty"`
	// Frames counts frames the source handed to the line.
	Frames int64 `json:"frames"`
	// Dropped counts this source's frames dropped by its link.
	Dropped int64 `json:"dropped"`
}

// Attach adds a source to the line and returns its id: the SourceID of its
// frames. The source's name (SourceInfo.Name, a URI that may hold a
// password) is redacted here, once, with meta.RedactURI: its frames'
// SourceName, its status, its end-of-source marker and its errors all
// carry the redacted name. Ids are never reused: they count 0, 1, 2, ... in the order of
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
	// Redacted once, here, where the source enters the line: everything
	// downstream (frames, statuses, end messages, errors) has this name.
	raw := info.Name
	info.Name = meta.RedactURI(raw)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == lineStopped {
		return -1, ErrLineStopped
	}
	id := l.nextID
	l.nextID++
	name := "source"
	if id > 0 {
		name = fmt.Sprintf("source%d", id)
	}
	s := &sourceNode{id: id, src: src, info: info, rawName: raw, opts: opts, metrics: newStageMetrics(name, "source", 1), state: meta.SourceRunning}
	l.sources = append(l.sources, s)
	if l.state == lineRunning {
		l.startSourceLocked(s)
	}
	return id, nil
}

// Detach stops source id gracefully: its Read's context is cancelled, and
// the frames it has already sent go on through the line, followed by its
// end-of-source marker. Detach does not wait: the source is closed, and its
// state becomes meta.SourceStopped, once its Read has returned (see Sources).
// Detach before Run means the source will read nothing. Detaching a source
// that has already ended (or been detached) does nothing and returns nil.
// An id the line never had gives an error wrapping ErrNoSource.
func (l *Line) Detach(id int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sourceLocked(id)
	if s == nil {
		if id >= 0 && id < l.nextID {
			return nil // ended long ago, and forgotten (see KeptEndedSources)
		}
		return fmt.Errorf("detach source %d: %w", id, ErrNoSource)
	}
	s.detached = true
	if s.cancel != nil {
		s.cancel()
	}
	return nil
}

// KeptEndedSources is how many ended sources a line remembers (in Sources
// and Stats) besides the running ones; older ones are forgotten, so that a
// line whose sources come and go for months does not grow.
const KeptEndedSources = 256

// ForgetEnded trims m, state kept per ended source (keyed by source id),
// to the KeptEndedSources newest ids: what a sink or stage that remembers
// ended sources calls after adding one, so that it follows the line's own
// bound.
func ForgetEnded[V any](m map[int]V) {
	if len(m) <= KeptEndedSources {
		return
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys[:len(keys)-KeptEndedSources] {
		delete(m, k)
	}
}

// sourceLocked finds a source the line still remembers by id (nil if
// none). Called with l.mu held.
func (l *Line) sourceLocked(id int) *sourceNode {
	i, found := slices.BinarySearchFunc(l.sources, id, func(s *sourceNode, id int) int { return cmp.Compare(s.id, id) })
	if !found {
		return nil
	}
	return l.sources[i]
}

// retireLocked is called once a source has ended: its metrics are frozen
// into a snapshot (the latency histogram alone is about 170 KB), and the
// oldest ended sources past KeptEndedSources are forgotten. Called with
// l.mu held.
func (l *Line) retireLocked(s *sourceNode) {
	final := s.metrics.snapshot()
	final.Queue = 0
	s.final = &final
	s.metrics = nil
	ended := 0
	for _, n := range l.sources {
		if n.final != nil {
			ended++
		}
	}
	if ended <= KeptEndedSources {
		return
	}
	l.sources = slices.DeleteFunc(l.sources, func(n *sourceNode) bool {
		if n.final != nil && ended > KeptEndedSources {
			ended--
			return true
		}
		return false
	})
}

// Sources lists the sources of the line, in id order: the running ones and
// the last KeptEndedSources that ended. A source added before Run reads
// meta.SourceRunning until it ends. Safe to call at any time from any goroutine.
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
			Frames:  s.statsLocked().Out,
			Dropped: s.dropped.Load(),
		}
		if s.err != nil {
			out[i].Err = s.err.Error()
		}
	}
	return out
}

// failSource ends source id as failed with err, because a stage could not
// handle its frames (ErrBadSource): its reader stops as Detach would stop
// it, and it ends as meta.SourceFailed with err (wrapped with the source's
// name) in its status, its end-of-source marker and Run's result. The
// first failure counts; a source forgotten long ago is left alone. Safe
// from any stage's goroutine.
func (l *Line) failSource(id int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sourceLocked(id)
	if s == nil || s.failure != nil {
		return
	}
	s.failure = fmt.Errorf("source %s: %w", s.info.Name, err)
	switch {
	case !s.readDone: // the reader picks it up when its Read loop ends
		if s.cancel != nil {
			s.cancel()
		}
	case s.final != nil: // ended already (end of stream, say): it failed after all
		s.state, s.err = meta.SourceFailed, s.failure
		if l.rt != nil {
			l.rt.addErrLocked(s.failure)
		}
	}
	// Otherwise the reader is between the two: readSource's last step
	// takes the failure.
}

// patchEnd makes a source's end-of-source marker say that it failed, if a
// stage ended it (failSource) after its reader had written the marker's
// SourceEnd. Each stage calls it before it acts on a marker; the marker
// comes after every frame of its source, so a stage that failed the source
// has done so by then.
func (l *Line) patchEnd(end *SourceEnd) {
	if end == nil || end.State == meta.SourceFailed {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sourceLocked(end.SourceID); s != nil && s.failure != nil {
		end.State, end.Err = meta.SourceFailed, s.failure.Error()
	}
}
