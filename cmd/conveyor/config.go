package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/trt"
)

// Config is everything `conveyor run` needs. It is read from the YAML file
// named by --config, then each flag the user set overrides its field. The
// YAML keys are the flag names; docs/CONFIG.md shows an example.
type Config struct {
	Sources   []string `yaml:"source"`
	Model     string   `yaml:"model"`
	ModelType string   `yaml:"model-type"`
	InputSize string   `yaml:"input-size"`
	Score     float64  `yaml:"score"`
	NMS       float64  `yaml:"nms"`
	MinSize   float64  `yaml:"min-size"`
	Backend   string   `yaml:"backend"`

	InferWorkers int           `yaml:"infer-workers"`
	Batch        int           `yaml:"batch"`
	BatchTimeout time.Duration `yaml:"batch-timeout"`
	Threads      int           `yaml:"threads"`
	Queue        int           `yaml:"queue"`
	Policy       string        `yaml:"policy"`

	Repeat    int           `yaml:"repeat"`
	Realtime  bool          `yaml:"realtime"`
	Reconnect int           `yaml:"reconnect"`
	MaxFrames int64         `yaml:"max-frames"`
	Duration  time.Duration `yaml:"duration"`

	Blur      string  `yaml:"blur"`
	BlurShape string  `yaml:"blur-shape"`
	BlurPad   float64 `yaml:"blur-pad"`
	OSD       bool    `yaml:"osd"`

	Out       string `yaml:"out"`
	Events    string `yaml:"events"`
	SkipEmpty bool   `yaml:"events-skip-empty"`
	Window    bool   `yaml:"window"`
	Tile      bool   `yaml:"tile"`

	Progress    string `yaml:"progress"`
	SummaryJSON string `yaml:"summary-json"`

	// Depth (RealSense sources; package pipeline/depth).
	MaxDistance float64 `yaml:"max-distance"`
	DepthOut    string  `yaml:"depth-out"`
	DepthRange  float64 `yaml:"depth-range"`

	// Tracking (package pipeline/track) and the web view (pipeline/web).
	Track        bool    `yaml:"track"`
	TrackIoU     float64 `yaml:"track-iou"`
	TrackMinHits int     `yaml:"track-min-hits"`
	TrackMaxAge  int     `yaml:"track-max-age"`
	HTTP         string  `yaml:"http"`
	HTTPFPS      float64 `yaml:"http-fps"`
	HTTPQuality  int     `yaml:"http-quality"`
	HTTPWidth    int     `yaml:"http-width"`
	API          bool    `yaml:"api"`

	// RabbitMQ (package mq).
	AMQP             string        `yaml:"amqp"`
	AMQPCA           string        `yaml:"amqp-ca"`
	Exchange         string        `yaml:"exchange"`
	RoutingKey       string        `yaml:"routing-key"`
	PerEvent         bool          `yaml:"per-event"`
	IncludeEmpty     bool          `yaml:"include-empty"`
	Outbox           int           `yaml:"outbox"`
	OutboxPolicy     string        `yaml:"outbox-policy"`
	AMQPStartTimeout time.Duration `yaml:"amqp-start-timeout"`
	AMQPOffline      bool          `yaml:"amqp-offline"`

	// TensorRT (package trt; needs a build with -tags tensorrt).
	Engine    string `yaml:"engine"`
	Precision string `yaml:"precision"`
}

// defaultConfig is what conveyor does with no config file and no flags.
func defaultConfig() Config {
	return Config{
		Backend:      "auto",
		InputSize:    "default",
		InferWorkers: 1,
		Batch:        1,
		BatchTimeout: 20 * time.Millisecond,
		Policy:       "auto",
		Repeat:       1,
		Reconnect:    3,
		Blur:         string(post.Gaussian),
		BlurShape:    "ellipse",
		BlurPad:      0.15,
		Progress:     "auto",
		DepthRange:   4,
		TrackIoU:     0.3,
		TrackMinHits: 3,
		TrackMaxAge:  30,
		HTTPFPS:      10,
		HTTPQuality:  80,
		HTTPWidth:    960,
		Exchange:     "conveyor",
		RoutingKey:   "faces.{source}",
		Outbox:       1000,
		OutboxPolicy: "drop-oldest",
		Precision:    "fp16",
	}
}

