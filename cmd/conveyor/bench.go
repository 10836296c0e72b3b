package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/cmd/conveyor/internal/bench"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
	"github.com/conveyor-vision/conveyor/pipeline/track"
)

// benchConfig is everything `conveyor bench` needs: the options of run
// that shape the work (the detector, the links, the blur) and its own.
type benchConfig struct {
	Sources []string             `yaml:"source" short:"s" usage:"the video file to measure"`
	Detect  infer.Options        `yaml:",inline" category:"Detection"`
	Link    pipeline.LinkOptions `yaml:",inline" category:"Line"`
	Blur    post.BlurOptions     `yaml:",inline" category:"Blur"`
	Encode  sink.EncoderOptions  `yaml:",inline" category:"Encoding"`
	TrackOn bool                 `yaml:"track" category:"Tracking" usage:"track objects in the Go modes, as conveyor run does by default (keeps a face blurred through a missed detection, --blur-hold)"`
	Track   track.Options        `yaml:",inline" category:"Tracking"`
	Bench   benchOptions         `yaml:",inline" category:"Bench"`
}

// benchOptions are bench's own options.
type benchOptions struct {
	Frames         int    `yaml:"frames" usage:"frames measured in each mode"`
	Warmup         int    `yaml:"warmup" usage:"frames run first in each mode and not measured"`
	Modes          string `yaml:"modes" usage:"comma-separated: sequential, pipelined, pipelined-N (N inference workers), python"`
	PythonBaseline bool   `yaml:"python-baseline" usage:"also run the seed-style Python + OpenCV loop (same as adding python to --modes)"`
	Python         string `yaml:"python" usage:"python3 for the baseline (default: python3 on PATH, then /usr/bin/python3, the first with cv2)"`
	PythonThreads  int    `yaml:"python-threads" usage:"OpenCV threads in the Python baseline (0 = OpenCV's default, as a seed app runs; --threads applies to the Go modes only)"`
	PythonScript   string `yaml:"python-script" usage:"a baseline script to run instead of the one built into conveyor (scripts/baseline.py)"`
	Replay         string `yaml:"replay" usage:"memory (decode the clip once, replay it: measures compute) or file (read the file in every mode)"`
	Rounds         int    `yaml:"rounds" usage:"run every mode this many times, round-robin, and report each mode's median round (for a machine others are using)"`
	TimelineFrames int    `yaml:"timeline-frames" usage:"frames shown in the report's stage timeline"`
	Report         string `yaml:"report" short:"r" usage:"folder for report.json, report.html, report.txt and each mode's video"`
}

func defaultBenchConfig() benchConfig {
	return benchConfig{
		Detect: infer.DefaultOptions(),
		Blur:   post.DefaultBlurOptions(),
		Encode: sink.DefaultEncoderOptions(),
		// The Go modes are conveyor run's default line: small-face pass
		// (infer's min-face) and tracking on.
		TrackOn: true,
		Track:   track.DefaultOptions(),
		Bench: benchOptions{Frames: 600, Warmup: 30, Modes: "sequential,pipelined,pipelined-2",
			Replay: bench.ReplayMemory, Rounds: 1, TimelineFrames: 30, Report: "out/bench"},
	}
}

func benchCommand() *cli.Command {
	d := defaultBenchConfig()
	return &cli.Command{
		Name:  "bench",
		Usage: "measure the line: sequential loop vs pipelined vs N inference workers (vs the Python loop) on the same frames",
		Description: `Examples:
   conveyor bench --source clip.mp4 --frames 600 --report out/bench
   conveyor bench --source clip.mp4 --input-size 320 --modes sequential,pipelined,pipelined-2 --python-baseline

Writes a table to the terminal and report.json, report.html (open it in a
browser: no network needed) and report.txt into --report.`,
		Flags:        append([]cli.Flag{configFlag}, optionFlags(&d)...),
		Action:       benchAction,
		OnUsageError: unknownFlag,
	}
}

