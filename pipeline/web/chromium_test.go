package web

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's chromium (or Google's build) on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: apt-get install chromium (the page test needs a real headless browser)")
	return ""
}

// artifacts is where the screenshot is kept: $CONVEYOR_ARTIFACTS, or the
// test's temp dir.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CONVEYOR_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// TestPageInChromium loads the page in headless Chromium while two pattern
// sources run, and checks the screenshot: the live stream shows the
// pattern's colour bars (pure cyan, magenta and yellow, which the page's
// own style never uses), and the stats table was filled in.
func TestPageInChromium(t *testing.T) {
	browser := chromium(t)
	r := startLine(t, Options{Title: "chromium test"},
		"pattern://?width=640&height=480&fps=25&frames=-1",
		"pattern://?width=320&height=240&fps=15&frames=-1")
	eventually(t, 10*time.Second, "frames", func() bool { return r.srv.Health().Status == "ok" })

	shot := filepath.Join(artifacts(t), "web-page.png")
	_ = os.Remove(shot)
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir="+profile, "--screenshot="+shot, "--window-size=1280,800",
		"--virtual-time-budget=10000", r.srv.URL())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chromium: %s", out)
	t.Logf("screenshot: %s", shot)

	fh, err := os.Open(shot)
	require.NoError(t, err, "chromium wrote no screenshot: %s", out)
	defer fh.Close()
	img, err := png.Decode(fh)
	require.NoError(t, err)
	b := img.Bounds()
	require.Equal(t, image.Pt(1280, 800), b.Size())

	// Count the pattern's saturated bar colours, and the spread of
	// brightness in the stream's half of the page.
	bars := map[string]int{}
	var sum, sum2, n float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X*2/3; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			hi := func(v uint32) bool { return v > 200 }
			lo := func(v uint32) bool { return v < 60 }
			switch {
			case lo(r) && hi(g) && hi(bl):
				bars["cyan"]++
			case hi(r) && lo(g) && hi(bl):
				bars["magenta"]++
			case hi(r) && hi(g) && lo(bl):
				bars["yellow"]++
			}
			l := float64(r+g+bl) / 3
			sum += l
			sum2 += l * l
			n++
		}
	}
	mean := sum / n
	variance := sum2/n - mean*mean
	t.Logf("bar pixels %v, brightness variance %.0f", bars, variance)
	for _, c := range []string{"cyan", "magenta", "yellow"} {
		assert.Greater(t, bars[c], 2000, "the stream shows the pattern's %s bar", c)
	}
	assert.Greater(t, variance, 500.0, "the stream area is not blank")
	assert.Greater(t, r.srv.Sink().Stats().Encoded, int64(0))
}

// TestPageFollowsSourcesInChromium loads the page in headless Chromium with
// the source API on, one live source running and one that has ended, and
// reads the DOM the page's script built: the add form is shown, there is a
// tab for the running source only (one running source: no tiled tab), and
// the table lists both, with a remove button for the running one only.
func TestPageFollowsSourcesInChromium(t *testing.T) {
	browser := chromium(t)
	a := startAPI(t, true, "pattern://?width=320&height=240&fps=25&frames=-1", "pattern://?width=64&height=48&fps=0&frames=3")
	eventually(t, 10*time.Second, "source 1 ended", func() bool { return stateOf(a.list(t), 1) == meta.SourceEnded })
	eventually(t, 10*time.Second, "source 1 gone from the sink", func() bool { return a.srv.Sink().feedCount() <= 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", a.srv.URL())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	dom := string(out)

	assert.Contains(t, dom, `<section class="panel" id="api">`, "the add form is shown (not hidden)")
	assert.Contains(t, dom, `<form id="add">`)
	assert.Contains(t, dom, `<button data-view="0" class="on">Source 0</button>`)
	assert.NotContains(t, dom, `data-view="1"`, "no tab for the ended source")
	assert.NotContains(t, dom, `data-view="all"`, "one running source: no tiled view")
	assert.Contains(t, dom, `data-remove="0"`)
	assert.NotContains(t, dom, `data-remove="1"`)
	assert.Regexp(t, `<td class="gone"[^>]*>ended</td>`, dom)
	assert.Contains(t, dom, `<img alt="source 0" id="stream" src="/stream/0">`)
}
