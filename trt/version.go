package trt

import "fmt"

// Version is a TensorRT library version. Build is the fourth number
// (10.3.0.26): TensorRT 10+ reports it at run time
// (getInferLibBuildVersion); on 8.x it is 0, unknown.
type Version struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
	Build int `json:"build,omitempty"`
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

// String returns "major.minor.patch", with ".build" when it is known.
func (v Version) String() string {
	if v.Build > 0 {
		return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, v.Build)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Supported reports whether the shim supports this version: 8.5 and 8.6
// (JetPack 5.1, 6.0), 10.x (JetPack 6.1+, x86) and 11.x, the major
// versions whose headers it was compiled against (docs/TENSORRT.md). 8.4
// lacks the name-based I/O API and enqueueV3; 9.x was a preview for large
// language models; 12 and later are newer than this code.
func (v Version) Supported() error {
	switch {
	case v.Major < 8 || (v.Major == 8 && v.Minor < 5):
		return fmt.Errorf("trt: TensorRT %s is too old: conveyor needs 8.5 or newer (JetPack 5.1+)", v)
	case v.Major == 9:
		return fmt.Errorf("trt: TensorRT %s is not supported: conveyor runs on 8.5/8.6, 10.x and 11.x", v)
	case v.Major > 11:
		return fmt.Errorf("trt: TensorRT %s is newer than this conveyor knows (8.5 to 11.x): update conveyor", v)
	}
	return nil
}

// CheckLibrary compares the TensorRT that conveyor was compiled against
// (the headers) with the library loaded at run time. The C++ API is a set
// of virtual tables, so the library must be the headers' major version and
// at least their minor version: a call the headers know but an older
// library lacks would jump into the wrong function. A newer minor, patch or
// build is fine.
func CheckLibrary(headers, lib Version) error {
	rebuild := "rebuild conveyor here against the TensorRT installed (make trt)"
	if lib.Major != headers.Major {
		return fmt.Errorf("trt: conveyor was built against TensorRT %s but libnvinfer %s is loaded: %s", headers, lib, rebuild)
	}
	if lib.Minor < headers.Minor {
		return fmt.Errorf("trt: libnvinfer %s is older than the TensorRT %s headers conveyor was built against: %s, or install TensorRT %d.%d or newer", lib, headers, rebuild, headers.Major, headers.Minor)
	}
	return nil
}
