package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Asset returns the path of a bundled asset (a model or a sample clip) given
// its path inside the assets folder, e.g. "models/yunet/face_detection_yunet_2022mar.onnx".
//
// The folder is $CONVEYOR_ASSETS when set, else the assets/ folder of the
// checkout that contains the working directory (found by walking up to
// go.mod). scripts/fetch-assets.sh (make assets) fills it.
func Asset(rel string) (string, error) {
	dir, err := assetsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("asset %s not found in %s: run make assets (scripts/fetch-assets.sh)", rel, dir)
	}
	return p, nil
}

func assetsDir() (string, error) {
	if d := os.Getenv("CONVEYOR_ASSETS"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "assets"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("assets folder not found: set CONVEYOR_ASSETS or run from the conveyor checkout")
		}
	}
}
