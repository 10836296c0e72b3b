package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// dyingCamera stands in for a physical camera that is unplugged after a
// number of frames (no camera exists on the test machines).
type dyingCamera struct{ n, after int }

func (d *dyingCamera) Read(ctx context.Context) (*pipeline.Frame, error) {
	if d.n >= d.after {
		return nil, errors.New("camera unplugged")
	}
	d.n++
	return &pipeline.Frame{Number: int64(d.n - 1), Captured: time.Now(), Image: gocv.NewMatWithSize(120, 160, gocv.MatTypeCV8UC3)}, nil
}
func (d *dyingCamera) Info() pipeline.SourceInfo { return pipeline.SourceInfo{Name: "dying://"} }
func (d *dyingCamera) Close() error              { return nil }

func init() {
	camera.Register("dying", func(string, camera.Options) (pipeline.Source, error) { return &dyingCamera{after: 15}, nil })
}

func TestManySourcesWithBatching(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "e.jsonl")
	clips := []string{
		asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"), // 56 frames, 12 fps
		asset(t, "media/video/face-demographics-walking-and-pause.mp4"),      // 41 frames, 12 fps
		asset(t, "media/video/gocv_small_noface.mp4"),                        // 166 frames, 30 fps
		"pattern://?width=320&height=240&fps=0&frames=25",                    // 25 frames
	}
	want := []int{56, 41, 166, 25}
	args := []string{"run", "--batch", "4", "--batch-timeout", "10ms", "--jsonl", events, "--out", filepath.Join(dir, "o.mp4")}
	for _, c := range clips {
		args = append(args, "-s", c)
	}

	t.Run("every frame of every source once, in order", func(t *testing.T) {
		stderr, err := conveyor(t, args...)
		require.NoError(t, err, stderr)
		assert.Contains(t, stderr, "infer batches")
		perSource := map[int][]int64{}
		for _, ev := range readEvents(t, events) {
			perSource[ev.SourceID] = append(perSource[ev.SourceID], ev.Frame)
		}
		for id, n := range want {
			require.Len(t, perSource[id], n, "source %d", id)
			for i, f := range perSource[id] {
				assert.EqualValues(t, i, f)
			}
		}
		for id, n := range want {
			path := filepath.Join(dir, "o.mp4")
			if id > 0 {
				path = filepath.Join(dir, "o-"+string(rune('0'+id))+".mp4")
			}
			frames := decodeAll(t, path)
			assert.Len(t, frames, n, path)
			closeAll(frames)
		}
	})

	t.Run("one source failing does not stop the others", func(t *testing.T) {
		stderr, err := conveyor(t, append(args, "-s", "dying://cam")...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "camera unplugged")
		perSource := map[int]int{}
		frames, ends := readEventsAndEnds(t, events)
		for _, ev := range frames {
			perSource[ev.SourceID]++
		}
		for id, n := range want {
			assert.Equal(t, n, perSource[id], "source %d ran to its end: %s", id, stderr)
			assert.Equal(t, &meta.End{State: meta.SourceEnded}, ends[id].End, "source %d", id)
		}
		assert.Equal(t, 15, perSource[4])
		require.Contains(t, ends, 4)
		assert.Equal(t, meta.SourceFailed, ends[4].End.State, "the failed source's last line says why")
		assert.Contains(t, ends[4].End.Err, "camera unplugged")
		assert.EqualValues(t, 15, ends[4].Frame)
	})
}
