package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// ErrEndOfStream is returned by Source.Read when the source has no more
// frames: the end of a file, or the last image of a folder. It is the normal
// way for a line to finish.
var ErrEndOfStream = errors.New("end of stream")

// ErrSkipFrame is returned (possibly wrapped) by a Processor or Sink that could
// not handle one frame but can go on with the next: the frame is counted as
// skipped by that stage and released; the line carries on.
var ErrSkipFrame = errors.New("frame skipped")

// ErrBadSource is returned (wrapped) by a Processor or Sink when a frame
// shows that its source cannot be handled at all: a picture too small for
// the model, a format the stage does not take. The frame is counted as
// skipped and released, and the line ends that frame's source alone, as
// meta.SourceFailed with this error for reason (its end-of-source marker,
// and so its last message, says so); the other sources go on, and Run
// returns the error once the line is done, as for a source whose Read
// failed. Frames of that source already in the line go on (each one the
// stage refuses is skipped). A BatchProcessor returning it ends the source
// of every frame of the batch: check per frame before batching (the
// preprocess stage does) to blame one source only.
//
// Any error that wraps neither ErrSkipFrame nor ErrBadSource means the
// stage itself is broken (a lost device, a dead engine): it is fatal and
// stops the line.
var ErrBadSource = errors.New("source ended")

// ErrNoSource is returned by Detach for an id the line never had.
var ErrNoSource = errors.New("pipeline: no such source")

// ErrLineStopped is returned by Attach once the line has stopped taking
// sources (it has ended, or a stop is draining it).
var ErrLineStopped = errors.New("pipeline: line has stopped")

// stageError prefixes err with the stage's name, unless err already starts
// with it (a stage that names itself: "infer: infer: ..." helps nobody).
func stageError(stage string, err error) error {
	if strings.HasPrefix(err.Error(), stage+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", stage, err)
}

// redactedError is an error whose text had secrets to hide; errors.Is and
// errors.As still see the error it wraps.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactError hides the secrets of a source's error text: its raw name
// (replaced by red, the redacted one, which catches passwords
// meta.RedactURI cannot tell from the text around them), then any URI
// left (meta.RedactURI). nil stays nil.
func redactError(err error, raw, red string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if raw != red && raw != "" {
		text = strings.ReplaceAll(text, raw, red)
	}
	text = meta.RedactURI(text)
	if text == err.Error() {
		return err
	}
	return &redactedError{err: err, text: text}
}
