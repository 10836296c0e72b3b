package infer

import (
	"context"
	"fmt"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
)

// Decode is the stage that runs a decoder on Frame.Outputs and sets
// Frame.Objects (in frame coordinates).
type Decode struct {
	dec models.Decoder
}

var _ pipeline.Processor = (*Decode)(nil)

// NewDecode makes a decode stage; use one decoder per worker.
func NewDecode(d models.Decoder) *Decode { return &Decode{dec: d} }

// Process sets f.Objects. Outputs that do not fit the geometry are a fatal
// error: the model and the decoder do not belong together.
func (s *Decode) Process(_ context.Context, f *pipeline.Frame) error {
	objs, err := s.dec.Decode(f.Outputs, f.Geometry)
	if err != nil {
		return fmt.Errorf("infer: decode frame %d: %w", f.Number, err)
	}
	f.Objects = objs
	return nil
}

// Close does nothing.
func (s *Decode) Close() error { return nil }
