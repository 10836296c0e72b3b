package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// smallDisk mounts a tmpfs of size bytes on a new folder for the test. It
// skips only where mounting is not permitted (not root, or no
// CAP_SYS_ADMIN in a container), and says so.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): this test needs root with CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// noise is a frame that compresses badly: it fills a disk fast.
func noise(source int, n int64, w, h int) *pipeline.Frame {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	gocv.RandU(&m, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	return &pipeline.Frame{SourceID: source, Number: n, Image: m, Captured: time.Now()}
}

// TestVideoDiskFull: a full disk stops the output when it happens, with
// its reason; nothing claims the file was written.
func TestVideoDiskFull(t *testing.T) {
	dir := smallDisk(t, 256<<10)
	out := filepath.Join(dir, "out.mp4")
	v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{25}, Encode: EncoderOptions{Encoder: EncoderX264, Keyframe: 200 * time.Millisecond}})
	require.NoError(t, err)
	var werr error
	written := 0
	for i := int64(0); i < 400 && werr == nil; i++ {
		f := noise(0, i, 320, 240)
		werr = v.Write(context.Background(), f)
		f.Release()
		if werr == nil {
			written++
		}
	}
	cerr := v.Close()
	err = errors.Join(werr, cerr)
	require.Error(t, err, "a full disk must not pass unnoticed")
	assert.Contains(t, err.Error(), "No space left on device")
	require.Error(t, werr, "detected while writing (%d frames), not only at the end", written)
	assert.Less(t, written, 400)
	assert.Empty(t, v.Files(), "a file that was not finished is not listed as written")
	assert.NoFileExists(t, out)
}

// TestJSONLDiskFull: an events file on a full disk fails the write that
// met it, and the file still ends with a whole line.
func TestJSONLDiskFull(t *testing.T) {
	dir := smallDisk(t, 16<<10)
	path := filepath.Join(dir, "events.jsonl")
	j, err := NewJSONL(path, nil)
	require.NoError(t, err)
	s := NewMessages(j, AllFrames)
	var werr error
	n := 0
	for i := int64(0); i < 1000 && werr == nil; i++ {
		f := frame(0, i, 32, 24)
		f.Objects = []meta.Object{{Label: "face", Score: 0.9, Box: meta.Rect{X: 1, Y: 2, W: 3, H: 4}}}
		werr = s.Write(context.Background(), f)
		f.Release()
		if werr == nil {
			n++
		}
	}
	require.Error(t, werr)
	assert.Contains(t, werr.Error(), "disk full")
	assert.ErrorIs(t, werr, syscall.ENOSPC)
	assert.Equal(t, werr, s.Err())
	_ = s.Close()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEmpty(t, data)
	assert.Equal(t, byte('\n'), data[len(data)-1], "the last line is whole")
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	assert.Len(t, lines, n, "every message written is there")
	for _, l := range lines {
		var m meta.Message
		require.NoError(t, json.Unmarshal([]byte(l), &m))
	}
}

// TestJSONLLinesAreOutAtOnce: each message is in the file as soon as
// WriteMessage returns, whole (a kill loses no written line and cuts none).
func TestJSONLLinesAreOutAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	j, err := NewJSONL(path, nil)
	require.NoError(t, err)
	s := NewMessages(j, AllFrames)
	defer s.Close()
	for i := int64(0); i < 5; i++ {
		f := frame(0, i, 32, 24)
		require.NoError(t, s.Write(context.Background(), f))
		f.Release()
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, int(i+1), strings.Count(string(data), "\n"), "line %d is in the file before Close", i)
		assert.True(t, strings.HasSuffix(string(data), "}\n"))
	}
}

// TestJSONLTouchesNothingBeforeItsFirstMessage: a run that fails to start
// leaves an existing events file as it was.
func TestJSONLTouchesNothingBeforeItsFirstMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"earlier\": true}\n"), 0o644))
	j, err := NewJSONL(path, nil)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\"earlier\": true}\n", string(data))
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "no lock file left")
}

