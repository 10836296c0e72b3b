package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// TestATinySourceEndsAlone (issue 13, item 4): a 64x48 and a 2x2 source
// beside a good clip. On main the face detector failed on the tiny
// frames and the whole run stopped: the clip's frames lost, no end lines.
// Now the tiny sources end alone, failed, with their reason; every frame
// of the clip comes out; every source has its end line; the run exits
// non-zero with one line naming the bad sources.
func TestATinySourceEndsAlone(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny")
	require.NoError(t, os.Mkdir(tiny, 0o755))
	for i := range 4 {
		img := gocv.NewMatWithSize(2, 2, gocv.MatTypeCV8UC3)
		ok := gocv.IMWrite(filepath.Join(tiny, fmt.Sprintf("%d.png", i)), img)
		require.NoError(t, img.Close())
		require.True(t, ok)
	}
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4") // 56 frames
	small := "pattern://?width=64&height=48&fps=0&frames=30"
	events := filepath.Join(dir, "e.jsonl")
	stderr, err := conveyor(t, "run", "-s", clip, "-s", small, "-s", tiny, "--jsonl", events, "--progress", "never")
	require.Error(t, err, stderr)
	line := oneLine(err)
	assert.Contains(t, line, "source "+small+": preprocess: frame 64x48 is too small for the model")
	assert.Contains(t, line, "source "+tiny+": preprocess: frame 2x2 is too small for the model")
	assert.NotContains(t, line, "OpenCV", "refused before OpenCV fails")

	frames, ends := readEventsAndEnds(t, events)
	perSource := map[int]int{}
	for _, m := range frames {
		perSource[m.SourceID]++
	}
	assert.Equal(t, map[int]int{0: 56}, perSource, "every frame of the clip, none of the tiny ones")
	require.Len(t, ends, 3, "every source has its end line")
	assert.Equal(t, meta.SourceEnded, ends[0].End.State)
	for id, size := range map[int]string{1: "64x48", 2: "2x2"} {
		assert.Equal(t, meta.SourceFailed, ends[id].End.State, "source %d", id)
		assert.Contains(t, ends[id].End.Err, "frame "+size+" is too small for the model", "source %d", id)
	}
	assert.Contains(t, stderr, "conveyor: 56 frames", "the summary counts the clip's frames")
}
