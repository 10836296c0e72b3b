package camera

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".webp": true, ".tif": true, ".tiff": true, ".ppm": true, ".pgm": true}

// images reads an image folder or glob in name order, one frame per file.
type images struct {
	name     string
	files    []string
	opts     Options
	next     int
	number   int64
	skipped  []string
	info     pipeline.SourceInfo
	interval time.Duration
}

// isImage says whether path names a still image conveyor reads with
// OpenCV's image reader (by its extension).
func isImage(path string) bool { return imageExts[strings.ToLower(filepath.Ext(path))] }

// openImage opens one image file as a one-frame source (a folder of one),
// read with OpenCV's image reader like the images of a folder, so that it
// gives the same pixels, and the same boxes, either way (FFmpeg's decoder
// differs from it by up to 33 grey levels on a JPEG).
func openImage(name, path string, opts Options) (pipeline.Source, error) {
	m := gocv.IMRead(path, gocv.IMReadColor)
	if m.Empty() {
		m.Close()
		return nil, fmt.Errorf("source %s: not an image OpenCV can read", name)
	}
	m.Close()
	s := &images{name: name, files: []string{path}, opts: opts}
	s.info = pipeline.SourceInfo{Name: name, Frames: max(1, opts.Repeat)}
	if opts.Live != nil {
		s.info.Live = *opts.Live
	}
	return s, nil
}

func openImages(pattern string, opts Options) (pipeline.Source, error) {
	var files []string
	if st, err := os.Stat(pattern); err == nil && st.IsDir() {
		entries, err := os.ReadDir(pattern)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", pattern, err)
		}
		for _, e := range entries {
			if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
				files = append(files, filepath.Join(pattern, e.Name()))
			}
		}
	} else {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("source %s: bad pattern: %w", pattern, err)
		}
		for _, f := range matches {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("source %s: no images found (looked for %s)", pattern, "jpg, png, bmp, webp, tif, ppm")
	}
	sort.Strings(files)
	s := &images{name: pattern, files: files, opts: opts}
	s.info = pipeline.SourceInfo{Name: pattern, Frames: len(files) * max(1, opts.Repeat)}
	if opts.Live != nil {
		s.info.Live = *opts.Live
	}
	return s, nil
}

func (s *images) Info() pipeline.SourceInfo { return s.info }

func (s *images) Read(ctx context.Context) (*pipeline.Frame, error) {
	total := len(s.files) * max(1, s.opts.Repeat)
	for s.next < total {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := s.files[s.next%len(s.files)]
		s.next++
		m := gocv.IMRead(path, gocv.IMReadColor)
		if m.Empty() {
			m.Close()
			if s.next <= len(s.files) {
				s.skipped = append(s.skipped, path)
			}
			continue
		}
		f := &pipeline.Frame{Number: s.number, Captured: time.Now(), Image: m}
		f.User = map[string]any{"path": path}
		s.number++
		return f, nil
	}
	return nil, pipeline.ErrEndOfStream
}

// Warnings names the files that could not be read as images.
func (s *images) Warnings() []string {
	if len(s.skipped) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: skipped %d unreadable images: %s", s.name, len(s.skipped), strings.Join(s.skipped, ", "))}
}

func (s *images) Close() error { return nil }
