package realsense

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// BenchmarkBagPlayback reads the shared .bag through the Source, replayed
// (each play restarts the pipeline: the file holds one colour frame), and
// reports frames/s and the pixel copy (colour + aligned depth) per frame.
func BenchmarkBagPlayback(b *testing.B) {
	requireLibrary(b)
	for _, q := range []string{"", "?align=false"} {
		b.Run("query="+q, func(b *testing.B) {
			src, err := Open("realsense://" + bagPath(b) + q + map[bool]string{true: "?", false: "&"}[q == ""] + "loop=true")
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				f, err := src.Read(ctx)
				if errors.Is(err, pipeline.ErrEndOfStream) || err != nil {
					b.Fatal(err)
				}
				f.Release()
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
			b.ReportMetric(float64(src.copyTime.Nanoseconds())/float64(b.N), "copy-ns/frame")
		})
	}
}
