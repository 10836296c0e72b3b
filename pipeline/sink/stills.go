package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// stillExts are the picture formats Stills writes (OpenCV's image writer
// picks the format from the extension).
var stillExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".webp": true, ".tif": true, ".tiff": true, ".ppm": true, ".pgm": true}

// IsStillsPath says whether an --out path asks for pictures rather than a
// video: a folder (an existing one, or a path ending in a slash), a pattern
// with %s, or a file with a picture's extension (out.jpg: one picture).
func IsStillsPath(path string) bool {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) || strings.Contains(path, "%s") {
		return true
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return true
	}
	return stillExts[strings.ToLower(filepath.Ext(path))]
}

// Stills writes each frame as a picture: the redacted stills of an image
// folder, under their own names, at their own size (never resized) and in
// their own format. The output is one of:
//
//	out/             a folder: out/<name of the input picture>, same
//	                 extension (so the same format)
//	out/%s.jpg       a pattern: %s is the input picture's name without its
//	                 extension; the pattern's extension sets the format
//	out.jpg          one file (the run must give one picture)
//
// A frame that does not come from a picture (a video, a camera) is named
// after its source and its number: clip-000042 (clip-1-000042 for source 1),
// with .jpg in a folder. Each picture is encoded in memory, written under
// a temporary name in its folder and renamed into place: a name never holds
// half a picture. Writing over one of the line's input pictures, or two
// inputs that would get the same output name, is an error (the run
// stops): nothing is overwritten that was not written by this run.
//
// Write and Close are called from the line's sink goroutine; Written is
// safe from any goroutine.
type Stills struct {
	path    string
	folder  string // the folder (folder mode)
	pattern string // the pattern (pattern mode)
	single  string // the one file (single mode)
	gray    gocv.Mat
	written map[string]string // output path -> the input it came from

	mu    sync.Mutex
	count int
}

var _ pipeline.Sink = (*Stills)(nil)

// NewStills checks that the output folder exists and is writable, and
// returns the sink. A folder given with a trailing slash is created if
// missing (its parent must exist).
func NewStills(path string) (*Stills, error) {
	s := &Stills{path: path, written: map[string]string{}, gray: gocv.NewMat()}
	var dir string
	switch {
	case strings.Contains(path, "%s"):
		if strings.Count(path, "%") != 1 {
			return nil, s.fail(fmt.Errorf("pictures out %s: a pattern takes one %%s and no other %%", path))
		}
		if ext := strings.ToLower(filepath.Ext(path)); !stillExts[ext] {
			return nil, s.fail(fmt.Errorf("pictures out %s: unknown picture extension %q (use .jpg, .png, .bmp, .webp, .tif, .ppm or .pgm)", path, ext))
		}
		if strings.Contains(filepath.Dir(path), "%s") {
			return nil, s.fail(fmt.Errorf("pictures out %s: %%s goes in the file name, not the folder", path))
		}
		s.pattern, dir = path, filepath.Dir(path)
	case isFolder(path):
		s.folder, dir = filepath.Clean(path), filepath.Clean(path)
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return nil, s.fail(fmt.Errorf("pictures out %s: %w", path, errors.Unwrap(err)))
			}
		}
	default:
		s.single, dir = path, filepath.Dir(path)
	}
	if err := checkWritable(filepath.Join(dir, "x")); err != nil {
		return nil, s.fail(fmt.Errorf("pictures out %s: %w", path, err))
	}
	return s, nil
}

func (s *Stills) fail(err error) error {
	_ = s.gray.Close()
	return err
}

func isFolder(path string) bool {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// Write encodes f.Image and writes it under its output name.
func (s *Stills) Write(_ context.Context, f *pipeline.Frame) error {
	in, _ := f.User["path"].(string)
	out, err := s.name(f, in)
	if err != nil {
		return err
	}
	if prev, ok := s.written[out]; ok {
		if s.single != "" {
			return fmt.Errorf("pictures out %s: one file takes one picture, and a second came (%s): write to a folder (out/) or a pattern (out/%%s.jpg)", s.path, describe(f, in))
		}
		return fmt.Errorf("pictures out %s: %s and %s would both be written to %s", s.path, prev, describe(f, in), out)
	}
	if in != "" && samePath(in, out) {
		return fmt.Errorf("pictures out %s: %s would be written over its own input", s.path, out)
	}
	img := f.Image
	ext := strings.ToLower(filepath.Ext(out))
	if ext == ".pgm" && img.Channels() == 3 {
		gocv.CvtColor(img, &s.gray, gocv.ColorBGRToGray)
		img = s.gray
	}
	buf, err := gocv.IMEncode(gocv.FileExt(ext), img)
	if err != nil {
		return fmt.Errorf("pictures out %s: encode %s: %w", s.path, out, err)
	}
	defer buf.Close()
	if err := writeAtomic(out, buf.GetBytes()); err != nil {
		return fmt.Errorf("pictures out %s: %w", s.path, err)
	}
	s.written[out] = describe(f, in)
	s.mu.Lock()
	s.count++
	s.mu.Unlock()
	return nil
}

// describe names a frame's input for errors.
func describe(f *pipeline.Frame, in string) string {
	if in != "" {
		return in
	}
	return fmt.Sprintf("%s frame %d", f.SourceName, f.Number)
}

// name is the output path of a frame whose input picture is in ("" when
// it is not a picture).
func (s *Stills) name(f *pipeline.Frame, in string) (string, error) {
	if s.single != "" {
		return s.single, nil
	}
	var base, ext string
	if in != "" {
		base = filepath.Base(in)
		ext = filepath.Ext(base)
		base = strings.TrimSuffix(base, ext)
	} else {
		src := filepath.Base(strings.TrimRight(f.SourceName, "/"))
		src = strings.TrimSuffix(src, filepath.Ext(src))
		if src == "" || src == "." || strings.ContainsAny(src, `:?*`) {
			src = "source"
		}
		if f.SourceID > 0 {
			src = fmt.Sprintf("%s-%d", src, f.SourceID)
		}
		base, ext = fmt.Sprintf("%s-%06d", src, f.Number), ".jpg"
	}
	if s.pattern != "" {
		return strings.Replace(s.pattern, "%s", base, 1), nil
	}
	if !stillExts[strings.ToLower(ext)] {
		ext = ".png" // a picture format OpenCV reads but does not write keeps its pixels losslessly
	}
	return filepath.Join(s.folder, base+ext), nil
}

// samePath says whether a and b name the same file.
func samePath(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(sa, sb)
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// writeAtomic writes data to a temporary file next to path and renames it
// into place.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".conveyor-still-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Written is how many pictures were written so far.
func (s *Stills) Written() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Path is the output as given (folder, pattern or file).
func (s *Stills) Path() string { return s.path }

// Close releases the scratch Mat; every picture is complete when Write
// returns. It is idempotent.
func (s *Stills) Close() error {
	if s.gray.Ptr() != nil {
		_ = s.gray.Close()
		s.gray = gocv.Mat{}
	}
	return nil
}
