package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealSenseBagThroughTheLine plays the RealSense recording through
// `conveyor run` with the real librealsense2 (REALSENSE_LIB; make test sets
// it) and writes the colour and the colourised depth.
func TestRealSenseBagThroughTheLine(t *testing.T) {
	if os.Getenv("REALSENSE_LIB") == "" && os.Getenv("CONVEYOR_SKIP_REALSENSE") == "1" {
		t.Skip("CONVEYOR_SKIP_REALSENSE=1 and no REALSENSE_LIB")
	}
	dir := t.TempDir()
	bag := asset(t, "media/realsense/single_depth_color_640x480.bag")
	color, depthOut, events := filepath.Join(dir, "c.mp4"), filepath.Join(dir, "d.mp4"), filepath.Join(dir, "e.jsonl")
	stderr, err := conveyor(t, "run", "-s", "realsense://"+bag+"?repeat=2", "--out", color, "--depth-out", depthOut, "--events", events, "--max-distance", "3")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "depth")
	evs := readEvents(t, events)
	require.GreaterOrEqual(t, len(evs), 2)
	for _, ev := range evs {
		assert.Equal(t, 640, ev.Width)
		assert.Empty(t, ev.Objects, "the recording has no faces")
	}
	frames := decodeAll(t, depthOut)
	defer closeAll(frames)
	require.NotEmpty(t, frames)
	assert.Equal(t, 640, frames[0].Cols())
	// Colourised depth: the wall at ~1.5 m of a 4 m range is neither black
	// (no depth) nor one flat colour.
	m := frames[len(frames)-1].Mean()
	assert.Greater(t, m.Val1+m.Val2+m.Val3, 60.0)
}

func TestDevicesListsWhatIsThere(t *testing.T) {
	out, err := conveyor(t, "devices")
	require.NoError(t, err)
	assert.Contains(t, out, "RealSense")
	assert.Contains(t, out, "V4L2")
}