// loadBenchConfig reads --config over bench's defaults, then the flags.
func loadBenchConfig(c *cli.Context) (benchConfig, error) {
	cfg := defaultBenchConfig()
	if err := readConfigFile(c.String("config"), &cfg); err != nil {
		return cfg, err
	}
	applyFlags(c, &cfg)
	errs := []error{cfg.Detect.Validate(), cfg.Link.Validate(), cfg.Blur.Validate(), cfg.Encode.Validate(), cfg.Track.Validate()}
	if len(cfg.Sources) != 1 {
		errs = append(errs, fmt.Errorf("source: bench takes one video file, not %d sources", len(cfg.Sources)))
	}
	if n := cfg.Bench.Frames; n < bench.MinFrames {
		errs = append(errs, fmt.Errorf("frames: %d measured frames are too few to measure: want at least %d", n, bench.MinFrames))
	}
	if n := cfg.Bench.Rounds; n < 1 || n > 20 {
		errs = append(errs, fmt.Errorf("rounds: %d: want 1 to 20", n))
	}
	if cfg.Bench.Warmup < 0 {
		errs = append(errs, fmt.Errorf("warmup: %d: want 0 or more", cfg.Bench.Warmup))
	}
	return cfg, errors.Join(errs...)
}

func benchAction(c *cli.Context) error {
	cfg, err := loadBenchConfig(c)
	if err != nil {
		return err
	}
	o := cfg.Bench
	modes, err := bench.ParseModes(o.Modes)
	if err != nil {
		return err
	}
	if o.PythonBaseline && !slices.ContainsFunc(modes, func(m bench.Mode) bool { return m.Kind == bench.Python }) {
		modes = append(modes, bench.Mode{Name: "python", Kind: bench.Python, Workers: 1})
	}
	backend, err := chooseBackend(cfg.Detect.Backend)
	if err != nil {
		return err
	}
	if backend == infer.TensorRTBackend {
		return errors.New("backend tensorrt: bench does not drive the TensorRT engine yet: use --backend opencv")
	}
	model, err := infer.Open(cfg.Detect)
	if err != nil {
		return err
	}
	// "pipelined" is the line as `conveyor run` lays it out here: its
	// workers and threads chosen for this machine (defaults.go).
	tune := func(w, h int) (bench.Tuned, error) {
		d := cfg.Detect
		d.Workers = 0
		t, err := machineDefaults(d, model, backend, w, h)
		return bench.Tuned{Workers: t.Workers, Threads: t.Threads, Note: t.String()}, err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stderr := c.App.ErrWriter
	rep, err := bench.Run(ctx, bench.Options{
		Source: cfg.Sources[0], Replay: o.Replay,
		Frames: o.Frames, Warmup: o.Warmup, Modes: modes,
		Model: model, Backend: backend.String(), Threads: cfg.Detect.Threads, Tune: tune, Encode: cfg.Encode, Queue: cfg.Link.Queue,
		Blur:           cfg.Blur,
		Track:          trackOption(cfg),
		Python:         bench.PythonOptions{Interpreter: o.Python, Script: o.PythonScript, Threads: o.PythonThreads},
		Dir:            o.Report,
		Rounds:         o.Rounds,
		TimelineFrames: o.TimelineFrames,
		Log:            func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(c.App.Writer); err != nil {
		return err
	}
	dir := o.Report
	fmt.Fprintf(stderr, "conveyor: wrote %s, %s and %s\n", filepath.Join(dir, bench.JSONFile), filepath.Join(dir, bench.HTMLFile), filepath.Join(dir, bench.TextFile))
	return ctxErr(ctx)
}

func trackOption(cfg benchConfig) *track.Options {
	if !cfg.TrackOn {
		return nil
	}
	return &cfg.Track
}

// ctxErr turns an interrupted bench into an error: its figures would be of
// a partial run.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: stopped: %w", err)
	}
	return nil
}
