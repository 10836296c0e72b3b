package infer

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// TestTinyFramesEndTheirSource (issue 13, item 4): with every model, a
// frame whose network input would be under MinInputSide is refused with
// pipeline.ErrBadSource before it reaches OpenCV (which fails on YuNet
// 2022mar below 63 pixels: on main a 64x48 source stopped the whole line),
// and every other frame goes through preprocess and a real forward pass.
func TestTinyFramesEndTheirSource(t *testing.T) {
	checkMats(t)
	sizes := [][2]int{{2, 2}, {16, 16}, {64, 48}, {48, 64}, {640, 40}, {1920, 60}, {62, 640},
		{63, 640}, {64, 64}, {640, 64}, {64, 640}, {96, 72}, {320, 240}}
	for _, m := range []string{yunet22, yunet23, ultra320, ultraRaw} {
		t.Run(m, func(t *testing.T) {
			model, err := Open(Options{Model: asset(t, m)})
			require.NoError(t, err)
			pre, err := model.NewPreprocess()
			require.NoError(t, err)
			defer pre.Close()
			inf, err := model.NewInfer()
			require.NoError(t, err)
			defer inf.Close()
			refused := 0
			for _, sz := range sizes {
				w, h := sz[0], sz[1]
				plan, err := model.Spec.Plan(model.Input, w, h)
				require.NoError(t, err)
				f := &pipeline.Frame{Image: gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)}
				err = pre.Process(context.Background(), f)
				if err == nil {
					err = inf.Process(context.Background(), f)
				}
				f.Release()
				if plan.InputW < MinInputSide || plan.InputH < MinInputSide {
					refused++
					require.Error(t, err, "%dx%d", w, h)
					assert.ErrorIs(t, err, pipeline.ErrBadSource, "%dx%d", w, h)
					assert.Contains(t, err.Error(), fmt.Sprintf("frame %dx%d is too small for the model", w, h))
					continue
				}
				assert.NoError(t, err, "%dx%d (input %dx%d)", w, h, plan.InputW, plan.InputH)
			}
			if model.Spec.AnySize {
				assert.GreaterOrEqual(t, refused, 3, "the input follows the frame: tiny frames are refused")
			} else {
				assert.Zero(t, refused, "a fixed input size takes any frame")
			}
		})
	}
}
