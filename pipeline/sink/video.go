package sink

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// VideoOptions configure a Video sink.
type VideoOptions struct {
	// Path is the output file. With several sources, source N > 0 writes to
	// the same name with "-N" before the extension, unless Path contains
	// {source_id}, which is replaced by the id for every source.
	Path string
	// FPS gives each source's frame rate, indexed by source id; missing or 0
	// means 25.
	FPS []float64
	// Codec is a FOURCC; empty picks one from the extension (avc1 for .mp4,
	// falling back to mp4v; MJPG for .avi; VP80 for .webm; avc1 for .mkv).
	Codec string
}

// Video writes each source's frames to a video file. The file is written
// under a temporary name in the same folder and renamed into place by Close,
// so the final name never holds a half-written file, and Close always
// finalizes it (the container's index is written) so it is playable.
type Video struct {
	opts    VideoOptions
	writers map[int]*videoFile
	scratch gocv.Mat
	closed  bool
}

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
	return &Video{opts: opts, writers: map[int]*videoFile{}, scratch: gocv.NewMat()}, nil
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
// first frame; files already open keep theirs.
func (v *Video) SetFPS(fps []float64) { v.opts.FPS = fps }

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
	path := v.PathFor(f.SourceID)
	ext := filepath.Ext(path)
	tmp := filepath.Join(filepath.Dir(path), "."+strings.TrimSuffix(filepath.Base(path), ext)+".partial"+ext)
	fps := 25.0
	if f.SourceID < len(v.opts.FPS) && v.opts.FPS[f.SourceID] > 0 {
		fps = v.opts.FPS[f.SourceID]
	}
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

// Files lists the finished files and their frame counts, after Close.
func (v *Video) Files() map[string]int {
	out := map[string]int{}
	for _, vf := range v.writers {
		out[vf.path] = vf.frames
	}
	return out
}

// Close finalizes every file and moves it to its final name.
func (v *Video) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	var errs []error
	for _, vf := range v.writers {
		if err := vf.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("video out %s: %w", vf.path, err))
			continue
		}
		if err := os.Rename(vf.tmp, vf.path); err != nil {
			errs = append(errs, fmt.Errorf("video out %s: %w", vf.path, err))
		}
	}
	v.scratch.Close()
	return errors.Join(errs...)
}
