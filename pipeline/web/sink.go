package web

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// tiledID is the feed of the tiled view.
const tiledID = -1

// Sink is a pipeline.Sink feeding the live MJPEG streams. Get it from
// Server.Sink. See the package doc for threading and ownership.
type Sink struct {
	interval time.Duration
	quality  int
	width    int

	wake chan struct{} // cap 1: work for the encoder
	done chan struct{} // closed by Close: ends streams and the encoder
	wg   sync.WaitGroup

	mu     sync.Mutex
	feeds  map[int]*feed
	closed bool
	// ended holds the sources that ended: their frames are ignored and
	// their streams refused (ids are never reused).
	ended map[int]struct{}
	// retired feeds of ended sources wait for the encoder to close their
	// Mats (it may be using them).
	retired []*feed
	// relayout: a source left the tiled view, which must be redrawn.
	relayout bool
	// onEnd is told when a source ended (the observer forgets its meter).
	onEnd func(id int)

	encoded, encoderDrops, viewerDrops atomic.Int64
	viewers                            atomic.Int64
	closeOnce                          sync.Once
}

// feed is one source's stream (or the tiled one).
type feed struct {
	id   int
	name string
	gone chan struct{} // closed when the source ends: its streams end
	// Guarded by Sink.mu:
	viewers    map[*viewer]struct{}
	pending    gocv.Mat // the frame Write copied, waiting for the encoder
	hasPending bool
	lastAccept time.Time
	latest     []byte // the last JPEG, sent first to a new viewer
	seen       bool   // a frame of this source arrived
	// Encoder goroutine only:
	work, scaled, tile gocv.Mat
	tileFresh          bool
}

// viewer is one open stream; its mailbox holds one JPEG.
type viewer struct {
	ch chan []byte
	fd *feed
}

var (
	_ pipeline.Sink        = (*Sink)(nil)
	_ pipeline.SourceEnder = (*Sink)(nil)
)

func newSink(o Options) *Sink {
	s := &Sink{
		interval: time.Duration(float64(time.Second) / o.StreamFPS),
		quality:  o.Quality,
		width:    o.StreamWidth,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		feeds:    map[int]*feed{},
		ended:    map[int]struct{}{},
	}
	s.wg.Add(1)
	go s.encoder()
	return s
}

func newFeed(id int, name string) *feed {
	return &feed{id: id, name: name, gone: make(chan struct{}), viewers: map[*viewer]struct{}{},
		pending: gocv.NewMat(), work: gocv.NewMat(), scaled: gocv.NewMat(), tile: gocv.NewMat()}
}

func (fd *feed) close() {
	for _, m := range []*gocv.Mat{&fd.pending, &fd.work, &fd.scaled, &fd.tile} {
		_ = m.Close()
	}
}

// Write copies f's image for the encoder when a viewer watches its source
// (or the tiled view) and the source's last accepted frame is older than
// 1/StreamFPS; otherwise it does nothing. It never waits for viewers or for
// encoding, and keeps nothing of f.
func (s *Sink) Write(_ context.Context, f *pipeline.Frame) error {
	if f.Image.Ptr() == nil || f.Image.Empty() || f.Image.Type() != gocv.MatTypeCV8UC3 {
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if _, ended := s.ended[f.SourceID]; ended {
		s.mu.Unlock()
		return nil
	}
	fd := s.feeds[f.SourceID]
	if fd == nil {
		fd = newFeed(f.SourceID, meta.RedactURI(f.SourceName))
		s.feeds[f.SourceID] = fd
	}
	if !fd.seen {
		fd.seen = true
		fd.name = meta.RedactURI(f.SourceName)
	}
	tiled := s.feeds[tiledID]
	watched := len(fd.viewers) > 0 || (tiled != nil && len(tiled.viewers) > 0)
	if !watched || now.Sub(fd.lastAccept) < s.interval {
		s.mu.Unlock()
		return nil
	}
	fd.lastAccept = now
	if fd.hasPending {
		s.encoderDrops.Add(1)
	}
	f.Image.CopyTo(&fd.pending)
	fd.hasPending = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// EndSource drops the feed of a source that ended: its viewers' streams
// end (cleanly, with the closing boundary), its Mats are freed, it leaves
// the tiled view, and later requests for its stream get 410 Gone. It never
// waits for the encoder or for viewers.
func (s *Sink) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	sourceID := end.SourceID
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if _, ok := s.ended[sourceID]; ok {
		s.mu.Unlock()
		return nil
	}
	s.ended[sourceID] = struct{}{}
	pipeline.ForgetEnded(s.ended)
	if fd := s.feeds[sourceID]; fd != nil {
		delete(s.feeds, sourceID)
		close(fd.gone)
		s.retired = append(s.retired, fd)
		s.relayout = s.relayout || fd.seen
	}
	onEnd := s.onEnd
	s.mu.Unlock()
	if onEnd != nil {
		onEnd(sourceID)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close ends every stream, stops the encoder and frees the Mats. It is
// idempotent; Write after Close does nothing.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		s.mu.Unlock()
		s.wg.Wait()
		s.mu.Lock()
		for id, fd := range s.feeds {
			fd.close()
			delete(s.feeds, id)
		}
		for _, fd := range s.retired {
			fd.close()
		}
		s.retired = nil
		s.mu.Unlock()
	})
	return nil
}

