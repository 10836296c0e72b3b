package camera

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// rtspServer runs testdata/rtsp_server.py on port and waits until it
// serves.
func rtspServer(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	var py string
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Fatal("no Python with GStreamer's RTSP server: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-ugly gstreamer1.0-plugins-good")
	}
	cmd := exec.Command(py, "testdata/rtsp_server.py", fmt.Sprint(port))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("RTSP test server did not start")
	}
	return cmd
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRTSPReconnectsAfterTheServerComesBack reads a real RTSP stream, kills
// the server, starts it again, and checks that the source reconnects and
// goes on numbering frames, leaving out the numbers of the frames the
// camera made during the outage.
func TestRTSPReconnectsAfterTheServerComesBack(t *testing.T) {
	port := freePort(t)
	srv := rtspServer(t, port)
	defer func() { stop(srv) }()

	src, err := Open(fmt.Sprintf("rtsp://127.0.0.1:%d/test", port), Options{Reconnect: 30, Backoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	require.NoError(t, err)
	defer src.Close()
	assert.True(t, src.Info().Live)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	read := func(n int) []*pipeline.Frame {
		var out []*pipeline.Frame
		for len(out) < n {
			f, err := src.Read(ctx)
			require.NoError(t, err)
			out = append(out, f)
		}
		return out
	}
	first := read(10)
	assert.Equal(t, 320, first[0].Image.Cols())

	stop(srv)
	time.Sleep(500 * time.Millisecond)
	srv = rtspServer(t, port)
	// Frames FFmpeg buffered before the outage may still come first; read
	// until the source has reopened the stream, then ten more.
	reconnects := func() int { return src.(interface{ Reconnects() int }).Reconnects() }
	var buffered []*pipeline.Frame
	for reconnects() == 0 && len(buffered) < 300 {
		buffered = append(buffered, read(1)...)
	}
	require.GreaterOrEqual(t, reconnects(), 1, "the source reconnected (after %d buffered frames)", len(buffered))
	after := read(10)
	for i := 1; i < len(after); i++ {
		assert.Greater(t, after[i].Number, after[i-1].Number)
	}
	// The read that reconnected returned the first frame after the outage,
	// the last one in buffered.
	before := append(first, buffered...)
	last, resumed := before[len(before)-2], before[len(before)-1]
	fps := src.Info().FPS
	require.Positive(t, fps, "the test stream has a frame rate")
	// The outage lasted at least the 0.5 s the server was down; its frames
	// are numbered as missing: the time between the frames at the nominal
	// rate, less the one that follows.
	outage := resumed.Captured.Sub(last.Captured)
	missing := resumed.Number - last.Number - 1
	t.Logf("outage %s at %.1f FPS: %d frame numbers left out", outage.Round(time.Millisecond), fps, missing)
	assert.GreaterOrEqual(t, outage, 500*time.Millisecond)
	assert.Equal(t, max(int64(outage.Seconds()*fps)-1, 0), missing, "the gap in numbers says how long the outage was")
	for _, f := range append(before, after...) {
		f.Release()
	}
}
