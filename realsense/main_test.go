package realsense

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireLibrary loads librealsense2 (REALSENSE_LIB, the usual sonames, or a
// pip-installed pyrealsense2) or fails the test saying how to install it.
// Only CONVEYOR_SKIP_REALSENSE=1 turns the failure into a skip.
func requireLibrary(t testing.TB) {
	t.Helper()
	if _, _, err := Version(); err != nil {
		if os.Getenv("CONVEYOR_SKIP_REALSENSE") == "1" {
			t.Skipf("CONVEYOR_SKIP_REALSENSE=1: %v", err)
		}
		t.Fatalf("%v\n(to run these tests: pip download --no-deps pyrealsense2, unzip the wheel, and point REALSENSE_LIB at its pyrealsense2 folder; or set CONVEYOR_SKIP_REALSENSE=1)", err)
	}
}

// checkMats fails the test if it leaves more (or fewer) Mats than it found;
// it counts only under -tags matprofile.
func checkMats(t *testing.T) {
	t.Helper()
	start := matCount()
	t.Cleanup(func() { assert.Equal(t, start, matCount(), "Mats leaked") })
}
