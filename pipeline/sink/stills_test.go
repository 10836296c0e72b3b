package sink

import (
	"bytes"
	"context"
	"image"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// mixedFolder makes a folder of pictures of different sizes and formats
// from the assets: the webcam still as JPEG (640x480), the large-face still
// shrunk to 300x400 as PNG, and a dlib photo as BMP (500x375).
func mixedFolder(t *testing.T) (dir string, sizes map[string][2]int) {
	t.Helper()
	dir = t.TempDir()
	sizes = map[string][2]int{}
	read := func(rel string) gocv.Mat {
		p, err := models.Asset(rel)
		require.NoError(t, err)
		m := gocv.IMRead(p, gocv.IMReadColor)
		require.False(t, m.Empty())
		return m
	}
	put := func(name string, m gocv.Mat) {
		require.True(t, gocv.IMWrite(filepath.Join(dir, name), m))
		sizes[name] = [2]int{m.Cols(), m.Rows()}
		m.Close()
	}
	put("webcam.jpg", read("media/images/gocv_face.jpg"))
	big := read("media/images/dlib_tom_cruise_large_face.jpg")
	small := gocv.NewMat()
	gocv.Resize(big, &small, image.Pt(300, 400), 0, 0, gocv.InterpolationArea)
	big.Close()
	put("portrait.png", small)
	put("group.bmp", read("media/eval/dlib_faces/2007_007763.jpg"))
	return dir, sizes
}

// magic names a file's format by its first bytes.
func magic(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(b, []byte("P6")):
		return "ppm"
	case bytes.HasPrefix(b, []byte("P5")):
		return "pgm"
	}
	return "unknown"
}

// runStills reads a folder through the camera package (as conveyor run
// does) into a Stills sink.
func runStills(t *testing.T, src string, out string) (*Stills, error) {
	t.Helper()
	s, err := NewStills(out)
	require.NoError(t, err)
	in, err := camera.Open(src, camera.Options{})
	require.NoError(t, err)
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var werr error
	for {
		f, err := in.Read(ctx)
		if err != nil {
			break
		}
		f.SourceName = src
		if werr == nil {
			werr = s.Write(ctx, f)
		}
		f.Release()
	}
	require.NoError(t, s.Close())
	return s, werr
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestStillsFolder: --out a folder writes each picture under its own name,
// in its own format, at its own size (a folder of mixed sizes is never
// stretched to one), and nothing else (no temporary file left).
func TestStillsFolder(t *testing.T) {
	before := pipelinetest.MatCount()
	in, sizes := mixedFolder(t)
	out := filepath.Join(t.TempDir(), "redacted") + "/" // created: its parent exists
	s, err := runStills(t, in, out)
	require.NoError(t, err)
	assert.Equal(t, 3, s.Written())
	assert.Equal(t, []string{"group.bmp", "portrait.png", "webcam.jpg"}, files(t, out))
	for name, sz := range sizes {
		p := filepath.Join(out, name)
		m := gocv.IMRead(p, gocv.IMReadColor)
		assert.Equal(t, sz, [2]int{m.Cols(), m.Rows()}, "%s keeps its size", name)
		m.Close()
	}
	assert.Equal(t, "jpeg", magic(t, filepath.Join(out, "webcam.jpg")))
	assert.Equal(t, "png", magic(t, filepath.Join(out, "portrait.png")))
	assert.Equal(t, "bmp", magic(t, filepath.Join(out, "group.bmp")))
	assert.Equal(t, before, pipelinetest.MatCount())
}

// TestStillsPattern: a %s pattern names each output after its input and
// takes the pattern's format.
func TestStillsPattern(t *testing.T) {
	in, sizes := mixedFolder(t)
	dir := t.TempDir()
	s, err := runStills(t, in, filepath.Join(dir, "%s-blurred.png"))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Written())
	assert.Equal(t, []string{"group-blurred.png", "portrait-blurred.png", "webcam-blurred.png"}, files(t, dir))
	for name, sz := range sizes {
		p := filepath.Join(dir, name[:len(name)-len(filepath.Ext(name))]+"-blurred.png")
		assert.Equal(t, "png", magic(t, p))
		m := gocv.IMRead(p, gocv.IMReadColor)
		assert.Equal(t, sz, [2]int{m.Cols(), m.Rows()})
		m.Close()
	}
}

// TestStillsOneFile: --out x.jpg takes one picture; a second is an error
// that says what to do.
func TestStillsOneFile(t *testing.T) {
	p, err := models.Asset("media/images/gocv_face.jpg")
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "one.png")
	s, err := runStills(t, p, out)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Written())
	assert.Equal(t, "png", magic(t, out))
	in, _ := mixedFolder(t)
	_, err = runStills(t, in, filepath.Join(t.TempDir(), "one.jpg"))
	assert.ErrorContains(t, err, "one file takes one picture")
}

// TestStillsRefusals: an output over its own input, two inputs with one
// output name, a bad pattern or a missing folder are errors.
func TestStillsRefusals(t *testing.T) {
	in, _ := mixedFolder(t)
	_, err := runStills(t, in, in+"/")
	assert.ErrorContains(t, err, "over its own input")
	// Two folders with a picture of the same name, into one folder.
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		data, err := os.ReadFile(filepath.Join(in, "webcam.jpg"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(d, "x.jpg"), data, 0o644))
	}
	out := t.TempDir()
	s, err := NewStills(out)
	require.NoError(t, err)
	ctx := context.Background()
	for i, d := range []string{a, b} {
		m := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
		f := &pipeline.Frame{SourceID: i, Image: m, User: map[string]any{"path": filepath.Join(d, "x.jpg")}}
		err = s.Write(ctx, f)
		f.Release()
	}
	assert.ErrorContains(t, err, "would both be written to")
	require.NoError(t, s.Close())

	for _, bad := range []struct{ path, want string }{
		{filepath.Join(t.TempDir(), "%s-%d.jpg"), "one %s"},
		{filepath.Join(t.TempDir(), "%s.mp3"), "unknown picture extension"},
		{filepath.Join(t.TempDir(), "%s", "x.jpg"), "in the file name"},
		{"/no/such/folder/", "no such file"},
		{"/no/such/x.jpg", "does not exist"},
	} {
		_, err := NewStills(bad.path)
		assert.ErrorContains(t, err, bad.want, bad.path)
	}
}

// TestStillsVideoFrames: frames that are not pictures are named after their
// source and number.
func TestStillsVideoFrames(t *testing.T) {
	out := t.TempDir()
	s, err := NewStills(out)
	require.NoError(t, err)
	for _, f := range []*pipeline.Frame{frame(0, 7, 32, 24), frame(1, 7, 32, 24)} {
		f.SourceName = "cams/door.mp4"
		require.NoError(t, s.Write(context.Background(), f))
		f.Release()
	}
	require.NoError(t, s.Close())
	assert.Equal(t, []string{"door-000007.jpg", "door-1-000007.jpg"}, files(t, out))
}

func TestIsStillsPath(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]bool{
		"out.mp4": false, "out.mkv": false, "x/out.avi": false,
		"out/": true, dir: true, "out/%s.jpg": true, "out.jpg": true, "OUT.PNG": true,
	} {
		assert.Equal(t, want, IsStillsPath(path), path)
	}
}