// runFlags are the flags of `conveyor run` (and, where they apply, bench).
// Each flag's name is its YAML key.
func runFlags() []cli.Flag {
	d := defaultConfig()
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "YAML config file; flags override it"},
		&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "source URI (repeatable): file, v4l2:///dev/video0, rtsp://…, gst://… ! appsink, folder or glob, pattern://, realsense://"},
		&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "ONNX model (default: the bundled YuNet 2022mar)"},
		&cli.StringFlag{Name: "model-type", Usage: "decoder: auto (from the model's outputs), " + joinNames(), Value: "auto"},
		&cli.StringFlag{Name: "input-size", Usage: `detector input: "default", "frame", N (longer side), or WxH`, Value: d.InputSize},
		&cli.Float64Flag{Name: "score", Usage: "score threshold (0 = the model's default)"},
		&cli.Float64Flag{Name: "nms", Usage: "NMS IoU threshold (0 = the model's default)"},
		&cli.Float64Flag{Name: "min-size", Usage: "drop detections smaller than this many pixels (width or height)"},
		&cli.StringFlag{Name: "backend", Usage: "inference backend: auto, opencv or tensorrt", Value: d.Backend},
		&cli.IntFlag{Name: "infer-workers", Usage: "inference workers (each with its own network)", Value: d.InferWorkers},
		&cli.IntFlag{Name: "batch", Usage: "frames per inference call, across sources (nvstreammux)", Value: d.Batch},
		&cli.DurationFlag{Name: "batch-timeout", Usage: "longest wait for a batch to fill", Value: d.BatchTimeout},
		&cli.IntFlag{Name: "threads", Usage: "OpenCV threads (0 = OpenCV's default: all cores)"},
		&cli.IntFlag{Name: "queue", Usage: "frames each link holds (0 = 2)"},
		&cli.StringFlag{Name: "policy", Usage: "when a stage is busy: auto (drop-oldest for live sources, block for files), block, drop-oldest", Value: d.Policy},
		&cli.IntFlag{Name: "repeat", Usage: "play file sources this many times", Value: d.Repeat},
		&cli.BoolFlag{Name: "realtime", Usage: "pace file sources at their frame rate, like a camera"},
		&cli.IntFlag{Name: "reconnect", Usage: "reconnect attempts per outage for live streams (-1 = forever)", Value: d.Reconnect},
		&cli.Int64Flag{Name: "max-frames", Usage: "stop after this many frames per source (0 = all)"},
		&cli.DurationFlag{Name: "duration", Usage: "stop after this long (0 = until the sources end)"},
		&cli.StringFlag{Name: "blur", Usage: "gaussian, pixelate, solid or none", Value: d.Blur},
		&cli.StringFlag{Name: "blur-shape", Usage: "ellipse (follows the face) or rect", Value: d.BlurShape},
		&cli.Float64Flag{Name: "blur-pad", Usage: "grow each face box by this fraction before blurring", Value: d.BlurPad},
		&cli.BoolFlag{Name: "osd", Usage: "draw boxes, labels, scores and FPS"},
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output video file (.mp4, .mkv, .avi, .webm); one per source"},
		&cli.StringFlag{Name: "events", Aliases: []string{"e"}, Usage: "JSON lines of events, one per frame (- for stdout)"},
		&cli.BoolFlag{Name: "events-skip-empty", Usage: "leave frames without objects out of --events"},
		&cli.BoolFlag{Name: "window", Usage: "show the frames in a window (q or Esc stops)"},
		&cli.BoolFlag{Name: "tile", Usage: "show all sources in one grid (window and web page)"},
		&cli.StringFlag{Name: "progress", Usage: "progress bar: auto (when stderr is a terminal), always, never", Value: d.Progress},
		&cli.StringFlag{Name: "summary-json", Usage: "also write the run's summary as JSON to this file"},
		&cli.Float64Flag{Name: "max-distance", Usage: "drop detections farther than this many metres (sources with depth; 0 = keep all)"},
		&cli.StringFlag{Name: "depth-out", Usage: "write the colourised depth of sources with depth to this video file"},
		&cli.Float64Flag{Name: "depth-range", Usage: "metres that span the depth colour map (blue = this far)", Value: d.DepthRange},
		&cli.BoolFlag{Name: "track", Usage: "track objects (stable ids; appeared/left events)"},
		&cli.Float64Flag{Name: "track-iou", Usage: "least IoU to match a detection to a track", Value: d.TrackIoU},
		&cli.IntFlag{Name: "track-min-hits", Usage: "frames an object must be seen before it gets an id", Value: d.TrackMinHits},
		&cli.IntFlag{Name: "track-max-age", Usage: "frames a track may go unseen before it is dropped", Value: d.TrackMaxAge},
		&cli.StringFlag{Name: "http", Usage: "serve the live view, /metrics (Prometheus) and /healthz on this address (e.g. 127.0.0.1:8080)"},
		&cli.Float64Flag{Name: "http-fps", Usage: "most frames per second sent to each viewer", Value: d.HTTPFPS},
		&cli.IntFlag{Name: "http-quality", Usage: "JPEG quality of the live view (1-100)", Value: d.HTTPQuality},
		&cli.IntFlag{Name: "http-width", Usage: "widest picture sent to viewers (0 = as is)", Value: d.HTTPWidth},
		&cli.BoolFlag{Name: "api", Usage: "with --http: add and remove sources while running (POST and DELETE /api/sources); the run then lasts until stopped, not until its sources end"},
		&cli.StringFlag{Name: "amqp", Usage: "publish events to RabbitMQ: amqp[s]://user:pass@host:5672/vhost (or set CONVEYOR_AMQP_URL and pass --amqp env)"},
		&cli.StringFlag{Name: "amqp-ca", Usage: "PEM CA file for amqps://"},
		&cli.StringFlag{Name: "exchange", Usage: "topic exchange to publish to (declared if missing)", Value: d.Exchange},
		&cli.StringFlag{Name: "routing-key", Usage: "routing key template: {source}, {source_id}", Value: d.RoutingKey},
		&cli.BoolFlag{Name: "per-event", Usage: "publish only frames where a tracked face appears or leaves"},
		&cli.BoolFlag{Name: "include-empty", Usage: "publish frames with no objects too"},
		&cli.IntFlag{Name: "outbox", Usage: "messages kept while the broker is away", Value: d.Outbox},
		&cli.StringFlag{Name: "outbox-policy", Usage: "when the outbox is full: drop-oldest or drop-newest", Value: d.OutboxPolicy},
		&cli.DurationFlag{Name: "amqp-start-timeout", Usage: "how long to retry an unreachable broker at start (0 = 10s)"},
		&cli.BoolFlag{Name: "amqp-offline", Usage: "start even if the broker stays unreachable; count what cannot be kept"},
		&cli.StringFlag{Name: "engine", Usage: "TensorRT plan file (backend tensorrt; default: build or reuse the cached engine)"},
		&cli.StringFlag{Name: "precision", Usage: "TensorRT precision: fp32, fp16 or int8", Value: d.Precision},
	}
}

