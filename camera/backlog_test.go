package camera

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLiveRTSPStartsNow (issue 13): FFmpeg keeps the second or two of
// stream it reads while opening, and gave it out at once: the first
// thirty-odd frames of a live RTSP start came as a burst, stale, which the
// line's drop-oldest link threw away (79 of 120). A live source now starts
// with fresh frames: its first frames come at the stream's pace.
func TestLiveRTSPStartsNow(t *testing.T) {
	port := freePort(t)
	srv := rtspServer(t, port)
	defer stop(srv)
	src, err := Open(fmt.Sprintf("rtsp://127.0.0.1:%d/test", port), Options{})
	require.NoError(t, err)
	defer src.Close()
	fps := src.Info().FPS
	require.Positive(t, fps)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 10
	var first, last time.Time
	for i := range n {
		f, err := src.Read(ctx)
		require.NoError(t, err)
		if i == 0 {
			first = f.Captured
		}
		last = f.Captured
		f.Release()
	}
	// At the stream's pace the ten frames span nine intervals; a burst of
	// buffered frames spans a few milliseconds. Half the pace is the bar.
	span := last.Sub(first)
	t.Logf("%d frames over %s at %.0f FPS", n, span.Round(time.Millisecond), fps)
	assert.Greater(t, span, time.Duration(float64(n-1)/fps/2*float64(time.Second)), "the first frames are live, not a burst of buffered ones")
}
