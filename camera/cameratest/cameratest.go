// Package cameratest gives tests real frames: the first frames of a video
// asset, read with the camera package. It lives apart from pipelinetest,
// which camera's own tests import.
package cameratest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
)

// ClipFrames reads up to n frames of a video asset (a path under assets/,
// see models.Asset), numbered from 0 and given to source id. The caller
// releases them.
func ClipFrames(t testing.TB, asset string, id, n int) []*pipeline.Frame {
	t.Helper()
	path, err := models.Asset(asset)
	require.NoError(t, err)
	src, err := camera.Open(path, camera.Options{})
	require.NoError(t, err)
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*pipeline.Frame
	for len(out) < n {
		f, err := src.Read(ctx)
		if errors.Is(err, pipeline.ErrEndOfStream) {
			break
		}
		require.NoError(t, err)
		f.SourceID = id
		out = append(out, f)
	}
	return out
}
