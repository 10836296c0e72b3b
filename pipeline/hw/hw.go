// Package hw answers what hardware this machine has for video: a Jetson, an
// NVIDIA driver, a GPU render node (VA-API), a GStreamer element. camera
// asks it before choosing a hardware decoder, pipeline/sink before choosing
// a hardware encoder. Probes look at files and run at most a
// gst-inspect-1.0; their answers are cached for the process (Memo), since
// the hardware does not change while conveyor runs.
//
// Threading: everything here is safe for concurrent use.
package hw

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// TegraRelease is there on every Jetson (L4T).
const TegraRelease = "/etc/nv_tegra_release"

// ProbeTimeout bounds one external probe (gst-inspect-1.0 can take seconds
// to scan its plugins the first time).
const ProbeTimeout = 20 * time.Second

// Jetson says whether this is a Jetson: nil, or why not.
func Jetson() error {
	if _, err := os.Stat(TegraRelease); err != nil {
		return errors.New("not a Jetson (no " + TegraRelease + ")")
	}
	return nil
}

// NVIDIADriver says whether an NVIDIA driver is loaded: nil, or why not.
func NVIDIADriver() error {
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		return errors.New("no NVIDIA driver (/dev/nvidiactl)")
	}
	return nil
}

// RenderNode is the first GPU render node (/dev/dri/renderD*), "" if none.
func RenderNode() string {
	m, _ := filepath.Glob("/dev/dri/renderD*")
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// NoRenderNode is RenderNode's answer as an error: nil when there is one.
func NoRenderNode() error {
	if RenderNode() == "" {
		return errors.New("no GPU render node (/dev/dri/renderD*)")
	}
	return nil
}

// GstElement says whether GStreamer has the element (gst-inspect-1.0
// --exists): nil, or why not. It asks GStreamer only on a Jetson, where
// the elements conveyor asks for (nvv4l2decoder, nvv4l2h264enc) live: on
// another machine it says so at once.
func GstElement(name string) error {
	if err := Jetson(); err != nil {
		return err
	}
	if _, err := exec.LookPath("gst-inspect-1.0"); err != nil {
		return errors.New("no gst-inspect-1.0 (install gstreamer1.0-tools)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	if err := exec.CommandContext(ctx, "gst-inspect-1.0", "--exists", name).Run(); err != nil {
		return errors.New("no GStreamer element " + name + " (not a Jetson)")
	}
	return nil
}

// Memo caches one probe's answer per key for the process. The zero value
// is ready to use.
type Memo[K comparable] struct {
	mu  sync.Mutex
	got map[K]error
}

// Get returns the cached answer for k, probing (under the lock, so one
// probe per key runs) the first time.
func (m *Memo[K]) Get(k K, probe func(K) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, ok := m.got[k]; ok {
		return err
	}
	err := probe(k)
	m.set(k, err)
	return err
}

// Set records an answer learnt otherwise (a hardware decoder that failed
// on a real source) and returns the one it replaced, if any.
func (m *Memo[K]) Set(k K, err error) (old error, had bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had = m.got[k]
	m.set(k, err)
	return old, had
}

// Forget drops k's answer: the next Get probes again.
func (m *Memo[K]) Forget(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.got, k)
}

func (m *Memo[K]) set(k K, err error) {
	if m.got == nil {
		m.got = map[K]error{}
	}
	m.got[k] = err
}