func joinNames() string { return strings.Join(models.Specs(), ", ") }

// loadConfig reads --config (if given) over the defaults, then applies every
// flag the user set.
func loadConfig(c *cli.Context) (Config, error) {
	cfg := defaultConfig()
	if path := c.String("config"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
			return cfg, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
		}
	}
	set := func(name string, apply func()) {
		if c.IsSet(name) {
			apply()
		}
	}
	set("source", func() { cfg.Sources = c.StringSlice("source") })
	set("model", func() { cfg.Model = c.String("model") })
	set("model-type", func() { cfg.ModelType = c.String("model-type") })
	set("input-size", func() { cfg.InputSize = c.String("input-size") })
	set("score", func() { cfg.Score = c.Float64("score") })
	set("nms", func() { cfg.NMS = c.Float64("nms") })
	set("min-size", func() { cfg.MinSize = c.Float64("min-size") })
	set("backend", func() { cfg.Backend = c.String("backend") })
	set("infer-workers", func() { cfg.InferWorkers = c.Int("infer-workers") })
	set("batch", func() { cfg.Batch = c.Int("batch") })
	set("batch-timeout", func() { cfg.BatchTimeout = c.Duration("batch-timeout") })
	set("threads", func() { cfg.Threads = c.Int("threads") })
	set("queue", func() { cfg.Queue = c.Int("queue") })
	set("policy", func() { cfg.Policy = c.String("policy") })
	set("repeat", func() { cfg.Repeat = c.Int("repeat") })
	set("realtime", func() { cfg.Realtime = c.Bool("realtime") })
	set("reconnect", func() { cfg.Reconnect = c.Int("reconnect") })
	set("max-frames", func() { cfg.MaxFrames = c.Int64("max-frames") })
	set("duration", func() { cfg.Duration = c.Duration("duration") })
	set("blur", func() { cfg.Blur = c.String("blur") })
	set("blur-shape", func() { cfg.BlurShape = c.String("blur-shape") })
	set("blur-pad", func() { cfg.BlurPad = c.Float64("blur-pad") })
	set("osd", func() { cfg.OSD = c.Bool("osd") })
	set("out", func() { cfg.Out = c.String("out") })
	set("events", func() { cfg.Events = c.String("events") })
	set("events-skip-empty", func() { cfg.SkipEmpty = c.Bool("events-skip-empty") })
	set("window", func() { cfg.Window = c.Bool("window") })
	set("tile", func() { cfg.Tile = c.Bool("tile") })
	set("progress", func() { cfg.Progress = c.String("progress") })
	set("summary-json", func() { cfg.SummaryJSON = c.String("summary-json") })
	set("max-distance", func() { cfg.MaxDistance = c.Float64("max-distance") })
	set("depth-out", func() { cfg.DepthOut = c.String("depth-out") })
	set("depth-range", func() { cfg.DepthRange = c.Float64("depth-range") })
	set("track", func() { cfg.Track = c.Bool("track") })
	set("track-iou", func() { cfg.TrackIoU = c.Float64("track-iou") })
	set("track-min-hits", func() { cfg.TrackMinHits = c.Int("track-min-hits") })
	set("track-max-age", func() { cfg.TrackMaxAge = c.Int("track-max-age") })
	set("http", func() { cfg.HTTP = c.String("http") })
	set("http-fps", func() { cfg.HTTPFPS = c.Float64("http-fps") })
	set("http-quality", func() { cfg.HTTPQuality = c.Int("http-quality") })
	set("http-width", func() { cfg.HTTPWidth = c.Int("http-width") })
	set("api", func() { cfg.API = c.Bool("api") })
	set("amqp", func() { cfg.AMQP = c.String("amqp") })
	set("amqp-ca", func() { cfg.AMQPCA = c.String("amqp-ca") })
	set("exchange", func() { cfg.Exchange = c.String("exchange") })
	set("routing-key", func() { cfg.RoutingKey = c.String("routing-key") })
	set("per-event", func() { cfg.PerEvent = c.Bool("per-event") })
	set("include-empty", func() { cfg.IncludeEmpty = c.Bool("include-empty") })
	set("outbox", func() { cfg.Outbox = c.Int("outbox") })
	set("outbox-policy", func() { cfg.OutboxPolicy = c.String("outbox-policy") })
	set("amqp-start-timeout", func() { cfg.AMQPStartTimeout = c.Duration("amqp-start-timeout") })
	set("amqp-offline", func() { cfg.AMQPOffline = c.Bool("amqp-offline") })
	set("engine", func() { cfg.Engine = c.String("engine") })
	set("precision", func() { cfg.Precision = c.String("precision") })
	if cfg.ModelType == "auto" {
		cfg.ModelType = ""
	}
	return cfg, cfg.Validate()
}

