package trt

import (
	"fmt"
	"os"
)

// readTimingCache reads a timing cache file; a missing or empty one is no
// cache (nil), not an error.
func readTimingCache(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errNotExist(err) {
		return nil, fmt.Errorf("trt: build: timing cache: %w", err)
	}
	return b, nil
}

// updateTimingCache stores what a build did with the timing cache at path.
// fresh, the cache the build ended with, replaces the file. When TensorRT
// refused the file or the build failed with it (rejected: made by another
// TensorRT version or GPU; the shim built again without it), it
// says so once through logf and, if the build left no new cache (it
// failed), removes the file, so that no later build trips on it again. A
// timing cache only saves time: failing to write it is logged, not fatal.
func updateTimingCache(path string, rejected bool, fresh []byte, logf func(format string, args ...any)) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if rejected {
		logf("trt: timing cache %s was refused (made by another TensorRT or GPU): replaced by a new one", path)
	}
	if len(fresh) > 0 {
		if err := writeAtomic(path, fresh); err != nil {
			logf("trt: timing cache not saved: %v", err)
		}
		return
	}
	if rejected {
		if err := os.Remove(path); err != nil && !errNotExist(err) {
			logf("trt: timing cache: %v", err)
		}
	}
}
