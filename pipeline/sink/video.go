package sink

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// VideoOptions configure a Video sink.
type VideoOptions struct {
	// Path is the output file. With several sources, source N > 0 writes to
	// the same name with "-N" before the extension, unless Path contains
	// {source_id}, which is replaced by the id for every source.
	Path string `yaml:"out" short:"o" usage:"output video file (.mp4, .mkv, .avi, .webm); one per source"`
	// FPS gives each source's frame rate, indexed by source id; missing or 0
	// means 25.
	FPS []float64 `yaml:"-"`
	// SourceFPS, when set, gives a source's frame rate when its file opens
	// (its first frame), before FPS: for sources attached while the line
	// runs, pass a lookup in Line.Sources (SourceStatus.FPS). 0 falls back
	// to FPS. It is called on the sink's goroutine.
	SourceFPS func(sourceID int) float64 `yaml:"-"`
	// Codec is a FOURCC; empty picks one from the extension (avc1 for .mp4,
	// falling back to mp4v; MJPG for .avi; VP80 for .webm; avc1 for .mkv).
	Codec string `yaml:"-"`
}

// Video writes each source's frames to a video file. The file is written
// under a temporary name in the same folder and renamed into place when its
// source ends (EndSource) or by Close, so the final name never holds a
// half-written file, and the file is always finalized (the container's index
// is written) so it is playable.
//
// Write, EndSource and Close are called from the line's sink goroutine;
// Files is safe from any goroutine.
type Video struct {
	opts    VideoOptions
	writers map[int]*videoFile // open files, by source id
	scratch gocv.Mat
	closed  bool

	mu       sync.Mutex
	finished map[int]finishedFile
}

// finishedFile is what is left of a file once its source has ended.
type finishedFile struct {
	path   string
	frames int
}

var (
	_ pipeline.Sink        = (*Video)(nil)
	_ pipeline.SourceEnder = (*Video)(nil)
)

type videoFile struct {
	path, tmp string
	w         *gocv.VideoWriter
	size      image.Point
	frames    int
}

// NewVideo checks that the output can be written and returns the sink. The
// files themselves are opened at the first frame of each source, when the
// frame size is known.
func NewVideo(opts VideoOptions) (*Video, error) {
	if opts.Path == "" {
		return nil, errors.New("video out: empty path")
	}
	ext := strings.ToLower(filepath.Ext(opts.Path))
	if opts.Codec == "" && codecFor(ext) == nil {
		return nil, fmt.Errorf("video out %s: unknown extension %q (use .mp4, .mkv, .avi or .webm)", opts.Path, ext)
	}
	if opts.Codec != "" && len(opts.Codec) != 4 {
		return nil, fmt.Errorf("video out %s: codec %q: want a FOURCC such as avc1 or MJPG", opts.Path, opts.Codec)
	}
	if err := checkWritable(opts.Path); err != nil {
		return nil, fmt.Errorf("video out %s: %w", opts.Path, err)
	}
	return &Video{opts: opts, writers: map[int]*videoFile{}, scratch: gocv.NewMat(), finished: map[int]finishedFile{}}, nil
}

func codecFor(ext string) []string {
	switch ext {
	case ".mp4", ".m4v", ".mov":
		return []string{"avc1", "mp4v"}
	case ".mkv":
		return []string{"avc1", "MJPG"}
	case ".avi":
		return []string{"MJPG"}
	case ".webm":
		return []string{"VP80"}
	}
	return nil
}

// checkWritable proves the folder exists and accepts a new file.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("folder %s does not exist", dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a folder")
	}
	f, err := os.CreateTemp(dir, ".conveyor-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// SetFPS sets each source's frame rate (indexed by source id) before the
// first frame; files already open keep theirs. Call it before the line
// runs; for sources attached while it runs, see VideoOptions.SourceFPS.
func (v *Video) SetFPS(fps []float64) { v.opts.FPS = fps }

// fpsFor is a source's frame rate: SourceFPS, then FPS, then 25.
func (v *Video) fpsFor(sourceID int) float64 {
	if v.opts.SourceFPS != nil {
		if fps := v.opts.SourceFPS(sourceID); fps > 0 {
			return fps
		}
	}
	if sourceID >= 0 && sourceID < len(v.opts.FPS) && v.opts.FPS[sourceID] > 0 {
		return v.opts.FPS[sourceID]
	}
	return 25
}

// PathFor is the file a source's frames go to.
func (v *Video) PathFor(sourceID int) string {
	p := v.opts.Path
	if strings.Contains(p, "{source_id}") {
		return strings.ReplaceAll(p, "{source_id}", fmt.Sprint(sourceID))
	}
	if sourceID == 0 {
		return p
	}
	ext := filepath.Ext(p)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(p, ext), sourceID, ext)
}

