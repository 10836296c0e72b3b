package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// JSONL writes messages as JSON lines, one object per line, to a file or to
// standard output. It is a MessageWriter: put it behind a Messages sink,
// which decides which frames become messages.
type JSONL struct {
	name   string
	f      *os.File // nil for stdout
	w      *bufio.Writer
	flush  bool // flush every line (stdout, so pipes see lines at once)
	closed bool
}

// NewJSONL creates (truncates) the file path, or writes to stdout for "-"
// (os.Stdout when stdout is nil).
func NewJSONL(path string, stdout io.Writer) (*JSONL, error) {
	s := &JSONL{name: path}
	var out io.Writer
	switch path {
	case "":
		return nil, fmt.Errorf("events: empty path (use - for standard output)")
	case "-":
		out = stdout
		if out == nil {
			out = os.Stdout
		}
		s.flush = true
	default:
		if err := checkWritable(path); err != nil {
			return nil, fmt.Errorf("events %s: %w", path, err)
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("events %s: %w", path, err)
		}
		s.f, out = f, f
	}
	s.w = bufio.NewWriterSize(out, 64<<10)
	return s, nil
}

var _ MessageWriter = (*JSONL)(nil)

// WriteMessage appends body and a newline.
func (s *JSONL) WriteMessage(_ context.Context, _ *meta.Message, body []byte) error {
	if _, err := s.w.Write(append(body, '\n')); err != nil {
		return fmt.Errorf("events %s: %w", s.name, err)
	}
	if s.flush {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("events %s: %w", s.name, err)
		}
	}
	return nil
}

// Close flushes and closes the file.
func (s *JSONL) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.w.Flush()
	if s.f != nil {
		if serr := s.f.Sync(); err == nil {
			err = serr
		}
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("events %s: %w", s.name, err)
	}
	return nil
}
