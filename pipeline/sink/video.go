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
	// Codec is a FOURCC for OpenCV's writer (which it then uses); empty
	// picks the encoder from Encode for .mp4, .m4v, .mov and .mkv, and
	// OpenCV's writer with MJPG for .avi and VP80 for .webm.
	Codec string `yaml:"-"`
	// Encode chooses and tunes the encoder; its zero value is
	// DefaultEncoderOptions.
	Encode EncoderOptions `yaml:",inline" category:"Encoding"`
	// Logf, when set, gets the rare line worth telling the user: auto fell
	// back from a hardware encoder that failed its test, a file left by a
	// run that did not finish was recovered.
	Logf func(format string, args ...any) `yaml:"-"`
}

// Video writes each source's frames to a video file. The file is written
// under a temporary name in the same folder (".NAME.partial.EXT") and
// renamed into place when its source ends (EndSource) or by Close, so the
// final name never holds a half-written file.
//
// With an encoder process (libx264 and the hardware encoders, see Encoder)
// the temporary file is a fragmented MP4 (or Matroska for .mkv): every
// fragment (a keyframe interval) is playable once written, and the encoder
// finishes the file when its input ends, so a kill of conveyor loses at
// most the frames still in the line. When finalized, an .mp4 is rewritten
// into a standard MP4 with its index in front (EncoderOptions.Fragmented
// keeps it fragmented). A write error (a full disk) ends the encoder, and
// the next Write returns it. A temporary file left by a run that did not
// finish is recovered as NAME.recovered-TIME.EXT when the same output
// opens again.
//
// Every file is claimed first: an output that is also another output or
// an input of this process (ClaimInput), or that another process is
// writing, is refused (see claim.go).
//
// Write, EndSource and Close are called from the line's sink goroutine;
// Files and Encoder are safe from any goroutine.
type Video struct {
	opts    VideoOptions
	enc     Encoder // resolved: never EncoderAuto
	claim   *outputClaim
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

// frameWriter is an open encoder: a child process or OpenCV's writer.
type frameWriter interface {
	Write(img gocv.Mat) error
	Close() error
	Abort()
}

type videoFile struct {
	path, tmp string
	w         frameWriter
	size      image.Point
	frames    int
	c         container
	claim     *outputClaim // nil when it is the sink's own (Path)
	opencv    bool
}

// NewVideo checks that the output can be written, chooses the encoder,
// claims the output and returns the sink. The files themselves are opened
// at the first frame of each source, when the frame size is known: nothing
// is written before.
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
	opts.Encode = opts.Encode.withDefaults()
	if err := opts.Encode.Validate(); err != nil {
		return nil, fmt.Errorf("video out %s: %w", opts.Path, err)
	}
	if err := checkWritable(opts.Path); err != nil {
		return nil, fmt.Errorf("video out %s: %w", opts.Path, err)
	}
	enc := EncoderOpenCV
	if opts.Codec == "" && containerFor(ext) >= 0 {
		got, note, err := ChooseEncoder(opts.Encode.Encoder)
		if err != nil {
			return nil, fmt.Errorf("video out %s: %w", opts.Path, err)
		}
		enc = got
		if note != "" && opts.Logf != nil && noteOnce(note) {
			opts.Logf("video out: encoder %s: %s", opts.Encode.describe(enc), note)
		}
	} else if e := opts.Encode.Encoder; e != EncoderAuto && e != EncoderOpenCV {
		why := fmt.Sprintf("%s files", ext)
		if opts.Codec != "" {
			why = "an explicit FOURCC"
		}
		return nil, fmt.Errorf("video out %s: encoder %s writes .mp4, .m4v, .mov or .mkv; OpenCV's writer does %s (encoder opencv)", opts.Path, e, why)
	}
	v := &Video{opts: opts, enc: enc, writers: map[int]*videoFile{}, finished: map[int]finishedFile{}}
	if !strings.Contains(opts.Path, "{source_id}") {
		c, err := claimOutput(opts.Path, "video output")
		if err != nil {
			return nil, fmt.Errorf("video out %s: %w", opts.Path, err)
		}
		v.claim = c
	}
	v.scratch = gocv.NewMat()
	return v, nil
}

// Encoder describes the encoder the sink uses and its settings:
// "libx264 ultrafast crf 23", or "opencv".
func (v *Video) Encoder() string { return v.opts.Encode.describe(v.enc) }

