package sink

import (
	"context"
	"errors"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
)

// DepthVideo writes each frame's depth, colourised (near red, far blue, no
// depth black), through another sink: `conveyor run --depth-out d.mp4`
// gives it a sink.Video. Frames without depth are skipped. It owns both the
// colorizer and the inner sink: Close closes them.
type DepthVideo struct {
	col   *depth.Colorizer
	inner pipeline.Sink
	img   gocv.Mat
}

// NewDepthVideo makes the sink; it takes over col and inner.
func NewDepthVideo(col *depth.Colorizer, inner pipeline.Sink) *DepthVideo {
	return &DepthVideo{col: col, inner: inner, img: gocv.NewMat()}
}

// Write colourises f.Depth and writes it to the inner sink.
func (s *DepthVideo) Write(ctx context.Context, f *pipeline.Frame) error {
	if f.Depth.Ptr() == nil || f.Depth.Empty() {
		return nil
	}
	if err := s.col.Colorize(f.Depth, f.DepthScale, &s.img); err != nil {
		return err
	}
	view := pipeline.Frame{SourceID: f.SourceID, SourceName: f.SourceName, Number: f.Number, PTS: f.PTS, Captured: f.Captured, Image: s.img}
	return s.inner.Write(ctx, &view)
}

var _ pipeline.SourceEnder = (*DepthVideo)(nil)

// EndSource passes a source's end on to the inner sink (a sink.Video
// finalizes that source's file), if it wants to know.
func (s *DepthVideo) EndSource(ctx context.Context, end *pipeline.SourceEnd) error {
	if e, ok := s.inner.(pipeline.SourceEnder); ok {
		return e.EndSource(ctx, end)
	}
	return nil
}

// Close finalizes the inner sink and releases the Mats.
func (s *DepthVideo) Close() error {
	err := errors.Join(s.inner.Close(), s.col.Close())
	if s.img.Ptr() != nil {
		s.img.Close()
		s.img = gocv.Mat{}
	}
	return err
}
