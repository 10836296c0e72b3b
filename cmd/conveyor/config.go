package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
	"github.com/conveyor-vision/conveyor/pipeline/track"
	"github.com/conveyor-vision/conveyor/pipeline/web"
	"github.com/conveyor-vision/conveyor/trt"
)

// Config is everything `conveyor run` needs: each package's own Options,
// embedded. Every option is declared once, as a tagged field of its
// package's Options (options.go binds the flags from them); its YAML key is
// its flag's name. The config file named by --config is read over the
// defaults, then each flag the user set overrides its field. docs/CONFIG.md
// lists every option; a test keeps it in step with these declarations.
type Config struct {
	Run      RunOptions           `yaml:",inline" category:"Run"`
	Sources  camera.Options       `yaml:",inline" category:"Sources"`
	Link     pipeline.LinkOptions `yaml:",inline" category:"Line"`
	Detect   infer.Options        `yaml:",inline" category:"Detection"`
	TensorRT trt.Options          `yaml:",inline" category:"TensorRT"`
	Track    track.Options        `yaml:",inline" category:"Tracking"`
	Depth    depth.Options        `yaml:",inline" category:"Depth"`
	Blur     post.BlurOptions     `yaml:",inline" category:"Blur"`
	Video    sink.VideoOptions    `yaml:",inline" category:"Outputs"`
	Web      web.Options          `yaml:",inline" category:"Web"`
	AMQP     mq.Config            `yaml:",inline" category:"RabbitMQ"`
}

// RunOptions are the options of the run itself: what goes in, which stages
// and outputs the line has, how it reports.
type RunOptions struct {
	Sources  []string      `yaml:"source" short:"s" category:"Sources" usage:"source URI (repeatable): file, v4l2:///dev/video0, rtsp://…, gst://… ! appsink, folder or glob, pattern://, realsense://"`
	Duration time.Duration `yaml:"duration" usage:"stop after this long (0 = until the sources end)"`

	Track bool `yaml:"track" category:"Tracking" usage:"track objects (stable ids; appeared/left events; keeps a face blurred through a missed detection, --blur-hold)"`
	OSD   bool `yaml:"osd" category:"Outputs" usage:"draw boxes, labels, scores and FPS on the picture"`

	JSONL       string      `yaml:"jsonl" short:"e,events" category:"Outputs" usage:"write one JSON message per frame, and one when a source ends, to this file (- for stdout)"`
	JSONLFrames sink.Filter `yaml:"jsonl-frames" category:"Outputs" usage:"frames written to --jsonl: all, objects (with objects or tracker events) or track-changes"`
	AMQPFrames  sink.Filter `yaml:"amqp-frames" category:"RabbitMQ" usage:"frames published to --amqp: all, objects (with objects or tracker events) or track-changes"`
	Window      bool        `yaml:"window" category:"Outputs" usage:"show the frames in a window (q or Esc stops)"`
	Tile        bool        `yaml:"tile" category:"Outputs" usage:"show all sources in one grid (window and web page)"`
	API         bool        `yaml:"api" category:"Web" usage:"with --http: add and remove sources while running (POST and DELETE /api/sources); the run then lasts until stopped"`

	Progress    Progress `yaml:"progress" usage:"progress bar: auto (when stderr is a terminal), always or never"`
	SummaryJSON string   `yaml:"summary-json" usage:"also write the run's summary as JSON to this file"`
}

// Validate checks the run's own options.
func (o RunOptions) Validate() error {
	if o.Duration < 0 {
		return fmt.Errorf("duration: %s: want 0 or more", o.Duration)
	}
	return nil
}

// Progress says when the progress bar is shown.
type Progress string

// The progress settings.
const (
	ProgressAuto   Progress = "auto"
	ProgressAlways Progress = "always"
	ProgressNever  Progress = "never"
)

// UnmarshalText reads auto, always or never.
func (p *Progress) UnmarshalText(b []byte) error {
	switch v := Progress(b); v {
	case ProgressAuto, ProgressAlways, ProgressNever:
		*p = v
		return nil
	}
	return fmt.Errorf("%q: want auto, always or never", b)
}

// defaultConfig is what conveyor does with no config file and no flags:
// each package's defaults.
func defaultConfig() Config {
	return Config{
		// Tracking is on by default: it is what keeps a face blurred
		// through a detection the detector misses (--blur-hold), and
		// redaction is conveyor's first job. --track=false turns it off.
		Run:      RunOptions{Track: true, JSONLFrames: sink.AllFrames, AMQPFrames: sink.WithObjects, Progress: ProgressAuto},
		Sources:  camera.DefaultOptions(),
		Detect:   infer.DefaultOptions(),
		TensorRT: trt.DefaultOptions(),
		Track:    track.DefaultOptions(),
		Depth:    depth.DefaultOptions(),
		Blur:     post.DefaultBlurOptions(),
		Video:    sink.VideoOptions{Encode: sink.DefaultEncoderOptions()},
		Web:      web.DefaultOptions(),
		AMQP:     mq.DefaultConfig(),
	}
}