// containerFor is how an encoder process muxes ext, -1 for extensions it
// does not write (OpenCV's: .avi, .webm).
func containerFor(ext string) container {
	switch ext {
	case ".mp4", ".m4v":
		return mp4Fragmented
	case ".mov":
		return movFragmented
	case ".mkv":
		return matroska
	}
	return -1
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
		// This output stops here: what was written stays in the temporary
		// file, named in the error.
		vf.w.Abort()
		delete(v.writers, f.SourceID)
		vf.claim.release()
		return fmt.Errorf("video out %s: %w (the frames written so far are in %s)", vf.path, err, vf.tmp)
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
	vf := &videoFile{path: path, tmp: partialPath(path)}
	claim := v.claim
	if canonical(path) != canonicalOrEmpty(v.claim) {
		c, err := claimOutput(path, fmt.Sprintf("video output of source %d", f.SourceID))
		if err != nil {
			return nil, fmt.Errorf("video out %s: %w", path, err)
		}
		vf.claim, claim = c, c
	}
	if rec, err := recoverPartial(vf.tmp, path); err != nil {
		vf.claim.release()
		return nil, fmt.Errorf("video out %s: a file left by an earlier run: %w", path, err)
	} else if rec != "" && v.opts.Logf != nil {
		v.opts.Logf("video out %s: recovered %s, left by a run that did not finish", path, rec)
	}
	fps := v.fpsFor(f.SourceID)
	ext := filepath.Ext(path)
	size := image.Pt(f.Image.Cols(), f.Image.Rows())
	vf.size = size
	if v.enc != EncoderOpenCV {
		vf.c = containerFor(strings.ToLower(ext))
		even := evenSize(size.X, size.Y)
		var argv []string
		if v.enc == EncoderJetson {
			argv = gstArgs(v.opts.Encode, even, fps, vf.c, vf.tmp)
		} else {
			argv = ffmpegArgs(v.enc, v.opts.Encode, even, fps, vf.c, vf.tmp)
		}
		w, err := startProc(argv, even, claim.file())
		if err != nil {
			vf.claim.release()
			return nil, fmt.Errorf("video out %s: encoder %s: %w", path, v.enc, err)
		}
		vf.w = w
		v.writers[f.SourceID] = vf
		return vf, nil
	}
	vf.opencv = true
	codecs := codecFor(strings.ToLower(ext))
	if v.opts.Codec != "" {
		codecs = []string{v.opts.Codec}
	}
	for _, codec := range codecs {
		w, err := gocv.VideoWriterFile(vf.tmp, codec, fps, size.X, size.Y, true)
		if err == nil && w.IsOpened() {
			vf.w = cvWriter{w}
			v.writers[f.SourceID] = vf
			return vf, nil
		}
		if w != nil {
			w.Close()
		}
		os.Remove(vf.tmp)
	}
	vf.claim.release()
	return nil, fmt.Errorf("video out %s: no encoder for %s (tried %s)", path, ext, strings.Join(codecs, ", "))
}

// partialPath is the temporary name a file is written under.
func partialPath(path string) string {
	ext := filepath.Ext(path)
	return filepath.Join(filepath.Dir(path), "."+strings.TrimSuffix(filepath.Base(path), ext)+".partial"+ext)
}

func canonicalOrEmpty(c *outputClaim) string {
	if c == nil {
		return ""
	}
	return c.key
}

// cvWriter is OpenCV's writer as a frameWriter. gocv's Write reports no
// error, so a full disk shows only when the file is checked at the end.
type cvWriter struct{ w *gocv.VideoWriter }

func (c cvWriter) Write(img gocv.Mat) error { return c.w.Write(img) }
func (c cvWriter) Close() error             { return c.w.Close() }
func (c cvWriter) Abort()                   { _ = c.w.Close() }

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

// finish closes vf's writer, moves its file into place and records it. A
// file that could not be finished is not recorded: its frames so far stay
// in the temporary file, which the error names.
func (v *Video) finish(sourceID int, vf *videoFile) error {
	defer vf.claim.release()
	fail := func(err error) error {
		if st, serr := os.Stat(vf.tmp); serr == nil && st.Size() > 0 {
			return fmt.Errorf("video out %s: %w (the frames written so far are in %s)", vf.path, err, vf.tmp)
		}
		return fmt.Errorf("video out %s: %w", vf.path, err)
	}
	if err := vf.w.Close(); err != nil {
		return fail(err)
	}
	if err := checkFrames(vf.tmp, vf.c, vf.opencv, vf.frames); err != nil {
		return fail(err)
	}
	switch {
	case vf.opencv:
		if err := checkIndexed(vf.tmp); err != nil {
			return fail(err)
		}
		if err := os.Rename(vf.tmp, vf.path); err != nil {
			return fail(err)
		}
	case (vf.c == mp4Fragmented || vf.c == movFragmented) && !v.opts.Encode.Fragmented:
		// A standard MP4: the index in front, every player seeks in it.
		format := "mp4"
		if vf.c == movFragmented {
			format = "mov"
		}
		tmp := remuxPath(vf.path)
		err := remux(vf.tmp, tmp, format)
		if err == nil {
			err = checkFrames(tmp, vf.c, false, vf.frames)
		}
		if err != nil {
			os.Remove(tmp)
			return fail(fmt.Errorf("rewriting it as a standard MP4: %w", err))
		}
		if err := os.Rename(tmp, vf.path); err != nil {
			os.Remove(tmp)
			return fail(err)
		}
		os.Remove(vf.tmp)
	default:
		if err := os.Rename(vf.tmp, vf.path); err != nil {
			return fail(err)
		}
	}
	v.mu.Lock()
	v.finished[sourceID] = finishedFile{path: vf.path, frames: vf.frames}
	if !v.closed {
		pipeline.ForgetEnded(v.finished) // sources that come and go for months
	}
	v.mu.Unlock()
	return nil
}

// checkFrames makes sure that a file the encoder says it finished holds
// every frame written to it: ffmpeg logs some write errors (the disk filled
// as the file was closed) without failing. MP4 files are counted from
// their boxes; Matroska is counted by ffprobe. OpenCV's files only need
// their index.
func checkFrames(path string, c container, opencv bool, want int) error {
	if opencv {
		return checkIndexed(path)
	}
	var n int
	var err error
	if c == matroska {
		n, err = probeFrames(path)
	} else {
		n, err = countSamples(path)
	}
	if err != nil {
		return fmt.Errorf("the file is damaged (%v): the encoder could not write it all (disk full?)", err)
	}
	if n != want {
		return fmt.Errorf("the file holds %d of the %d frames written: the encoder could not write the rest (disk full?)", n, want)
	}
	return nil
}

// remuxPath is where the standard MP4 is written before it is renamed.
func remuxPath(path string) string {
	ext := filepath.Ext(path)
	return filepath.Join(filepath.Dir(path), "."+strings.TrimSuffix(filepath.Base(path), ext)+".final"+ext)
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
	v.claim.release()
	return errors.Join(errs...)
}
