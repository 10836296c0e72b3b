package sink

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// BenchmarkVideoFileRSS opens, writes and finalizes one short video file per
// iteration, as a source that comes and goes does: rss-B/op is resident
// memory grown per file after a warm-up.
// go test -run '^$' -bench VideoFileRSS -benchtime 200x ./pipeline/sink
func BenchmarkVideoFileRSS(b *testing.B) {
	for _, ext := range []string{".mp4", ".avi"} {
		b.Run(ext[1:], func(b *testing.B) {
			dir := b.TempDir()
			v, err := NewVideo(VideoOptions{Path: filepath.Join(dir, "out"+ext)})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			img := gocv.NewMatWithSize(240, 320, gocv.MatTypeCV8UC3)
			defer img.Close()
			ctx := context.Background()
			file := func(id int) {
				for i := 0; i < 5; i++ {
					if err := v.Write(ctx, &pipeline.Frame{SourceID: id, Number: int64(i), Image: img}); err != nil {
						b.Fatal(err)
					}
				}
				if err := v.EndSource(ctx, &pipeline.SourceEnd{SourceID: id}); err != nil {
					b.Fatal(err)
				}
				_ = os.Remove(v.PathFor(id))
			}
			id := 0
			for ; id < 30; id++ {
				file(id)
			}
			before := pipelinetest.RSSKiB(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				file(id)
				id++
			}
			b.ReportMetric(float64(pipelinetest.RSSKiB(b)-before)*1024/float64(b.N), "rss-B/op")
		})
	}
}

// TestVideoRemembersTheLastEndedFiles: a sink whose sources come and go
// lists the last pipeline.KeptEndedSources finished files, not all of them.
func TestVideoRemembersTheLastEndedFiles(t *testing.T) {
	dir := t.TempDir()
	v, err := NewVideo(VideoOptions{Path: filepath.Join(dir, "out.avi")})
	require.NoError(t, err)
	img := gocv.NewMatWithSize(16, 16, gocv.MatTypeCV8UC3)
	defer img.Close()
	ctx := context.Background()
	n := pipeline.KeptEndedSources + 5
	for id := 0; id < n; id++ {
		require.NoError(t, v.Write(ctx, &pipeline.Frame{SourceID: id, Image: img}))
		require.NoError(t, v.EndSource(ctx, &pipeline.SourceEnd{SourceID: id}))
	}
	files := v.Files()
	assert.Len(t, files, pipeline.KeptEndedSources)
	assert.NotContains(t, files, v.PathFor(4), "the oldest are forgotten")
	assert.Equal(t, 1, files[v.PathFor(n-1)])
	require.NoError(t, v.Close())
}
