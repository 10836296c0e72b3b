package trt

import "fmt"

// Version is a TensorRT library version.
type Version struct {
	Major, Minor, Patch int
}

// DecodeVersion decodes the value returned by getInferLibVersion(). The
// encoding changed in TensorRT 10: 8.x returns major*1000 + minor*100 +
// patch (8.5.2 → 8502), 10.x returns (major*100 + minor)*100 + patch
// (10.3.0 → 100300). Any value of 10000 or more is in the new format.
func DecodeVersion(v int32) (Version, error) {
	if v <= 0 {
		return Version{}, fmt.Errorf("trt: invalid library version %d", v)
	}
	if v >= 10000 {
		return Version{Major: int(v / 10000), Minor: int(v / 100 % 100), Patch: int(v % 100)}, nil
	}
	return Version{Major: int(v / 1000), Minor: int(v / 100 % 10), Patch: int(v % 100)}, nil
}

// String returns "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Supported reports whether the shim supports this version: 8.5 or newer
// (8.4 lacks the name-based I/O API and enqueueV3).
func (v Version) Supported() error {
	if v.Major < 8 || (v.Major == 8 && v.Minor < 5) {
		return fmt.Errorf("trt: TensorRT %s is too old: conveyor needs 8.5 or newer (JetPack 5.1+)", v)
	}
	return nil
}