func (s *Sink) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// StreamStats counts the live streams' work.
type StreamStats struct {
	// Viewers are the open stream connections.
	Viewers int64 `json:"viewers"`
	// Encoded counts JPEGs made, EncoderDrops frames replaced before the
	// encoder got to them, ViewerDrops parts a slow viewer missed.
	Encoded      int64 `json:"encoded"`
	EncoderDrops int64 `json:"encoder_drops"`
	ViewerDrops  int64 `json:"viewer_drops"`
}

// Stats returns the counts so far.
func (s *Sink) Stats() StreamStats {
	return StreamStats{Viewers: s.viewers.Load(), Encoded: s.encoded.Load(), EncoderDrops: s.encoderDrops.Load(), ViewerDrops: s.viewerDrops.Load()}
}

var (
	errClosed         = errors.New("web: the line has stopped: no more frames")
	errSourceEnded    = errors.New("web: the source has ended")
	errTooManyViewers = errors.New("web: too many viewers")
)

// subscribe adds a viewer of feed id and returns the feed's last JPEG;
// errTooManyViewers when max (> 0) streams are open already.
func (s *Sink) subscribe(id, max int) (*viewer, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errClosed
	}
	if _, ended := s.ended[id]; ended {
		return nil, nil, fmt.Errorf("%w: source %d", errSourceEnded, id)
	}
	if n := s.viewers.Load(); max > 0 && n >= int64(max) {
		return nil, nil, fmt.Errorf("%w: %d streams are open, the most --http-max-viewers allows", errTooManyViewers, n)
	}
	fd := s.feeds[id]
	if fd == nil {
		fd = newFeed(id, "")
		s.feeds[id] = fd
	}
	v := &viewer{ch: make(chan []byte, 1), fd: fd}
	fd.viewers[v] = struct{}{}
	s.viewers.Add(1)
	return v, fd.latest, nil
}

// unsubscribe removes a viewer; a feed no frame ever came for goes with its
// last viewer.
func (s *Sink) unsubscribe(v *viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewers.Add(-1)
	fd := v.fd
	delete(fd.viewers, v)
	if s.feeds[fd.id] != fd {
		return // retired (its source ended) or closed: freed elsewhere
	}
	if len(fd.viewers) == 0 && !fd.seen && fd.id != tiledID {
		fd.close()
		delete(s.feeds, fd.id)
	}
}

// publish hands a JPEG to every viewer of fd: a viewer whose mailbox is
// still full loses the older part.
func (s *Sink) publish(fd *feed, jpeg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fd.latest = jpeg
	for v := range fd.viewers {
		select {
		case v.ch <- jpeg:
			continue
		default:
		}
		select {
		case <-v.ch:
			s.viewerDrops.Add(1)
		default:
		}
		select {
		case v.ch <- jpeg:
		default:
		}
	}
}

// encoder turns pending frames into JPEGs, and the sources' tiles into the
// tiled view, until Close.
func (s *Sink) encoder() {
	defer s.wg.Done()
	var (
		jobs      []*feed
		lastTiled time.Time
		canvas    = gocv.NewMat()
	)
	defer canvas.Close()
	for {
		select {
		case <-s.wake:
		case <-s.done:
			return
		}
		s.mu.Lock()
		// The feeds of ended sources are out of the map, so nothing else
		// reaches their Mats, and this goroutine finished with them in the
		// last round.
		for _, fd := range s.retired {
			fd.close()
		}
		s.retired = s.retired[:0]
		jobs = jobs[:0]
		for _, fd := range s.feeds {
			if fd.hasPending {
				fd.pending, fd.work = fd.work, fd.pending
				fd.hasPending = false
				jobs = append(jobs, fd)
			}
		}
		tiled := s.feeds[tiledID]
		wantTiled := tiled != nil && len(tiled.viewers) > 0
		relayout := s.relayout && wantTiled
		s.mu.Unlock()

		for _, fd := range jobs {
			img := fd.work
			if s.width > 0 && img.Cols() > s.width {
				h := int(math.Round(float64(img.Rows()) * float64(s.width) / float64(img.Cols())))
				gocv.Resize(img, &fd.scaled, image.Pt(s.width, max(h, 1)), 0, 0, gocv.InterpolationArea)
				img = fd.scaled
			}
			if wantTiled {
				img.CopyTo(&fd.tile)
				fd.tileFresh = true
			}
			s.mu.Lock()
			watched := len(fd.viewers) > 0
			s.mu.Unlock()
			if !watched {
				continue
			}
			if jpeg, err := s.encode(img); err == nil {
				s.publish(fd, jpeg)
			}
		}
		// A source that left is shown gone at once, whatever the rate.
		if wantTiled && (relayout || time.Since(lastTiled) >= s.interval) {
			if s.compose(&canvas) {
				lastTiled = time.Now()
				if jpeg, err := s.encode(canvas); err == nil {
					s.publish(tiled, jpeg)
				}
			}
		}
	}
}

