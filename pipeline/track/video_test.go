//go:build cgo

package track

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// TestRealVideo runs the real detector (YuNet through OpenCV) and the
// tracker in a line over the walking clip: three people who never cross,
// told apart by where they stand (x of the box centre), keep one id each.
// With every other frame dropped by a probe (as a drop-oldest link would),
// prediction must bridge the gaps.
func TestRealVideo(t *testing.T) {
	clip, err := models.Asset("media/video/face-demographics-walking-and-pause.mp4")
	require.NoError(t, err)
	person := func(b meta.Rect) int {
		switch cx := b.X + b.W/2; {
		case cx < 160:
			return 0
		case cx < 290:
			return 1
		default:
			return 2
		}
	}
	for _, keepEvery := range []int64{1, 2} {
		t.Run("every "+itoa(int(keepEvery))+" frames", func(t *testing.T) {
			src, err := camera.Open(clip, camera.Options{})
			require.NoError(t, err)
			det, err := infer.NewDetector(infer.Options{})
			if err != nil {
				_ = src.Close()
				require.NoError(t, err)
			}
			tr, err := New(Options{})
			require.NoError(t, err)

			ids := [3][]int64{}
			var events []meta.TrackEvent
			frames := 0
			line := pipeline.New()
			line.AddSource(src, pipeline.LinkOptions{})
			line.AddStage("detect", pipeline.LinkOptions{}, det)
			line.AddStage("track", pipeline.LinkOptions{}, tr)
			require.NoError(t, line.Probe("source", pipeline.Out, func(f *pipeline.Frame) bool { return f.Number%keepEvery == 0 }))
			line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
				frames++
				for _, o := range f.Objects {
					ids[person(o.Box)] = append(ids[person(o.Box)], o.TrackID)
				}
				events = append(events, f.Events...)
				return nil
			}))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			require.NoError(t, line.Run(ctx))
			assert.Equal(t, int((41+keepEvery-1)/keepEvery), frames)

			distinct := map[int64]bool{}
			for p, seq := range ids {
				switches := 0
				var last int64
				confirmed := 0
				for _, id := range seq {
					if id == 0 {
						continue
					}
					confirmed++
					distinct[id] = true
					if last != 0 && id != last {
						switches++
					}
					last = id
				}
				t.Logf("person %d: %d detections, %d with an id, %d id switches: %v", p, len(seq), confirmed, switches, seq)
				assert.Zero(t, switches, "person %d switched ids", p)
				assert.GreaterOrEqual(t, confirmed, len(seq)*2/3, "person %d is tracked most of the time", p)
			}
			assert.Len(t, distinct, 3, "one id per person")
			appeared := 0
			for _, e := range events {
				assert.Equal(t, meta.TrackAppeared, e.Kind, "nobody leaves during the clip")
				appeared++
			}
			assert.Equal(t, 3, appeared)
			// The line closed the tracker, which freed everything.
			assert.Equal(t, Stats{}, tr.Stats())
		})
	}
}
