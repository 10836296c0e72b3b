package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// TestConfigDocIsTrue loads the example in docs/CONFIG.md: every key must
// exist, every value be valid, and the values (but the source) be the
// defaults.
func TestConfigDocIsTrue(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIG.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "docs/CONFIG.md has a yaml block")
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, m[1], 0o644))

	set := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range runFlags() {
		require.NoError(t, f.Apply(set))
	}
	require.NoError(t, set.Parse([]string{"--config", path}))
	cfg, err := loadConfig(cli.NewContext(newApp(), set, nil))
	require.NoError(t, err)
	want := defaultConfig()
	want.Sources = []string{"assets/media/video/head-pose-face-detection-female-and-male.mp4"}
	assert.Equal(t, want, cfg)
}
