package pipeline_test

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// squares is a Source of n 64x48 frames, each with one "face" object whose
// box grows by 4 pixels a frame: a stand-in for a camera and a detector.
type squares struct{ n, next int }

func (s *squares) Read(ctx context.Context) (*pipeline.Frame, error) {
	if s.next == s.n {
		return nil, pipeline.ErrEndOfStream
	}
	f := &pipeline.Frame{
		Number: int64(s.next),
		Image:  gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3),
		Objects: []meta.Object{{
			Label: "face", Score: 0.9,
			Box: meta.Rect{X: 2, Y: 2, W: float32(8 + 4*s.next), H: float32(8 + 4*s.next)},
		}},
	}
	s.next++
	return f, ctx.Err()
}

func (s *squares) Info() pipeline.SourceInfo {
	return pipeline.SourceInfo{Name: "squares", Frames: s.n}
}
func (s *squares) Close() error { return nil }

// Invert is a custom stage: it inverts the picture inside every object's
// box, in place. Scratch Mats belong to the stage, made once and closed in
// Close; the frame's own Mats belong to the line.
type Invert struct{}

func (Invert) Process(_ context.Context, f *pipeline.Frame) error {
	for _, o := range f.Objects {
		r := image.Rect(int(o.Box.X), int(o.Box.Y), int(o.Box.X+o.Box.W), int(o.Box.Y+o.Box.H)).
			Intersect(image.Rect(0, 0, f.Image.Cols(), f.Image.Rows()))
		roi := f.Image.Region(r)
		gocv.BitwiseNot(roi, &roi)
		roi.Close()
	}
	return nil
}

func (Invert) Close() error { return nil }

// Counter is a custom sink: it counts the objects of each frame. A sink
// must not keep the frame after Write returns: it copies what it needs.
type Counter struct {
	mu      sync.Mutex
	objects []int
}

func (c *Counter) Write(_ context.Context, f *pipeline.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects = append(c.objects, len(f.Objects))
	return nil
}

// Close would finalize an output (a file's trailer, a flush); the line
// calls it once, on every kind of stop.
func (c *Counter) Close() error { return nil }

// A custom stage with two workers: frames still leave in order.
func Example_customStage() {
	line := pipeline.New()
	line.AddSource(&squares{n: 3}, pipeline.LinkOptions{})
	line.AddStage("invert", pipeline.LinkOptions{}, Invert{}, Invert{})
	var corners []uint8
	line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
		corners = append(corners, f.Image.GetVecbAt(3, 3)[0]) // inside every box
		return nil
	}))
	if err := line.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(corners)
	// Output: [255 255 255]
}

// A custom sink.
func Example_customSink() {
	counter := &Counter{}
	line := pipeline.New()
	line.AddSource(&squares{n: 4}, pipeline.LinkOptions{})
	line.AddSink(counter)
	if err := line.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(counter.objects, line.Stats().Frames)
	// Output: [1 1 1 1] 4
}

// A probe drops the objects smaller than 14 pixels after a stage, and a
// second one drops a whole frame: DeepStream's pad probes in plain Go.
func Example_probe() {
	counter := &Counter{}
	line := pipeline.New()
	line.AddSource(&squares{n: 4}, pipeline.LinkOptions{})
	line.AddStage("invert", pipeline.LinkOptions{}, Invert{})
	if err := line.Probe("invert", pipeline.Out, func(f *pipeline.Frame) bool {
		f.Objects = slices.DeleteFunc(f.Objects, func(o meta.Object) bool { return o.Box.W < 14 })
		return true
	}); err != nil {
		fmt.Println(err)
	}
	if err := line.Probe("sink", pipeline.In, func(f *pipeline.Frame) bool {
		return f.Number != 3 // false drops the frame (counted as probed)
	}); err != nil {
		fmt.Println(err)
	}
	line.AddSink(counter)
	if err := line.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(counter.objects)
	// Output: [0 0 1]
}
