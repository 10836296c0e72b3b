package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

const configDoc = "../../docs/CONFIG.md"

// parseRun parses args as `conveyor run`'s flags and loads the config.
func parseRun(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range runFlags() {
		require.NoError(t, f.Apply(set))
	}
	require.NoError(t, set.Parse(args))
	return loadConfig(cli.NewContext(newApp(), set, nil))
}

// TestConfigDocIsTrue loads the example in docs/CONFIG.md: every key must
// exist, every value be valid, and the values (but the source) be the
// defaults; and every option must be in it.
func TestConfigDocIsTrue(t *testing.T) {
	doc, err := os.ReadFile(configDoc)
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "docs/CONFIG.md has a yaml block")
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, m[1], 0o644))

	cfg, err := parseRun(t, "--config", path)
	require.NoError(t, err)
	want := defaultConfig()
	want.Run.Sources = []string{"assets/media/video/head-pose-face-detection-female-and-male.mp4"}
	assert.Equal(t, want, cfg)

	d := defaultConfig()
	for _, o := range options(&d) {
		assert.Regexp(t, "(?m)^"+regexp.QuoteMeta(o.name)+":", string(m[1]), "the example has every option")
	}
}

// TestConfigDocListsEveryOption: the option table of docs/CONFIG.md is
// made from the declarations. UPDATE_CONFIG_DOC=1 rewrites it.
func TestConfigDocListsEveryOption(t *testing.T) {
	doc, err := os.ReadFile(configDoc)
	require.NoError(t, err)
	const begin, end = "<!-- options:begin (generated from the Options declarations: UPDATE_CONFIG_DOC=1 go test -run TestConfigDocListsEveryOption ./cmd/conveyor) -->\n", "<!-- options:end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	table := optionTable()
	if os.Getenv("UPDATE_CONFIG_DOC") != "" {
		require.True(t, i >= 0 && j > i, "the markers are in docs/CONFIG.md")
		out := string(doc[:i+len(begin)]) + table + string(doc[j:])
		require.NoError(t, os.WriteFile(configDoc, []byte(out), 0o644))
		return
	}
	require.True(t, i >= 0 && j > i, "docs/CONFIG.md has the option table markers")
	assert.Equal(t, table, string(doc[i+len(begin):j]), "docs/CONFIG.md is out of date: UPDATE_CONFIG_DOC=1 go test -run TestConfigDocListsEveryOption ./cmd/conveyor")
}