// encode makes a JPEG the viewers can share (it is never changed).
func (s *Sink) encode(img gocv.Mat) ([]byte, error) {
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, s.quality})
	if err != nil {
		return nil, fmt.Errorf("web: encode jpeg: %w", err)
	}
	defer buf.Close()
	s.encoded.Add(1)
	return append([]byte(nil), buf.GetBytes()...), nil
}

// Tiles are 16:9 cells of tileW pixels, each source letterboxed in its
// own; the grid is as square as the number of sources allows.
const tileW, tileH = 640, 360

// compose draws every source's latest tile into canvas; false when no
// tile changed since the last call. Encoder goroutine only.
func (s *Sink) compose(canvas *gocv.Mat) bool {
	s.mu.Lock()
	var feeds []*feed
	fresh := s.relayout
	s.relayout = false
	for _, fd := range s.feeds {
		if fd.id != tiledID && fd.seen {
			feeds = append(feeds, fd)
			fresh = fresh || fd.tileFresh
		}
	}
	s.mu.Unlock()
	if !fresh {
		return false
	}
	if len(feeds) == 0 { // every source has ended
		if canvas.Cols() != tileW || canvas.Rows() != tileH {
			_ = canvas.Close()
			*canvas = gocv.NewMatWithSize(tileH, tileW, gocv.MatTypeCV8UC3)
		}
		canvas.SetTo(gocv.NewScalar(24, 24, 24, 0))
		gocv.PutText(canvas, "no source", image.Pt(tileW/2-50, tileH/2), gocv.FontHersheySimplex, 0.6, color.RGBA{140, 140, 140, 0}, 1)
		return true
	}
	sort.Slice(feeds, func(a, b int) bool { return feeds[a].id < feeds[b].id })
	cols := int(math.Ceil(math.Sqrt(float64(len(feeds)))))
	rows := (len(feeds) + cols - 1) / cols
	cw, ch := tileW, tileH
	if cols > 2 {
		cw, ch = tileW*2/cols, tileH*2/cols
	}
	if canvas.Cols() != cols*cw || canvas.Rows() != rows*ch {
		_ = canvas.Close()
		*canvas = gocv.NewMatWithSize(rows*ch, cols*cw, gocv.MatTypeCV8UC3)
	}
	canvas.SetTo(gocv.NewScalar(24, 24, 24, 0))
	for i, fd := range feeds {
		fd.tileFresh = false
		x0, y0 := (i%cols)*cw, (i/cols)*ch
		sw, sh := fd.tile.Cols(), fd.tile.Rows()
		if sw == 0 || sh == 0 { // no frame of this source since the tiled view opened
			gocv.PutText(canvas, "waiting for frames", image.Pt(x0+cw/2-80, y0+ch/2), gocv.FontHersheySimplex, 0.6, color.RGBA{140, 140, 140, 0}, 1)
		} else {
			drawTile(canvas, fd.tile, x0, y0, cw, ch)
		}
		label := fmt.Sprintf("%d %s", fd.id, fd.name)
		if len(label) > 48 {
			label = label[:45] + "..."
		}
		gocv.Rectangle(canvas, image.Rect(x0, y0, x0+cw, y0+22), color.RGBA{0, 0, 0, 0}, -1)
		gocv.PutText(canvas, label, image.Pt(x0+6, y0+16), gocv.FontHersheySimplex, 0.5, color.RGBA{255, 255, 255, 0}, 1)
	}
	return true
}

// drawTile letterboxes tile into the cell at (x0, y0) of size cw x ch.
func drawTile(canvas *gocv.Mat, tile gocv.Mat, x0, y0, cw, ch int) {
	sw, sh := tile.Cols(), tile.Rows()
	scale := math.Min(float64(cw)/float64(sw), float64(ch)/float64(sh))
	w, h := max(int(float64(sw)*scale), 1), max(int(float64(sh)*scale), 1)
	r := image.Rect(x0+(cw-w)/2, y0+(ch-h)/2, x0+(cw-w)/2+w, y0+(ch-h)/2+h)
	cell := canvas.Region(r)
	gocv.Resize(tile, &cell, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	_ = cell.Close()
}
