package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// JSONL writes messages as JSON lines, one object per line, to a file or to
// standard output. It is a MessageWriter: put it behind a Messages sink,
// which decides which frames become messages.
//
// Each line goes out in one write(2) as it is made, so a reader (tail -f)
// sees it at once, a kill leaves whole lines only, and a write error (a
// full disk) is returned by the WriteMessage that met it; a line that was
// written in part then is cut off again, so the file still ends with a
// whole line. A file is claimed by NewJSONL (see claim.go) but created (or
// truncated) only at the first message: a run that fails to start leaves
// an existing file as it was.
type JSONL struct {
	name   string
	out    io.Writer // stdout, or f once open
	f      *os.File
	claim  *outputClaim
	off    int64 // bytes in f
	line   []byte
	closed bool
}

// NewJSONL checks and claims the file path, or writes to stdout for "-"
// (os.Stdout when stdout is nil). The file is not touched until the first
// message.
func NewJSONL(path string, stdout io.Writer) (*JSONL, error) {
	s := &JSONL{name: path}
	switch path {
	case "":
		return nil, fmt.Errorf("events: empty path (use - for standard output)")
	case "-":
		s.out = stdout
		if s.out == nil {
			s.out = os.Stdout
		}
		return s, nil
	}
	if err := checkWritable(path); err != nil {
		return nil, fmt.Errorf("events %s: %w", path, err)
	}
	c, err := claimOutput(path, "events file")
	if err != nil {
		return nil, fmt.Errorf("events %s: %w", path, err)
	}
	s.claim = c
	return s, nil
}

var _ MessageWriter = (*JSONL)(nil)

// WriteMessage appends body and a newline, in one write.
func (s *JSONL) WriteMessage(_ context.Context, _ *meta.Message, body []byte) error {
	if s.closed {
		return fmt.Errorf("events %s: write after close", s.name)
	}
	if s.out == nil {
		f, err := os.OpenFile(s.name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("events %s: %w", s.name, unwrapPath(err))
		}
		s.f, s.out = f, f
	}
	s.line = append(append(s.line[:0], body...), '\n')
	n, err := s.out.Write(s.line)
	if err != nil {
		if s.f != nil && n > 0 {
			// Cut the half line off: the file ends with a whole one.
			_ = s.f.Truncate(s.off)
			_, _ = s.f.Seek(s.off, io.SeekStart)
		}
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("events %s: disk full after %d bytes: %w", s.name, s.off, syscall.ENOSPC)
		}
		return fmt.Errorf("events %s: %w", s.name, unwrapPath(err))
	}
	s.off += int64(n)
	return nil
}

// Close syncs and closes the file and releases its claim.
func (s *JSONL) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.claim.release()
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("events %s: %w", s.name, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops an *os.PathError's path, which the caller's message
// already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