// optionTable is the markdown reference of run's options, by category.
func optionTable() string {
	d := defaultConfig()
	opts := options(&d)
	slices.SortStableFunc(opts, func(a, b option) int { return strings.Compare(a.category, b.category) })
	var b strings.Builder
	cat := ""
	for _, o := range opts {
		if o.category != cat {
			cat = o.category
			fmt.Fprintf(&b, "\n**%s**\n\n| key / flag | type | default | what |\n|---|---|---|---|\n", cat)
		}
		def := fmt.Sprint(o.field.Interface())
		if f, ok := o.flag().(interface{ GetDefaultText() string }); ok {
			def = f.GetDefaultText()
		}
		names := "`" + o.name + "`"
		for _, a := range o.aliases {
			names += fmt.Sprintf(" (`-%s`)", a)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", names, o.kind(), strings.Trim(def, `"`), strings.ReplaceAll(o.usage, "|", `\|`))
	}
	return b.String() + "\n"
}

func TestFlagsOverrideTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("source: [a.mp4]\nscore: 0.5\nbackend: opencv\ninput-size: 320\njsonl-frames: objects\n"), 0o644))
	cfg, err := parseRun(t, "--config", path, "--score", "0.7", "--amqp-frames", "track-changes")
	require.NoError(t, err)
	assert.InDelta(t, 0.7, cfg.Detect.Decoder.ScoreThreshold, 1e-6, "the flag wins")
	assert.Equal(t, infer.OpenCVBackend, cfg.Detect.Backend, "the file's value stays")
	assert.Equal(t, "320", cfg.Detect.Input.String())
	assert.Equal(t, sink.WithObjects, cfg.Run.JSONLFrames)
	assert.Equal(t, sink.TrackChanges, cfg.Run.AMQPFrames)
	assert.Equal(t, defaultConfig().Track, cfg.Track, "what neither sets keeps its default")
}

// TestEmptyConfigMeansDefaults: a file with nothing, or only comments,
// changes nothing (it used to zero every default).
func TestEmptyConfigMeansDefaults(t *testing.T) {
	for name, body := range map[string]string{"empty": "", "comments": "# nothing here\n# at all\n", "blank": "\n\n   \n", "null": "---\n~\n"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
			cfg, err := parseRun(t, "--config", path, "--source", "x.mp4")
			require.NoError(t, err)
			want := defaultConfig()
			want.Run.Sources = []string{"x.mp4"}
			assert.Equal(t, want, cfg)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONVEYOR_HTTP_TOKEN", "") // unset for "api without a token"
	tests := []struct {
		name, yaml string
		args       []string
		want       string
	}{
		{"unknown key", "sorce: [a.mp4]\n", nil, `unknown field "sorce"`},
		{"renamed key", "source: [a.mp4]\nper-event: true\n", nil, `"per-event" was renamed: write amqp-frames: track-changes`},
		{"bad enum", "source: [a.mp4]\nbackend: cuda\n", nil, `want auto, opencv or tensorrt`},
		{"out of range", "source: [a.mp4]\nscore: 2\n", nil, "score: 2 is out of range"},
		{"bad flag value", "", []string{"--source", "a.mp4", "--jsonl-frames", "some"}, "want all, objects or track-changes"},
		{"no source", "", nil, "source: at least one source is needed"},
		{"api without http", "", []string{"--api"}, "api: needs --http"},
		{"api without a token", "", []string{"--api", "--http", "127.0.0.1:0"}, "api: needs a token: set CONVEYOR_HTTP_TOKEN, or give --http-token-file FILE"},
		{"api-allow relative", "", []string{"--source", "a", "--api-allow", "clips"}, `api-allow: "clips": want scheme://host`},
		{"api-allow missing folder", "", []string{"--source", "a", "--api-allow", "/no/such/folder/"}, "api-allow: folder /no/such/folder/: no such folder"},
		{"api-allow path on a host", "", []string{"--source", "a", "--api-allow", "rtsp://cam/stream"}, "no user, path or query"},
		{"http-allow-host", "", []string{"--source", "a", "--http-allow-host", "evil.example/x"}, "http-allow-host"},
		{"max viewers", "", []string{"--source", "a", "--http-max-viewers", "-1"}, "http-max-viewers: -1 is out of range"},
		{"max sources", "", []string{"--source", "a", "--api-max-sources", "-2"}, "api-max-sources: -2 is out of range"},
		{"http width", "", []string{"--source", "a", "--http-width", "-1"}, "http-width: -1 is out of range"},
		{"int8 without calibration", "", []string{"--source", "a", "--precision", "int8"}, "calib-cache: precision int8 needs a calibration cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.yaml != "" {
				path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
				require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o644))
				args = append([]string{"--config", path}, args...)
			}
			set := flag.NewFlagSet("run", flag.ContinueOnError)
			set.SetOutput(new(strings.Builder))
			for _, f := range runFlags() {
				require.NoError(t, f.Apply(set))
			}
			if err := set.Parse(args); err != nil {
				assert.ErrorContains(t, err, tt.want)
				return
			}
			_, err := loadConfig(cli.NewContext(newApp(), set, nil))
			require.Error(t, err)
			assert.Contains(t, oneLine(err), tt.want)
		})
	}
}

// TestCLIFlagErrors runs the app: a mistyped or renamed flag is one line,
// not the command's whole help; a source with commas is one source.
func TestCLIFlagErrors(t *testing.T) {
	_, err := conveyor(t, "run", "--sorce", "x.mp4")
	require.Error(t, err)
	assert.Equal(t, "unknown flag --sorce (conveyor help run lists them)", oneLine(err))
	_, err = conveyor(t, "run", "--per-event")
	require.Error(t, err)
	assert.Equal(t, "--per-event was renamed: use --amqp-frames track-changes", oneLine(err))
	_, err = conveyor(t, "run", "--http-token", "secret-on-the-command-line")
	require.Error(t, err)
	assert.Equal(t, "unknown flag --http-token (conveyor help run lists them)", oneLine(err), "a token is never a flag")

	gst := "gst://videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! videoconvert ! appsink"
	var got []string
	app := newApp()
	app.Commands = []*cli.Command{{Name: "run", Flags: runFlags(), Action: func(c *cli.Context) error {
		cfg, err := loadConfig(c)
		got = cfg.Run.Sources
		return err
	}}}
	require.NoError(t, app.Run([]string{"conveyor", "run", "--source", gst}))
	assert.Equal(t, []string{gst}, got, "commas do not split a source")
}

// TestServiceConfigExampleLoads: the config the systemd service installs
// (scripts/systemd/conveyor.yaml.example) has only known keys and valid
// values.
func TestServiceConfigExampleLoads(t *testing.T) {
	cfg, err := parseRun(t, "--config", "../../scripts/systemd/conveyor.yaml.example")
	require.NoError(t, err)
	assert.NotEmpty(t, cfg.Run.Sources)
}
