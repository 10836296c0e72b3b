package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is how a mode schedules the work.
type Kind string

// The kinds of mode.
const (
	// Sequential does every step of one frame before reading the next, on
	// one goroutine: the seeds' loop.
	Sequential Kind = "sequential"
	// Pipelined runs the real pipeline.Line.
	Pipelined Kind = "pipelined"
	// Python runs the seed-style Python loop (baseline.py, embedded).
	Python Kind = "python"
)

// MaxWorkers bounds N in "pipelined-N".
const MaxWorkers = 16

// Mode is one way of running the work: its name as the user wrote it, its
// kind, and the number of inference workers: N for pipelined-N, 1 for
// sequential and python, and for "pipelined" 0 until the bench runs it,
// then what Options.Tune chose (the line `conveyor run` lays out on this
// machine). Threads is OpenCV's thread count the mode ran with (-1:
// OpenCV's default, every core).
type Mode struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Workers int    `json:"workers"`
	Threads int    `json:"opencv_threads"`
}

// ParseMode reads "sequential", "pipelined", "pipelined-N" or "python".
func ParseMode(s string) (Mode, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "sequential", "seq":
		return Mode{Name: "sequential", Kind: Sequential, Workers: 1}, nil
	case "pipelined":
		return Mode{Name: "pipelined", Kind: Pipelined, Workers: 0}, nil
	case "python":
		return Mode{Name: "python", Kind: Python, Workers: 1}, nil
	}
	if rest, ok := strings.CutPrefix(s, "pipelined-"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > MaxWorkers {
			return Mode{}, fmt.Errorf("bench: mode %q: want pipelined-N with N from 1 to %d", s, MaxWorkers)
		}
		return Mode{Name: s, Kind: Pipelined, Workers: n}, nil
	}
	return Mode{}, fmt.Errorf("bench: unknown mode %q: want sequential, pipelined, pipelined-N or python", s)
}

// ParseModes reads a comma-separated list of modes. Duplicates are an
// error, and so is an empty list.
func ParseModes(s string) ([]Mode, error) {
	var out []Mode
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		m, err := ParseMode(part)
		if err != nil {
			return nil, err
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("bench: mode %q given twice", m.Name)
		}
		seen[m.Name] = true
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no mode: want a comma-separated list of sequential, pipelined, pipelined-N, python")
	}
	return out, nil
}
