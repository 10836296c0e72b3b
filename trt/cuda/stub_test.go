//go:build !cuda

package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStubSaysHowToBuild(t *testing.T) {
	_, err := Malloc(16)
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = NewStream()
	assert.ErrorIs(t, err, ErrNotBuilt)
	_, err = DeviceName(0)
	assert.ErrorIs(t, err, ErrNotBuilt)
	assert.ErrorIs(t, PreprocessAsync(nil, nil, nil, 1, Preprocess{}), ErrNotBuilt)
	_, err = HostAlloc(16)
	assert.ErrorIs(t, err, ErrNotBuilt)
	assert.ErrorIs(t, UploadAsync(StreamFrom(nil), nil, nil, 1), ErrNotBuilt)
	px := &Pixelator{}
	assert.ErrorIs(t, px.PixelateAsync(nil, nil, 1, 1, 3, nil, 8), ErrNotBuilt)
	assert.Contains(t, ErrNotBuilt.Error(), "-tags cuda")
}