// TestOutputsCollide: every way two outputs, or an output and an input,
// can be the same file is refused before anything is written.
func TestOutputsCollide(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(in, []byte("input"), 0o644))
	require.NoError(t, os.Symlink(in, filepath.Join(dir, "link.mp4")))
	require.NoError(t, os.Link(in, filepath.Join(dir, "hard.mp4")))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))

	t.Run("output is the input", func(t *testing.T) {
		release, err := ClaimInput(in, "source 0")
		require.NoError(t, err)
		defer release()
		for _, p := range []string{in, filepath.Join(sub, "..", "in.mp4"), filepath.Join(dir, "link.mp4"), filepath.Join(dir, "hard.mp4")} {
			_, err := NewVideo(VideoOptions{Path: p})
			require.Error(t, err, p)
			assert.Contains(t, err.Error(), "source 0's input")
			_, err = NewJSONL(p, nil)
			require.Error(t, err, p)
			assert.Contains(t, err.Error(), "source 0's input")
		}
		data, err := os.ReadFile(in)
		require.NoError(t, err)
		assert.Equal(t, "input", string(data))
	})
	t.Run("input is an output", func(t *testing.T) {
		out := filepath.Join(dir, "out.mp4")
		v, err := NewVideo(VideoOptions{Path: out})
		require.NoError(t, err)
		defer v.Close()
		_, err = ClaimInput(out, "source 1")
		require.ErrorContains(t, err, "source 1 "+out+" is also the video output")
	})
	t.Run("video and events", func(t *testing.T) {
		out := filepath.Join(dir, "a.mp4")
		v, err := NewVideo(VideoOptions{Path: out})
		require.NoError(t, err)
		defer v.Close()
		_, err = NewJSONL(out, nil)
		require.ErrorContains(t, err, "is also the video output")
		_, err = NewVideo(VideoOptions{Path: out})
		require.ErrorContains(t, err, "is also the video output")
	})
	t.Run("a later source's file", func(t *testing.T) {
		j, err := NewJSONL(filepath.Join(dir, "b-1.mp4"), nil)
		require.NoError(t, err)
		defer j.Close()
		v, err := NewVideo(VideoOptions{Path: filepath.Join(dir, "b.mp4")})
		require.NoError(t, err)
		defer v.Close()
		f := frame(1, 0, 64, 48)
		defer f.Release()
		require.ErrorContains(t, v.Write(context.Background(), f), "is also the events file")
	})
	t.Run("released at close", func(t *testing.T) {
		out := filepath.Join(dir, "c.jsonl")
		j, err := NewJSONL(out, nil)
		require.NoError(t, err)
		require.NoError(t, j.Close())
		j, err = NewJSONL(out, nil)
		require.NoError(t, err)
		require.NoError(t, j.Close())
	})
}

// lockCaseEnv makes TestLockHolder hold an output for another test.
const lockCaseEnv = "CONVEYOR_SINK_HOLD"

// TestOutputLockedByAnotherProcess: a second process on the same output is
// refused, named by pid, while the first writes; a dead holder's lock goes
// with it.
func TestOutputLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLockHolder$", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), lockCaseEnv+"="+out)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "HOLDING") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case _, ok := <-ready:
		require.True(t, ok, "the holder did not start")
	case <-ctx.Done():
		t.Fatal("the holder did not start in time")
	}
	for _, open := range []func() error{
		func() error { v, err := NewVideo(VideoOptions{Path: out}); closeIf(v, err); return err },
		func() error { j, err := NewJSONL(out, nil); closeIf(j, err); return err },
	} {
		err := open()
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("being written by another process (pid %d", cmd.Process.Pid))
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	v, err := NewVideo(VideoOptions{Path: out})
	require.NoError(t, err, "the lock died with its process")
	require.NoError(t, v.Close())
}

func closeIf(c interface{ Close() error }, err error) {
	if err == nil {
		_ = c.Close()
	}
}

// TestLockHolder claims an output and holds it until killed, for
// TestOutputLockedByAnotherProcess; run by itself it does nothing.
func TestLockHolder(t *testing.T) {
	out := os.Getenv(lockCaseEnv)
	if out == "" {
		return
	}
	v, err := NewVideo(VideoOptions{Path: out})
	require.NoError(t, err)
	fmt.Println("HOLDING")
	time.Sleep(time.Minute)
	_ = v.Close()
}

// killCaseEnv makes TestKilledWriter write a video for TestVideoSurvivesKill.
const killCaseEnv = "CONVEYOR_SINK_KILL"

