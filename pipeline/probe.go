package pipeline

import (
	"errors"
	"fmt"
)

// Pad names one side of a stage, where a probe attaches: In sees each frame
// before the stage works on it, Out after.
type Pad int

// The two sides of a stage.
const (
	In Pad = iota
	Out
)

// ProbeFunc is user code called on every frame that crosses a stage
// boundary, DeepStream's pad probe without GStreamer. It may read and change
// the frame and its objects. Returning false drops the frame (counted as a
// probe drop by that stage). It runs on the stage's goroutine, so it should
// be quick; it must not keep f after it returns.
type ProbeFunc func(f *Frame) (keep bool)

// Probe attaches fn to one side of a stage. Stage names are those given to
// AddStage, plus "source" (every source's output, sources attached later
// included; only Out) and "sink" (In: before the sinks; Out: after every
// sink has written the frame). Add probes before Run.
func (l *Line) Probe(stage string, pad Pad, fn ProbeFunc) error {
	if stage == "source" {
		if pad != Out {
			return errors.New("pipeline: a source has only an Out pad")
		}
		l.mu.Lock()
		l.srcProbes = append(l.srcProbes, fn)
		l.mu.Unlock()
		return nil
	}
	var node *stageNode
	if stage == "sink" {
		node = l.sinkNode()
	}
	for _, s := range l.stages {
		if s.name == stage {
			node = s
		}
	}
	if node == nil {
		return fmt.Errorf("pipeline: no stage named %q", stage)
	}
	if pad == In {
		node.in = append(node.in, fn)
	} else {
		node.out = append(node.out, fn)
	}
	return nil
}

func runProbes(probes []ProbeFunc, f *Frame) bool {
	for _, p := range probes {
		if !p(f) {
			return false
		}
	}
	return true
}
