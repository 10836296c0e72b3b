package models

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDynamicInput(t *testing.T) {
	for _, rel := range []string{
		"models/yunet/face_detection_yunet_2022mar.onnx",
		"models/yunet/face_detection_yunet_2023mar.onnx",
		"models/ultraface/version-RFB-320.onnx",
	} {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			b, err := os.ReadFile(assetPath(t, rel))
			require.NoError(t, err)
			before, err := ParseONNX(b)
			require.NoError(t, err)
			d, err := DynamicInput(b, "input")
			require.NoError(t, err)
			after, err := ParseONNX(d)
			require.NoError(t, err)

			require.Len(t, after.Inputs, 1)
			want := append([]int(nil), before.Inputs[0].Shape[:2]...)
			assert.Equal(t, append(want, -1, -1), after.Inputs[0].Shape, "height and width become dynamic, batch and channels stay")
			assert.Equal(t, before.OutputNames(), after.OutputNames())
			for i, o := range after.Outputs {
				assert.Len(t, o.Shape, len(before.Outputs[i].Shape), "output %s keeps its rank", o.Name)
				for _, d := range o.Shape {
					assert.Equal(t, -1, d, "output %s: the shape computed for the exported size is gone", o.Name)
				}
			}
			assert.Equal(t, before.IRVersion, after.IRVersion)
			assert.Equal(t, before.Opset, after.Opset)
			// The weights are copied byte for byte: the file's size
			// changes only by the shapes edited and dropped.
			assert.InDelta(t, len(b), len(d), float64(len(b))/10)

			// Idempotent: a second edit changes nothing.
			d2, err := DynamicInput(d, "input")
			require.NoError(t, err)
			assert.True(t, bytes.Equal(d, d2))
		})
	}
}

func TestDynamicInputErrors(t *testing.T) {
	b, err := os.ReadFile(assetPath(t, "models/yunet/face_detection_yunet_2022mar.onnx"))
	require.NoError(t, err)
	_, err = DynamicInput(b, "image")
	assert.ErrorIs(t, err, ErrBadModel)
	assert.ErrorContains(t, err, `no 4-dimensional input "image"`)
	_, err = DynamicInput(b[:len(b)/2], "input")
	assert.ErrorIs(t, err, ErrBadModel)
	_, err = DynamicInput([]byte("not a model"), "input")
	assert.ErrorIs(t, err, ErrBadModel)
}

func FuzzDynamicInput(f *testing.F) {
	f.Add([]byte{0x3a, 0x02, 0x5a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DynamicInput(b, "input")
		if err != nil {
			return
		}
		_, _ = ParseONNX(d)
	})
}
