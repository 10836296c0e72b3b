package models

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckoutRoot(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	conv := filepath.Join(dir, "conveyor")
	require.NoError(t, os.MkdirAll(filepath.Join(other, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(conv, "pipeline", "infer"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(conv, "go.mod"), []byte("// conveyor\nmodule "+modulePath+"\n\ngo 1.22\n"), 0o644))

	root, ok := checkoutRoot(filepath.Join(conv, "pipeline", "infer"))
	assert.True(t, ok)
	assert.Equal(t, conv, root)
	_, ok = checkoutRoot(filepath.Join(other, "sub"))
	assert.False(t, ok, "another project's go.mod is not a conveyor checkout")
	assert.Equal(t, "x.org/y", moduleOf([]byte("module \"x.org/y\"\n")))
	assert.Equal(t, "", moduleOf([]byte("go 1.22\n")))
}

// TestAssetOutsideTheCheckout: a binary started in another project's
// folder, as an installed one is, finds the default model embedded in it;
// without CONVEYOR_ASSETS and a copy on disk nothing else is found, and the
// error says what to do.
func TestAssetOutsideTheCheckout(t *testing.T) {
	model := []byte("not really an onnx model")
	saved := bundled
	t.Cleanup(func() { bundled = saved })
	bundled = fstest.MapFS{"bundled/face_detection_yunet_2022mar.onnx": {Data: model, Mode: 0o644}}

	elsewhere := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "go.mod"), []byte("module example.com/other\n"), 0o644))
	t.Chdir(elsewhere)
	t.Setenv("CONVEYOR_ASSETS", "")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)

	assert.True(t, BundledModel())
	p, err := Asset(DefaultModel)
	require.NoError(t, err)
	sum := sha256.Sum256(model)
	assert.Equal(t, filepath.Join(cache, "conveyor", "models", hex.EncodeToString(sum[:8]), "face_detection_yunet_2022mar.onnx"), p)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, model, got)

	// A damaged copy in the cache is written again.
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	p2, err := Asset(DefaultModel)
	require.NoError(t, err)
	assert.Equal(t, p, p2)
	got, _ = os.ReadFile(p)
	assert.Equal(t, model, got)

	// Only the default model is embedded.
	_, err = Asset("media/video/head-pose-face-detection-female-and-male.mp4")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make install")
	assert.Contains(t, err.Error(), "/usr/local/share/conveyor")

	// A binary built without the copy (plain go build) says what to do.
	bundled = fstest.MapFS{"bundled/README.md": {Data: []byte("#")}}
	assert.False(t, BundledModel())
	_, err = Asset(DefaultModel)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CONVEYOR_ASSETS")
}

func TestAssetFromConveyorAssets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "models", "yunet"), 0o755))
	want := filepath.Join(dir, DefaultModel)
	require.NoError(t, os.WriteFile(want, []byte("onnx"), 0o644))
	t.Setenv("CONVEYOR_ASSETS", dir)
	p, err := Asset(DefaultModel)
	require.NoError(t, err)
	assert.Equal(t, want, p)
	_, err = Asset("models/none.onnx")
	assert.ErrorContains(t, err, "not found in CONVEYOR_ASSETS="+dir)
}

func TestAssetInTheCheckout(t *testing.T) {
	t.Setenv("CONVEYOR_ASSETS", "")
	p, err := Asset(DefaultModel)
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, ok := checkoutRoot(wd)
	require.True(t, ok, "the tests run inside the checkout")
	assert.Equal(t, filepath.Join(root, "assets", DefaultModel), p)
}