// Validate names the first field out of range.
func (cfg Config) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if len(cfg.Sources) == 0 && !cfg.API {
		bad("source", "at least one source is needed (--source FILE_OR_URI, or --api to add them while running)")
	}
	if cfg.API && cfg.HTTP == "" {
		bad("api", "needs --http: the source API is served by the web server")
	}
	if cfg.Score < 0 || cfg.Score > 1 {
		bad("score", "%g is out of range: want 0 to 1", cfg.Score)
	}
	if cfg.MinSize < 0 || cfg.MinSize > 10000 {
		bad("min-size", "%g is out of range: want 0 to 10000", cfg.MinSize)
	}
	if cfg.NMS < 0 || cfg.NMS > 1 {
		bad("nms", "%g is out of range: want 0 to 1", cfg.NMS)
	}
	switch cfg.Backend {
	case "auto", "opencv", "tensorrt":
	default:
		bad("backend", "%q: want auto, opencv or tensorrt", cfg.Backend)
	}
	if cfg.InferWorkers < 1 || cfg.InferWorkers > 64 {
		bad("infer-workers", "%d is out of range: want 1 to 64", cfg.InferWorkers)
	}
	if cfg.Batch < 1 || cfg.Batch > 256 {
		bad("batch", "%d is out of range: want 1 to 256", cfg.Batch)
	}
	if cfg.BatchTimeout < 0 || cfg.BatchTimeout > 10*time.Second {
		bad("batch-timeout", "%s is out of range: want 0 to 10s", cfg.BatchTimeout)
	}
	if cfg.Threads < 0 || cfg.Threads > 256 {
		bad("threads", "%d is out of range: want 0 to 256", cfg.Threads)
	}
	if cfg.Queue < 0 || cfg.Queue > 1024 {
		bad("queue", "%d is out of range: want 0 to 1024", cfg.Queue)
	}
	if _, err := pipeline.ParsePolicy(cfg.Policy); err != nil {
		bad("policy", "%v", err)
	}
	if cfg.Repeat < 1 {
		bad("repeat", "%d: want at least 1", cfg.Repeat)
	}
	if cfg.Reconnect < -1 {
		bad("reconnect", "%d: want -1 (forever) or more", cfg.Reconnect)
	}
	if cfg.MaxFrames < 0 {
		bad("max-frames", "%d: want 0 (all) or more", cfg.MaxFrames)
	}
	if cfg.Duration < 0 {
		bad("duration", "%s: want 0 or more", cfg.Duration)
	}
	if _, err := post.ParseBlurMode(cfg.Blur); err != nil {
		bad("blur", "%v", err)
	}
	if cfg.BlurShape != "ellipse" && cfg.BlurShape != "rect" {
		bad("blur-shape", "%q: want ellipse or rect", cfg.BlurShape)
	}
	if cfg.BlurPad < 0 || cfg.BlurPad > 2 {
		bad("blur-pad", "%g is out of range: want 0 to 2", cfg.BlurPad)
	}
	if _, err := models.ParseInputSize(cfg.InputSize); err != nil {
		bad("input-size", "%v", err)
	}
	if cfg.ModelType != "" {
		if _, err := models.Lookup(cfg.ModelType); err != nil {
			bad("model-type", "%v", err)
		}
	}
	if cfg.MaxDistance < 0 || cfg.MaxDistance > 1000 {
		bad("max-distance", "%g is out of range: want 0 to 1000 metres", cfg.MaxDistance)
	}
	if cfg.DepthRange <= 0 || cfg.DepthRange > 1000 {
		bad("depth-range", "%g is out of range: want more than 0, at most 1000 metres", cfg.DepthRange)
	}
	if cfg.TrackIoU <= 0 || cfg.TrackIoU > 1 {
		bad("track-iou", "%g is out of range: want more than 0, at most 1", cfg.TrackIoU)
	}
	if cfg.TrackMinHits < 1 || cfg.TrackMinHits > 1000 {
		bad("track-min-hits", "%d is out of range: want 1 to 1000", cfg.TrackMinHits)
	}
	if cfg.TrackMaxAge < -1 || cfg.TrackMaxAge > 100000 {
		bad("track-max-age", "%d is out of range: want -1 to 100000", cfg.TrackMaxAge)
	}
	if cfg.HTTPFPS <= 0 || cfg.HTTPFPS > 120 {
		bad("http-fps", "%g is out of range: want more than 0, at most 120", cfg.HTTPFPS)
	}
	if cfg.HTTPQuality < 1 || cfg.HTTPQuality > 100 {
		bad("http-quality", "%d is out of range: want 1 to 100", cfg.HTTPQuality)
	}
	if cfg.HTTPWidth < 0 || cfg.HTTPWidth > 8192 {
		bad("http-width", "%d is out of range: want 0 to 8192", cfg.HTTPWidth)
	}
	if cfg.Outbox < 1 || cfg.Outbox > 10_000_000 {
		bad("outbox", "%d is out of range: want 1 to 10000000", cfg.Outbox)
	}
	if _, err := mq.ParseOutboxPolicy(cfg.OutboxPolicy); err != nil {
		bad("outbox-policy", "%v", err)
	}
	if _, err := trt.ParsePrecision(cfg.Precision); err != nil {
		bad("precision", "%v", err)
	}
	switch cfg.Progress {
	case "auto", "always", "never":
	default:
		bad("progress", "%q: want auto, always or never", cfg.Progress)
	}
	return errors.Join(errs...)
}