// configFlag names the config file; it is a flag, not an option.
var configFlag = &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "YAML config file (keys are the flag names); flags override it"}

// runFlags are the flags of `conveyor run`: --config and every option.
func runFlags() []cli.Flag {
	d := defaultConfig()
	return append([]cli.Flag{configFlag}, optionFlags(&d)...)
}

// loadConfig reads --config (if given) over the defaults, then applies
// every flag the user set, and validates the result.
func loadConfig(c *cli.Context) (Config, error) {
	cfg := defaultConfig()
	if err := readConfigFile(c.String("config"), &cfg); err != nil {
		return cfg, err
	}
	applyFlags(c, &cfg)
	return cfg, cfg.Validate()
}

// renamed are option keys of earlier versions and what replaced them.
var renamed = map[string]string{
	"events":            "jsonl",
	"events-skip-empty": "jsonl-frames: objects",
	"per-event":         "amqp-frames: track-changes",
	"include-empty":     "amqp-frames: all",
}

// readConfigFile reads a YAML file over cfg. An empty file, or one with
// only comments, changes nothing.
func readConfigFile(path string, cfg any) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil || f.Docs[0].Body.Type() == ast.NullType {
		return nil
	}
	if err := yaml.UnmarshalWithOptions(data, cfg, yaml.Strict()); err != nil {
		msg := yaml.FormatError(err, false, true)
		if m := unknownKey.FindStringSubmatch(msg); m != nil {
			if to, ok := renamed[m[1]]; ok {
				return fmt.Errorf("config %s: %q was renamed: write %s", path, m[1], to)
			}
		}
		return fmt.Errorf("config %s: %s", path, msg)
	}
	return nil
}

var unknownKey = regexp.MustCompile(`unknown field "([^"]+)"`)

// Validate checks every option, naming each bad one by its key, and what
// only makes sense together.
func (cfg Config) Validate() error {
	errs := []error{
		cfg.Run.Validate(), cfg.Sources.Validate(), cfg.Link.Validate(), cfg.Detect.Validate(),
		cfg.TensorRT.Validate(), cfg.Track.Validate(), cfg.Depth.Validate(), cfg.Blur.Validate(), cfg.Web.Validate(), cfg.AMQP.Validate(),
	}
	if len(cfg.Run.Sources) == 0 && !cfg.Run.API {
		errs = append(errs, errors.New("source: at least one source is needed (--source FILE_OR_URI, or --api to add them while running)"))
	}
	if cfg.Run.API && cfg.Web.Addr == "" {
		errs = append(errs, errors.New("api: needs --http: the source API is served by the web server"))
	}
	if cfg.Run.API && cfg.Web.TokenFile == "" && os.Getenv(web.EnvToken) == "" {
		errs = append(errs, fmt.Errorf("api: needs a token: set %s, or give --http-token-file FILE (made with a new random token if it does not exist)", web.EnvToken))
	}
	return errors.Join(errs...)
}

// amqpURLs are the broker URLs of --amqp: each value may list the nodes of
// one cluster, separated by commas, and "env" stands for CONVEYOR_AMQP_URL
// (which may list several too), so that a password need not be on the
// command line.
func amqpURLs(v mq.URLs) (mq.URLs, error) {
	var out mq.URLs
	for _, u := range v.Split() {
		if u != "env" {
			out = append(out, u)
			continue
		}
		e := os.Getenv(envAMQPURL)
		if e == "" {
			return nil, fmt.Errorf("amqp: env: %s is not set", envAMQPURL)
		}
		out = append(out, mq.URLs{e}.Split()...)
	}
	return out, nil
}

// envAMQPURL is the environment variable --amqp env reads.
const envAMQPURL = "CONVEYOR_AMQP_URL"

// unknownFlag explains a mistyped or renamed flag in one line, instead of
// the command's whole help.
func unknownFlag(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		if to, ok := renamed[name]; ok {
			return fmt.Errorf("--%s was renamed: use --%s", name, strings.ReplaceAll(to, ": ", " "))
		}
		return fmt.Errorf("unknown flag --%s (conveyor help %s lists them)", name, c.Command.Name)
	}
	return err
}
