package pipeline

import (
	"context"
	"fmt"
	"testing"
)

// nullSource hands out the same few frames over and over, so that the
// benchmark measures the line, not allocation of frames.
type nullSource struct {
	n, next int
	frames  []Frame
}

func (s *nullSource) Read(ctx context.Context) (*Frame, error) {
	if s.next >= s.n {
		return nil, ErrEndOfStream
	}
	f := &s.frames[s.next%len(s.frames)]
	f.released = false
	f.Number = int64(s.next)
	s.next++
	return f, nil
}
func (s *nullSource) Info() SourceInfo { return SourceInfo{Name: "null"} }
func (s *nullSource) Close() error     { return nil }

var nullStage = ProcessorFunc(func(context.Context, *Frame) error { return nil })

// BenchmarkHop measures the cost of moving one frame through one more stage:
// ns/op is nanoseconds per frame for the whole line; divide by the number of
// hops (stages + 1 for the sink) for the per-hop figure.
func BenchmarkHop(b *testing.B) {
	for _, stages := range []int{1, 4} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("stages=%d/workers=%d", stages, workers), func(b *testing.B) {
				src := &nullSource{n: b.N, frames: make([]Frame, 64)}
				l := New()
				l.AddSource(src, LinkOptions{Queue: 8})
				for i := 0; i < stages; i++ {
					procs := make([]Processor, workers)
					for w := range procs {
						procs[w] = nullStage
					}
					l.AddStage(fmt.Sprintf("null%d", i), LinkOptions{Queue: 8}, procs...)
				}
				b.ReportAllocs()
				b.ResetTimer()
				if err := l.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(stages+1), "ns/hop")
			})
		}
	}
}
