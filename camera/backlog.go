package camera

import (
	"time"

	"gocv.io/x/gocv"
)

// maxBacklog bounds how many frames readFirst lets go: a stream that sends
// faster than it says is never skipped for ever.
const maxBacklog = 300

// readFirst reads the frame that open checks the source with. For a live
// network stream it is the first fresh one: FFmpeg learns a stream's
// format by reading a second or two of it (avformat_find_stream_info) and
// keeps those frames, which then come out at once, stale, as a burst that
// the line's drop-oldest link mostly throws away (issue 13: a live RTSP
// start lost 79 of 120 frames). A live source starts now: a frame that
// comes out in less than half the frame interval is from that buffer and
// is let go; the first that had to wait for the network is kept. Files,
// cameras and GStreamer pipelines are read as they are.
func (c *capture) readFirst(vc frameReader, m *gocv.Mat) bool {
	if c.file || c.device >= 0 || c.api != gocv.VideoCaptureFFmpeg {
		return vc.Read(m)
	}
	wait := 10 * time.Millisecond
	if fps := vc.Get(gocv.VideoCaptureFPS); fps > 0 && fps <= 1000 {
		wait = time.Duration(float64(time.Second) / fps / 2)
	}
	for range maxBacklog {
		t0 := time.Now()
		if !vc.Read(m) {
			return false
		}
		if time.Since(t0) >= wait {
			return true
		}
	}
	return true
}
