package pipeline

import (
	"errors"
)

// ErrEndOfStream is returned by Source.Read when the source has no more
// frames: the end of a file, or the last image of a folder. It is the normal
// way for a line to finish.
var ErrEndOfStream = errors.New("end of stream")

// ErrSkipFrame is returned (possibly wrapped) by a Processor or Sink that could
// not handle one frame but can go on with the next: the frame is counted as
// dropped by that stage and released; the line carries on. Any other error is
// fatal and stops the line.
var ErrSkipFrame = errors.New("frame skipped")

// ErrNoSource is returned by Detach for an id the line never had.
var ErrNoSource = errors.New("pipeline: no such source")

// ErrLineStopped is returned by Attach once the line has stopped taking
// sources (it has ended, or a stop is draining it).
var ErrLineStopped = errors.New("pipeline: line has stopped")