// TestKilledWriter writes frames to a video and waits to be killed, for
// TestVideoSurvivesKill; run by itself it does nothing.
func TestKilledWriter(t *testing.T) {
	out := os.Getenv(killCaseEnv)
	if out == "" {
		return
	}
	v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{25}, Encode: EncoderOptions{Encoder: EncoderX264, Keyframe: 400 * time.Millisecond}})
	require.NoError(t, err)
	for i := int64(0); i < 100; i++ {
		f := frame(0, i, 160, 120)
		require.NoError(t, v.Write(context.Background(), f))
		f.Release()
	}
	fmt.Println("WROTE 100")
	time.Sleep(time.Minute)
}

// TestVideoSurvivesKill: a SIGKILL loses seconds, not the file, whether
// conveyor dies alone (its encoder finishes the file) or with its encoder
// (the fragments written stay playable); the next run on the same output
// recovers the file and says so.
func TestVideoSurvivesKill(t *testing.T) {
	for _, tc := range []struct {
		name      string
		encoder   bool // kill the encoder too
		atLeast   int
		recovered string
	}{
		{"conveyor alone", false, 100, "recovered"},
		{"conveyor and its encoder", true, 60, "recovered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.mp4")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKilledWriter$", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), killCaseEnv+"="+out)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			wrote := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if sc.Text() == "WROTE 100" {
						wrote <- true
					}
				}
				close(wrote)
			}()
			select {
			case ok := <-wrote:
				require.True(t, ok, "the writer failed")
			case <-ctx.Done():
				t.Fatal("the writer did not write in time")
			}
			children := childPids(cmd.Process.Pid)
			require.Len(t, children, 1, "one encoder process")
			if tc.encoder {
				require.NoError(t, syscall.Kill(children[0], syscall.SIGKILL))
			}
			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			// The encoder holds the output's lock until it has finished the
			// file: the next run waits for that.
			var v *Video
			var logged []string
			deadline := time.Now().Add(30 * time.Second)
			for {
				v, err = NewVideo(VideoOptions{Path: out, FPS: []float64{25}, Logf: func(f string, a ...any) {
					if l := fmt.Sprintf(f, a...); strings.Contains(l, "left by a run") { // not the encoder's note
						logged = append(logged, l)
					}
				}})
				if err == nil || !strings.Contains(err.Error(), "being written") || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			require.NoError(t, err)
			partial := partialPath(out)
			require.FileExists(t, partial, "the killed run's file is there")
			f := frame(0, 0, 160, 120)
			require.NoError(t, v.Write(context.Background(), f))
			f.Release()
			require.NoError(t, v.Close())
			require.Len(t, logged, 1)
			assert.Contains(t, logged[0], tc.recovered)
			matches, _ := filepath.Glob(filepath.Join(dir, "out.recovered-*.mp4"))
			require.Len(t, matches, 1, "the killed run's video is named: %v", logged)
			assert.Contains(t, logged[0], matches[0])
			n, w, _ := countFrames(t, matches[0])
			t.Logf("%d of 100 frames survived: %s", n, logged[0])
			assert.GreaterOrEqual(t, n, tc.atLeast, "frames that survived the kill")
			assert.Equal(t, 160, w)
			probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", matches[0]).Output()
			require.NoError(t, err)
			d, err := strconv.ParseFloat(strings.TrimSpace(string(probe)), 64)
			require.NoError(t, err)
			assert.InDelta(t, float64(n)/25, d, 0.1, "ffprobe reads its duration")
			n, _, _ = countFrames(t, out)
			assert.Equal(t, 1, n, "the new run's own file")
		})
	}
}

