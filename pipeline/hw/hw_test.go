package hw

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMemo(t *testing.T) {
	var m Memo[string]
	var calls atomic.Int32
	probe := func(k string) error {
		calls.Add(1)
		if k == "bad" {
			return errors.New("missing")
		}
		return nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, m.Get("good", probe))
			assert.EqualError(t, m.Get("bad", probe), "missing")
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(2), calls.Load(), "one probe per key")

	old, had := m.Set("good", errors.New("failed on a source"))
	assert.True(t, had)
	assert.NoError(t, old)
	assert.EqualError(t, m.Get("good", probe), "failed on a source")
	m.Forget("good")
	assert.NoError(t, m.Get("good", probe))
	assert.Equal(t, int32(3), calls.Load())
	_, had = m.Set("new", nil)
	assert.False(t, had)
}

// TestProbesOnThisMachine: the answers agree with the files they look at
// (this test runs on machines with and without the hardware).
func TestProbesOnThisMachine(t *testing.T) {
	_, err := os.Stat(TegraRelease)
	if err != nil {
		assert.ErrorContains(t, Jetson(), "not a Jetson")
		assert.ErrorContains(t, GstElement("nvv4l2decoder"), "not a Jetson", "no GStreamer asked off a Jetson")
	} else {
		assert.NoError(t, Jetson())
	}
	_, err = os.Stat("/dev/nvidiactl")
	assert.Equal(t, err == nil, NVIDIADriver() == nil)
	assert.Equal(t, RenderNode() == "", NoRenderNode() != nil)
}
