//go:build tensorrt

package trt

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenYuNet needs TensorRT and a GPU; elsewhere (a link-check build
// against stub libraries, a machine without a GPU) it checks that the
// failure is a clear error and skips.
func TestOpenYuNet(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("no TensorRT GPU here: %v", err)
	}
	ctx := context.Background()
	e, err := Open(ctx, Options{BuildOptions: BuildOptions{ONNX: yunet(t), Precision: FP16, Batch: BatchRange{1, 2, 4},
		Shapes: []ShapeRange{{"input", []int64{1, 3, 320, 320}, []int64{2, 3, 640, 640}, []int64{4, 3, 640, 640}}}, CacheDir: t.TempDir()}})
	require.NoError(t, err)
	defer e.Close()
	assert.Len(t, e.Outputs(), 12)
}
