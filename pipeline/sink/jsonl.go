package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// JSONL writes one JSON object per frame (pipeline.FrameEvent, the schema in
// docs/MESSAGES.md) to a file or to standard output, and one more when a
// source ends (pipeline.NewEndEvent: how it ended, and the tracks that left
// with it).
type JSONL struct {
	name   string
	f      *os.File // nil for stdout
	w      *bufio.Writer
	enc    *json.Encoder
	flush  bool // flush every line (stdout, so pipes see lines at once)
	skip   bool
	lines  int64
	ends   int64
	closed bool
}

// JSONLOptions configure a JSONL sink.
type JSONLOptions struct {
	// Path is the file to write, or "-" for standard output.
	Path string
	// SkipEmpty leaves out frames with no objects and no events.
	SkipEmpty bool
	// Stdout replaces os.Stdout for "-" (tests).
	Stdout io.Writer
}

// NewJSONL creates (truncates) the file and returns the sink.
func NewJSONL(opts JSONLOptions) (*JSONL, error) {
	s := &JSONL{name: opts.Path, skip: opts.SkipEmpty}
	var out io.Writer
	switch opts.Path {
	case "":
		return nil, fmt.Errorf("events: empty path (use - for standard output)")
	case "-":
		out = opts.Stdout
		if out == nil {
			out = os.Stdout
		}
		s.flush = true
	default:
		if err := checkWritable(opts.Path); err != nil {
			return nil, fmt.Errorf("events %s: %w", opts.Path, err)
		}
		f, err := os.Create(opts.Path)
		if err != nil {
			return nil, fmt.Errorf("events %s: %w", opts.Path, err)
		}
		s.f, out = f, f
	}
	s.w = bufio.NewWriterSize(out, 64<<10)
	s.enc = json.NewEncoder(s.w)
	return s, nil
}

var _ pipeline.SourceEnder = (*JSONL)(nil)

// Write appends the frame's event as one line.
func (s *JSONL) Write(_ context.Context, f *pipeline.Frame) error {
	if s.skip && len(f.Objects) == 0 && len(f.Events) == 0 {
		return nil
	}
	return s.encode(pipeline.NewFrameEvent(f, time.Now()))
}

// EndSource appends the source's end event, SkipEmpty or not: the last line
// of every source says how it ended.
func (s *JSONL) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	if err := s.encode(pipeline.NewEndEvent(end, time.Now())); err != nil {
		return err
	}
	s.ends++
	return nil
}

func (s *JSONL) encode(ev pipeline.FrameEvent) error {
	if err := s.enc.Encode(ev); err != nil {
		return fmt.Errorf("events %s: %w", s.name, err)
	}
	s.lines++
	if s.flush {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("events %s: %w", s.name, err)
		}
	}
	return nil
}

// Lines counts the lines written: frame events and source ends.
func (s *JSONL) Lines() int64 { return s.lines }

// Ends counts the source-end lines written.
func (s *JSONL) Ends() int64 { return s.ends }

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
