package camera

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// pretend makes the probe of d pass (or fail with err) for one test.
func pretend(t *testing.T, d Decoder, err error) {
	t.Helper()
	old, had := decProbes.Set(d, err)
	t.Cleanup(func() {
		if had {
			decProbes.Set(d, old)
		} else {
			decProbes.Forget(d)
		}
	})
}

func TestDecoderNames(t *testing.T) {
	for i, n := range decoderNames {
		var d Decoder
		require.NoError(t, d.UnmarshalText([]byte(n)))
		assert.Equal(t, Decoder(i), d)
	}
	var d Decoder
	require.NoError(t, d.UnmarshalText([]byte("Jetson")))
	assert.Equal(t, DecoderNVV4L2, d)
	require.ErrorContains(t, d.UnmarshalText([]byte("nvdec2")), `unknown decoder "nvdec2": want auto, software, nvv4l2decoder, cuda, vaapi`)
	require.ErrorContains(t, Options{Decoder: 9}.Validate(), "decoder: Decoder(9): unknown")
}

// TestMissingDecoderIsAClearError: asking for a hardware decoder this
// machine lacks names what it lacks and what it has.
func TestMissingDecoderIsAClearError(t *testing.T) {
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	for _, d := range []Decoder{DecoderNVV4L2, DecoderCUDA, DecoderVAAPI} {
		if ProbeDecoder(d) == nil {
			t.Logf("%s: this machine has it", d)
			continue
		}
		src, err := Open(clip, Options{Decoder: d})
		require.Error(t, err, d.String())
		assert.Nil(t, src)
		assert.Contains(t, err.Error(), "decoder "+d.String()+": ")
		assert.Contains(t, err.Error(), "(found: ")
		assert.Contains(t, err.Error(), "software)")
	}
}

// decodeAll reads a source to its end and returns its frames' count, size,
// rate and the mean of its middle frame.
func decodeAll(t *testing.T, src pipeline.Source) (n int, size [2]int, fps float64, mean gocv.Scalar) {
	t.Helper()
	fps = src.Info().FPS
	for {
		f, err := src.Read(context.Background())
		if err != nil {
			require.ErrorIs(t, err, pipeline.ErrEndOfStream)
			return
		}
		if n == 20 {
			mean = f.Image.Mean()
		}
		n++
		size = [2]int{f.Image.Cols(), f.Image.Rows()}
		f.Release()
	}
}

// TestJetsonDecodePipeline runs the pipeline conveyor builds for Jetson's
// nvv4l2decoder with openh264dec in its place (this machine has no Jetson):
// it reads every frame, as software decoding does, repeats included.
func TestJetsonDecodePipeline(t *testing.T) {
	old := jetsonDecode
	jetsonDecode = "openh264dec ! videoconvert"
	t.Cleanup(func() { jetsonDecode = old })
	testDecodePath(t, DecoderNVV4L2)
}

// TestFFmpegDecodePipe runs FFmpeg's hardware decoding path (an ffmpeg
// process handing over I420 frames) with -hwaccel left out.
func TestFFmpegDecodePipe(t *testing.T) {
	old := hwaccelArgs
	hwaccelArgs = func(Decoder) []string { return nil }
	t.Cleanup(func() { hwaccelArgs = old })
	testDecodePath(t, DecoderCUDA)
}

func testDecodePath(t *testing.T, d Decoder) {
	before := pipelinetest.MatCount()
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	ref, err := Open(clip, Options{Decoder: DecoderSoftware})
	require.NoError(t, err)
	wantN, wantSize, wantFPS, wantMean := decodeAll(t, ref)
	require.NoError(t, ref.Close())
	require.Equal(t, 56, wantN)

	pretend(t, d, nil)
	src, err := Open(clip, Options{Decoder: d, Repeat: 2})
	require.NoError(t, err)
	assert.Equal(t, d, src.(*capture).Decoder())
	assert.Equal(t, 2*wantN, src.Info().Frames, "the frame count, from the container")
	n, size, fps, mean := decodeAll(t, src)
	require.NoError(t, src.Close())
	assert.Equal(t, 2*wantN, n)
	assert.Equal(t, wantSize, size)
	assert.InDelta(t, wantFPS, fps, 0.01)
	// The same picture, up to the YUV to BGR conversion's rounding.
	assert.InDelta(t, wantMean.Val1, mean.Val1, 3, "blue")
	assert.InDelta(t, wantMean.Val2, mean.Val2, 3, "green")
	assert.InDelta(t, wantMean.Val3, mean.Val3, 3, "red")
	assert.Equal(t, before, pipelinetest.MatCount())
}

// TestAutoFallsBackToSoftware: a hardware decoder that the machine seems
// to have but that fails (here: FFmpeg's CUDA decoding without a GPU) is
// passed over for software, in one log line.
func TestAutoFallsBackToSoftware(t *testing.T) {
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	pretend(t, DecoderNVV4L2, fmt.Errorf("not here"))
	pretend(t, DecoderCUDA, nil)
	pretend(t, DecoderVAAPI, fmt.Errorf("not here"))
	var lines []string
	src, err := Open(clip, Options{Logf: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }})
	require.NoError(t, err)
	defer src.Close()
	assert.Equal(t, DecoderSoftware, src.(*capture).Decoder())
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "decoder software (cuda failed: ")
	n, _, _, _ := decodeAll(t, src)
	assert.Equal(t, 56, n)
	assert.Len(t, lines, 1, "one line, not one per pass")

	// Asked for by name, it is an error.
	_, err = Open(clip, Options{Decoder: DecoderCUDA})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "source "+clip+": ", "ffmpeg's own reason follows")
}

// TestGStreamerPathIsQuoted: a file name cannot add elements to the
// pipeline conveyor builds.
func TestGStreamerPathIsQuoted(t *testing.T) {
	data, err := os.ReadFile(asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"))
	require.NoError(t, err)
	dir := t.TempDir()
	name := filepath.Join(dir, `a" ! filesink location="owned" x="b\.mp4`)
	require.NoError(t, os.WriteFile(name, data, 0o644))
	old := jetsonDecode
	jetsonDecode = "openh264dec ! videoconvert"
	t.Cleanup(func() { jetsonDecode = old })
	pretend(t, DecoderNVV4L2, nil)
	src, err := Open(name, Options{Decoder: DecoderNVV4L2})
	require.NoError(t, err)
	n, _, _, _ := decodeAll(t, src)
	require.NoError(t, src.Close())
	assert.Equal(t, 56, n)
	assert.NoFileExists(t, "owned", "no element added by the name")
	_ = os.Remove("owned")
	assert.True(t, strings.HasPrefix(gstPipeline(name, false), `filesrc location="`))
}
