package models

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// modulePath is conveyor's module: only a go.mod that declares it marks a
// conveyor checkout.
const modulePath = "github.com/conveyor-vision/conveyor"

// bundled holds DefaultModel when the binary was built by make (build, trt,
// jetson): the Makefile copies it from assets/ into the git-ignored
// models/bundled/ before compiling. A plain `go build` of a checkout without
// that copy embeds only bundled/README.md, and Asset then needs the model
// on disk.
//
//go:embed bundled
var bundledFS embed.FS

// bundled is bundledFS; a variable so that tests can stand in another.
var bundled fs.FS = bundledFS

// Asset returns the path of a bundled asset (a model or a sample clip) given
// its path inside the assets folder, e.g. "models/yunet/face_detection_yunet_2022mar.onnx".
// It looks, in order, in:
//
//  1. $CONVEYOR_ASSETS, when set (and only there);
//  2. the assets/ folder of the conveyor checkout that contains the working
//     directory (found by walking up to a go.mod declaring conveyor's
//     module; scripts/fetch-assets.sh, make assets, fills it);
//  3. share/conveyor beside the executable's folder (/usr/local/bin/conveyor
//     → /usr/local/share/conveyor, where make install and
//     scripts/install-service.sh put the model), then /usr/local/share/conveyor
//     and /usr/share/conveyor;
//  4. for DefaultModel only, the copy embedded in the binary, written once
//     to the user's cache folder ($XDG_CACHE_HOME/conveyor/models, or the
//     temporary folder) so that OpenCV and TensorRT can read it as a file.
//
// So an installed or copied binary runs with its default model wherever it
// is started.
func Asset(rel string) (string, error) {
	if d := os.Getenv("CONVEYOR_ASSETS"); d != "" {
		p := filepath.Join(d, rel)
		if regular(p) {
			return p, nil
		}
		return "", fmt.Errorf("asset %s not found in CONVEYOR_ASSETS=%s: run make assets (scripts/fetch-assets.sh) or point CONVEYOR_ASSETS at a folder that has it", rel, d)
	}
	dirs := assetDirs()
	for _, d := range dirs {
		if p := filepath.Join(d, rel); regular(p) {
			return p, nil
		}
	}
	if rel == DefaultModel {
		p, err := bundledModel()
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("asset %s not found (looked in %s): in a checkout run make assets; elsewhere install conveyor (make install) or set CONVEYOR_ASSETS", rel, strings.Join(dirs, ", "))
}

// assetDirs are the folders Asset searches without CONVEYOR_ASSETS.
func assetDirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		if root, ok := checkoutRoot(wd); ok {
			dirs = append(dirs, filepath.Join(root, "assets"))
		}
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), "share", "conveyor"))
	}
	for _, d := range []string{"/usr/local/share/conveyor", "/usr/share/conveyor"} {
		if len(dirs) == 0 || dirs[len(dirs)-1] != d {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// checkoutRoot walks up from dir to the folder whose go.mod declares
// conveyor's module; another project's go.mod does not count.
func checkoutRoot(dir string) (string, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && moduleOf(b) == modulePath {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// moduleOf reads the module path from go.mod's bytes ("" if none).
func moduleOf(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

func regular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// BundledModel reports whether this binary embeds DefaultModel.
func BundledModel() bool {
	_, err := fs.Stat(bundled, bundledPath())
	return err == nil
}

func bundledPath() string { return "bundled/" + filepath.Base(DefaultModel) }

// bundledModel writes the embedded DefaultModel to the cache (once; the
// file name carries the bytes' sha256, so another build's copy never
// stands in for this one) and returns its path. fs.ErrNotExist when the
// binary has none.
func bundledModel() (string, error) {
	b, err := fs.ReadFile(bundled, bundledPath())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "conveyor", "models", hex.EncodeToString(sum[:8]))
	p := filepath.Join(dir, filepath.Base(DefaultModel))
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bundled model: %w", err)
	}
	f, err := os.CreateTemp(dir, ".model-*")
	if err != nil {
		return "", fmt.Errorf("bundled model: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("bundled model: %w", err)
	}
	return p, nil
}
