package camera

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// link copies an asset to dir/name.
func copyAsset(t *testing.T, rel, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(asset(t, rel))
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// TestExistingFileIsAFile: a file whose name has glob characters, or is a
// number, opens as that file (issue 13, item 10); a name that does not
// exist keeps its old meaning (a glob, a camera).
func TestExistingFileIsAFile(t *testing.T) {
	before := pipelinetest.MatCount()
	dir := t.TempDir()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for _, name := range []string{"clip [1].mp4", "what?.mp4", "a*b.mp4", "2024"} {
		t.Run(name, func(t *testing.T) {
			p := copyAsset(t, "media/video/head-pose-face-detection-female-and-male.mp4", dir, name)
			// In a file:// URI a ? must be written %3F (URL syntax).
			for _, uri := range []string{p, (&url.URL{Scheme: "file", Path: p}).String()} {
				src, err := Open(uri, Options{})
				require.NoError(t, err, uri)
				numbers, _, w, h := readAll(t, src, 1000)
				require.NoError(t, src.Close())
				assert.Len(t, numbers, 56, "%s: the clip's 56 frames", uri)
				assert.Equal(t, [2]int{480, 270}, [2]int{w, h})
			}
		})
	}
	// A bare number that is a file in the working folder is that file.
	require.NoError(t, os.Chdir(dir))
	t.Cleanup(func() { _ = os.Chdir(wd) })
	src, err := Open("2024", Options{})
	require.NoError(t, err)
	numbers, _, _, _ := readAll(t, src, 1000)
	require.NoError(t, src.Close())
	assert.Len(t, numbers, 56, "./2024 is the clip, not /dev/video2024")
	// Names that exist nowhere keep their meaning.
	_, err = Open("2025", Options{})
	assert.ErrorContains(t, err, "no such camera /dev/video2025")
	_, err = Open(filepath.Join(dir, "nothing?.mp4"), Options{})
	assert.ErrorContains(t, err, "no images found")
	assert.Equal(t, before, pipelinetest.MatCount())
}

// TestGlobWithBrackets: a glob still works, and a file whose name has glob
// characters is found by a glob too.
func TestGlobWithBrackets(t *testing.T) {
	dir := t.TempDir()
	copyAsset(t, "media/images/gocv_face.jpg", dir, "a [1].jpg")
	copyAsset(t, "media/images/gocv_face.jpg", dir, "b.jpg")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.jpg"), 0o755)) // a folder is not an image
	src, err := Open(filepath.Join(dir, "*.jpg"), Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, src.Info().Frames)
	numbers, _, _, _ := readAll(t, src, 10)
	require.NoError(t, src.Close())
	assert.Len(t, numbers, 2)
	// The bracketed file alone, by its name.
	src, err = Open(filepath.Join(dir, "a [1].jpg"), Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, src.Info().Frames)
	require.NoError(t, src.Close())
}

// TestSingleImageReadsLikeAFolder: one image given by name gives the same
// pixels as OpenCV's image reader (as the same image in a folder does),
// not FFmpeg's decoding of it as a one-frame video, and its path travels
// with the frame (the stills sink names its output by it).
func TestSingleImageReadsLikeAFolder(t *testing.T) {
	before := pipelinetest.MatCount()
	for _, rel := range []string{"media/images/gocv_face.jpg", "media/eval/dlib_faces/2008_001009.jpg"} {
		p := asset(t, rel)
		want := gocv.IMRead(p, gocv.IMReadColor)
		src, err := Open(p, Options{})
		require.NoError(t, err)
		assert.Equal(t, 1, src.Info().Frames)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		f, err := src.Read(ctx)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, p, f.User["path"])
		diff := gocv.NewMat()
		gocv.AbsDiff(f.Image, want, &diff)
		gray := gocv.NewMat()
		gocv.CvtColor(diff, &gray, gocv.ColorBGRToGray)
		assert.Zero(t, gocv.CountNonZero(gray), "%s: pixels differ from OpenCV's image reader", rel)
		gray.Close()
		diff.Close()
		want.Close()
		f.Release()
		_, err = src.Read(context.Background())
		assert.Error(t, err, "one frame")
		require.NoError(t, src.Close())
	}
	// A file with an image's name that is not an image: a clear error.
	bad := filepath.Join(t.TempDir(), "x.jpg")
	require.NoError(t, os.WriteFile(bad, []byte("not a jpeg"), 0o644))
	_, err := Open(bad, Options{})
	assert.ErrorContains(t, err, "not an image OpenCV can read")
	assert.Equal(t, before, pipelinetest.MatCount())
}