// Write appends the frame to its source's file, opening it first if needed.
// A frame whose size differs from the file's (a camera that reconnected at
// another resolution) is scaled to fit.
func (v *Video) Write(_ context.Context, f *pipeline.Frame) error {
	vf, err := v.writer(f)
	if err != nil {
		return err
	}
	img := f.Image
	if img.Cols() != vf.size.X || img.Rows() != vf.size.Y {
		gocv.Resize(img, &v.scratch, vf.size, 0, 0, gocv.InterpolationLinear)
		img = v.scratch
	}
	if err := vf.w.Write(img); err != nil {
		return fmt.Errorf("video out %s: %w", vf.path, err)
	}
	vf.frames++
	return nil
}

func (v *Video) writer(f *pipeline.Frame) (*videoFile, error) {
	if vf := v.writers[f.SourceID]; vf != nil {
		return vf, nil
	}
	if v.closed {
		return nil, errors.New("video out: write after close")
	}
	path := v.PathFor(f.SourceID)
	v.mu.Lock()
	_, ended := v.finished[f.SourceID]
	v.mu.Unlock()
	if ended {
		// Reopening would overwrite the finished file.
		return nil, fmt.Errorf("video out %s: a frame of source %d after the source ended", path, f.SourceID)
	}
	ext := filepath.Ext(path)
	tmp := filepath.Join(filepath.Dir(path), "."+strings.TrimSuffix(filepath.Base(path), ext)+".partial"+ext)
	fps := v.fpsFor(f.SourceID)
	codecs := codecFor(strings.ToLower(ext))
	if v.opts.Codec != "" {
		codecs = []string{v.opts.Codec}
	}
	size := image.Pt(f.Image.Cols(), f.Image.Rows())
	for _, codec := range codecs {
		w, err := gocv.VideoWriterFile(tmp, codec, fps, size.X, size.Y, true)
		if err == nil && w.IsOpened() {
			vf := &videoFile{path: path, tmp: tmp, w: w, size: size}
			v.writers[f.SourceID] = vf
			return vf, nil
		}
		if w != nil {
			w.Close()
		}
		os.Remove(tmp)
	}
	return nil, fmt.Errorf("video out %s: no encoder for %s (tried %s)", path, ext, strings.Join(codecs, ", "))
}

// Files lists the finished files and their frame counts: those of the
// sources that ended (the last pipeline.KeptEndedSources of them), and
// after Close those finalized by Close too.
func (v *Video) Files() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]int{}
	for _, ff := range v.finished {
		out[ff.path] = ff.frames
	}
	return out
}

// EndSource finalizes the file of a source that ended (its trailer is
// written and it is moved to its final name) and forgets its writer; the
// other sources' files stay open until their own end or Close. A source
// that never sent a frame has no file: nothing to do.
func (v *Video) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	sourceID := end.SourceID
	vf := v.writers[sourceID]
	if vf == nil {
		return nil
	}
	delete(v.writers, sourceID)
	return v.finish(sourceID, vf)
}

// finish closes vf's writer, renames its file into place and records it.
func (v *Video) finish(sourceID int, vf *videoFile) error {
	v.mu.Lock()
	v.finished[sourceID] = finishedFile{path: vf.path, frames: vf.frames}
	if !v.closed {
		pipeline.ForgetEnded(v.finished) // sources that come and go for months
	}
	v.mu.Unlock()
	if err := vf.w.Close(); err != nil {
		return fmt.Errorf("video out %s: %w", vf.path, err)
	}
	if err := os.Rename(vf.tmp, vf.path); err != nil {
		return fmt.Errorf("video out %s: %w", vf.path, err)
	}
	return nil
}

// Close finalizes every file still open and moves it to its final name.
func (v *Video) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	var errs []error
	for id, vf := range v.writers {
		delete(v.writers, id)
		if err := v.finish(id, vf); err != nil {
			errs = append(errs, err)
		}
	}
	v.scratch.Close()
	return errors.Join(errs...)
}
