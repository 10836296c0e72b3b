package post

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/track"
)

// TestBlurHoldThroughMissedDetections runs the real line over the
// head-pose clip: detect (YuNet) → a probe that removes every detection of
// frames 20 to 20+k-1 (k = 1, 2, 3: a detector missing the faces) → track
// → blur. With the hold, the faces of those frames are still blurred, at
// the tracker's predicted boxes: their detail energy is a few percent of
// the sharp faces'. With --blur-hold -1 they come out sharp (the test
// would fail without the hold).
func TestBlurHoldThroughMissedDetections(t *testing.T) {
	clip, err := models.Asset("media/video/head-pose-face-detection-female-and-male.mp4")
	require.NoError(t, err)
	const from = 20
	for _, missed := range []int64{1, 2, 3} {
		for _, hold := range []int{0, -1} { // 0: the default hold; -1: off
			t.Run(fmt.Sprintf("missed %d hold %d", missed, hold), func(t *testing.T) {
				src, err := camera.Open(clip, camera.Options{})
				require.NoError(t, err)
				det, err := infer.NewDetector(infer.Options{MinFace: 10})
				if err != nil {
					_ = src.Close()
					require.NoError(t, err)
				}
				tr, err := track.New(track.Options{BlurHold: hold})
				require.NoError(t, err)
				blur, err := NewBlur(DefaultBlurOptions())
				require.NoError(t, err)

				var mu sync.Mutex
				sharp := map[int64]gocv.Mat{}    // the frames before blurring
				faces := map[int64][]meta.Rect{} // the faces the detector found, before the probe
				out := map[int64]gocv.Mat{}
				held := map[int64]int{}
				line := pipeline.New()
				line.AddSource(pipeline.Limit(src, from+6), pipeline.LinkOptions{})
				line.AddStage("detect", pipeline.LinkOptions{}, det)
				line.AddStage("track", pipeline.LinkOptions{}, tr)
				line.AddStage("blur", pipeline.LinkOptions{}, blur)
				require.NoError(t, line.Probe("detect", pipeline.Out, func(f *pipeline.Frame) bool {
					if f.Number < from-1 || f.Number > from+missed {
						return true
					}
					mu.Lock()
					defer mu.Unlock()
					sharp[f.Number] = f.Image.Clone()
					for _, o := range f.Objects {
						faces[f.Number] = append(faces[f.Number], o.Box)
					}
					if f.Number >= from && f.Number < from+missed {
						f.Objects = nil // the detector missed them
					}
					return true
				}))
				line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
					mu.Lock()
					defer mu.Unlock()
					if _, ok := sharp[f.Number]; ok {
						out[f.Number] = f.Image.Clone()
						for _, o := range f.Objects {
							if o.Held > 0 {
								held[f.Number]++
							}
						}
					}
					return nil
				}))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				require.NoError(t, line.Run(ctx))
				defer func() {
					for _, m := range sharp {
						m.Close()
					}
					for _, m := range out {
						m.Close()
					}
				}()
				for n := int64(from - 1); n <= from+missed; n++ {
					require.Len(t, faces[n], 2, "frame %d: the clip's two faces were detected", n)
					gone := n >= from && n < from+missed
					for i, b := range faces[n] {
						e0, e := detailEnergy(sharp[n], b), detailEnergy(out[n], b)
						t.Logf("frame %d face %d: detail energy %.1f sharp, %.2f out (%.1f%%)", n, i, e0, e, 100*e/e0)
						if gone && hold == -1 {
							assert.InDelta(t, e0, e, 0.01*e0, "frame %d face %d: without the hold the face is shown sharp", n, i)
							continue
						}
						assert.Less(t, e, 0.1*e0, "frame %d face %d is not blurred", n, i)
					}
					if gone && hold == 0 {
						assert.Equal(t, 2, held[n], "frame %d: both faces held", n)
					}
				}
			})
		}
	}
}