// childPids lists the children of pid.
func childPids(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestEncoderNames: every encoder and preset name reads back; bad ones,
// and an encoder this machine lacks, are clear errors.
func TestEncoderNames(t *testing.T) {
	for i, n := range encoderNames {
		var e Encoder
		require.NoError(t, e.UnmarshalText([]byte(n)))
		assert.Equal(t, Encoder(i), e)
		assert.Equal(t, n, e.String())
	}
	var e Encoder
	require.NoError(t, e.UnmarshalText([]byte("NVENC")))
	assert.Equal(t, EncoderNVENC, e)
	err := e.UnmarshalText([]byte("h265"))
	require.ErrorContains(t, err, `unknown encoder "h265": want auto, libx264`)
	var p Preset
	require.NoError(t, p.UnmarshalText([]byte("superfast")))
	assert.Equal(t, Superfast, p)
	require.ErrorContains(t, p.UnmarshalText([]byte("speedy")), "want ultrafast, superfast")

	bad := []struct {
		o    EncoderOptions
		want string
	}{
		{EncoderOptions{CRF: 52}, "encoder-crf: 52"},
		{EncoderOptions{Bitrate: -1}, "encoder-bitrate: -1"},
		{EncoderOptions{Tune: "fast"}, `encoder-tune: "fast"`},
		{EncoderOptions{Keyframe: -time.Second}, "keyframe-interval: -1s"},
		{EncoderOptions{Threads: 65}, "encoder-threads: 65"},
	}
	for _, b := range bad {
		require.ErrorContains(t, b.o.Validate(), b.want)
		_, err := NewVideo(VideoOptions{Path: filepath.Join(t.TempDir(), "x.mp4"), Encode: b.o})
		require.ErrorContains(t, err, b.want)
	}
	require.NoError(t, DefaultEncoderOptions().Validate())

	dir := t.TempDir()
	// This machine has no NVIDIA driver and no GPU render node.
	for _, want := range []Encoder{EncoderNVENC, EncoderVAAPI, EncoderJetson} {
		if ProbeEncoder(want) == nil {
			t.Logf("%s works here: not a missing encoder", want)
			continue
		}
		_, err := NewVideo(VideoOptions{Path: filepath.Join(dir, "x.mp4"), Encode: EncoderOptions{Encoder: want}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "encoder "+want.String()+": ")
		assert.Contains(t, err.Error(), "(found: ")
		assert.Contains(t, err.Error(), "libx264")
		assert.NoFileExists(t, filepath.Join(dir, "x.mp4"))
	}
	_, err = NewVideo(VideoOptions{Path: filepath.Join(dir, "x.avi"), Encode: EncoderOptions{Encoder: EncoderX264}})
	require.ErrorContains(t, err, "encoder libx264 writes .mp4, .m4v, .mov or .mkv")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing written, no lock left")
}

// TestVideoEncodersWrite: libx264 with its options, Matroska, and the
// Jetson pipeline (nvv4l2h264enc swapped for x264enc, which this machine
// has) each write a playable file of every frame.
func TestVideoEncodersWrite(t *testing.T) {
	x264enc := func(o EncoderOptions, size image.Point, fps float64) string {
		return fmt.Sprintf("x264enc speed-preset=%s key-int-max=%d", o.Preset, gop(o, fps))
	}
	for _, tc := range []struct {
		name   string
		ext    string
		o      EncoderOptions
		jetson bool
	}{
		{"libx264 superfast bitrate", ".mp4", EncoderOptions{Encoder: EncoderX264, Preset: Superfast, Bitrate: 300, Keyframe: time.Second}, false},
		{"libx264 zerolatency odd size", ".mov", EncoderOptions{Encoder: EncoderX264, Tune: "zerolatency", CRF: 30}, false},
		{"libx264 fragmented", ".mp4", EncoderOptions{Encoder: EncoderX264, Fragmented: true}, false},
		{"libx264 matroska", ".mkv", EncoderOptions{Encoder: EncoderX264}, false},
		{"jetson pipeline (x264enc)", ".mp4", EncoderOptions{Encoder: EncoderJetson}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.jetson {
				if _, err := exec.LookPath("gst-launch-1.0"); err != nil {
					t.Fatal("gst-launch-1.0 (Debian's gstreamer1.0-tools) is needed by this test")
				}
				old := jetsonEncoder
				jetsonEncoder = x264enc
				defer func() { jetsonEncoder = old }()
			}
			out := filepath.Join(t.TempDir(), "out"+tc.ext)
			var v *Video
			var err error
			if tc.jetson {
				// Not probed: the test swapped the element.
				v, err = NewVideo(VideoOptions{Path: out, FPS: []float64{20}})
				require.NoError(t, err)
				v.enc = EncoderJetson
				v.opts.Encode.Encoder = EncoderJetson
			} else {
				v, err = NewVideo(VideoOptions{Path: out, FPS: []float64{20}, Encode: tc.o})
				require.NoError(t, err)
			}
			w, h := 160, 120
			if strings.Contains(tc.name, "odd") {
				w, h = 161, 121
			}
			for i := int64(0); i < 30; i++ {
				f := frame(0, i, w, h)
				require.NoError(t, v.Write(context.Background(), f))
				f.Release()
			}
			require.NoError(t, v.Close())
			n, gw, gh := countFrames(t, out)
			assert.Equal(t, 30, n)
			assert.Equal(t, [2]int{w + w%2, h + h%2}, [2]int{gw, gh})
			fragmented, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format_tags=major_brand", "-of", "csv=p=0", out).Output()
			require.NoError(t, err)
			moof := hasBox(t, out, "moof")
			switch {
			case tc.ext == ".mkv":
			case tc.o.Fragmented:
				assert.True(t, moof, "kept fragmented")
			default:
				assert.False(t, moof, "a standard MP4: %s", fragmented)
				assert.True(t, moovFirst(t, out), "its index in front (faststart)")
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			assert.Len(t, entries, 1, "no partial or lock left")
		})
	}
}

// hasBox says whether an MP4 has a top-level box of this type.
func hasBox(t *testing.T, path, typ string) bool {
	t.Helper()
	for _, b := range topBoxes(t, path) {
		if b == typ {
			return true
		}
	}
	return false
}

func moovFirst(t *testing.T, path string) bool {
	t.Helper()
	for _, b := range topBoxes(t, path) {
		switch b {
		case "moov":
			return true
		case "mdat":
			return false
		}
	}
	return false
}

func topBoxes(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for off := 0; off+8 <= len(data); {
		size := int(uint32(data[off])<<24 | uint32(data[off+1])<<16 | uint32(data[off+2])<<8 | uint32(data[off+3]))
		out = append(out, string(data[off+4:off+8]))
		if size < 8 {
			break
		}
		off += size
	}
	return out
}

// pattern is a frame that compresses badly but is the same in every run.
func pattern(source int, n int64, w, h int) *pipeline.Frame {
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	data, _ := m.DataPtrUint8()
	x := uint32(n*2654435761 + 1)
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	return &pipeline.Frame{SourceID: source, Number: n, Image: m, Captured: time.Now()}
}

// TestVideoDiskFullAtTheEnd: a disk with room for the frames but not for
// the final standard MP4 fails the output too, and names where the frames
// are; ffmpeg itself exits 0 when the disk fills as it closes a file, so
// the file's frames are counted before it is called written.
func TestVideoDiskFullAtTheEnd(t *testing.T) {
	write := func(dir string, o EncoderOptions) (*Video, error) {
		v, err := NewVideo(VideoOptions{Path: filepath.Join(dir, "out.mp4"), FPS: []float64{25}, Encode: o})
		require.NoError(t, err)
		for i := int64(0); i < 40; i++ {
			f := pattern(0, i, 160, 120)
			err := v.Write(context.Background(), f)
			f.Release()
			if err != nil {
				v.Close()
				return v, err
			}
		}
		return v, v.Close()
	}
	o := EncoderOptions{Encoder: EncoderX264, Fragmented: true}
	ref := t.TempDir()
	_, err := write(ref, o)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(ref, "out.mp4"))
	require.NoError(t, err)

	dir := smallDisk(t, int(st.Size()*3/2))
	o.Fragmented = false
	v, err := write(dir, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rewriting it as a standard MP4")
	assert.Contains(t, err.Error(), "the frames written so far are in "+partialPath(filepath.Join(dir, "out.mp4")))
	assert.Empty(t, v.Files())
	assert.NoFileExists(t, filepath.Join(dir, "out.mp4"))
	n, err := countSamples(partialPath(filepath.Join(dir, "out.mp4")))
	require.NoError(t, err)
	assert.Equal(t, 40, n, "the frames are all in the partial file")
}

// TestCheckFrames: a file with fewer frames than were written, or cut
// short, is not a finished file.
func TestCheckFrames(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    EncoderOptions
		c    container
	}{
		{"fragmented", EncoderOptions{Encoder: EncoderX264, Fragmented: true}, mp4Fragmented},
		{"standard", EncoderOptions{Encoder: EncoderX264}, mp4Fragmented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".mp4")
			v, err := NewVideo(VideoOptions{Path: out, Encode: tc.o})
			require.NoError(t, err)
			for i := int64(0); i < 30; i++ {
				f := pattern(0, i, 64, 48)
				require.NoError(t, v.Write(context.Background(), f))
				f.Release()
			}
			require.NoError(t, v.Close())
			require.NoError(t, checkFrames(out, tc.c, false, 30))
			require.ErrorContains(t, checkFrames(out, tc.c, false, 31), "the file holds 30 of the 31 frames written")
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			cut := filepath.Join(dir, tc.name+"-cut.mp4")
			require.NoError(t, os.WriteFile(cut, data[:len(data)*2/3], 0o644))
			require.ErrorContains(t, checkFrames(cut, tc.c, false, 30), "the file is damaged")
		})
	}
}
