package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/cmd/conveyor/internal/bench"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/post"
)

// benchRunFlags are the flags of `conveyor run` that bench shares: the
// detector, the blur and the links.
var benchRunFlags = []string{"config", "source", "model", "model-type", "input-size", "score", "nms", "backend",
	"threads", "queue", "blur", "blur-shape", "blur-pad"}

func benchCommand() *cli.Command {
	var flags []cli.Flag
	for _, f := range runFlags() {
		if slices.Contains(benchRunFlags, f.Names()[0]) {
			flags = append(flags, f)
		}
	}
	flags = append(flags,
		&cli.IntFlag{Name: "frames", Usage: fmt.Sprintf("frames measured in each mode (at least %d)", bench.MinFrames), Value: 600},
		&cli.IntFlag{Name: "warmup", Usage: "frames run first in each mode and not measured", Value: 30},
		&cli.StringFlag{Name: "modes", Usage: "comma-separated: sequential, pipelined, pipelined-N (N inference workers), python", Value: "sequential,pipelined,pipelined-2"},
		&cli.BoolFlag{Name: "python-baseline", Usage: "also run scripts/baseline.py, the seed-style Python + OpenCV loop (same as adding python to --modes)"},
		&cli.StringFlag{Name: "python", Usage: "python3 for the baseline (default: python3 on PATH, then /usr/bin/python3, the first with cv2)"},
		&cli.IntFlag{Name: "python-threads", Usage: "OpenCV threads in the Python baseline (0 = OpenCV's default, as a seed app runs; --threads applies to the Go modes only)"},
		&cli.StringFlag{Name: "python-script", Usage: "the baseline script (default: scripts/baseline.py found above the working folder or the executable)"},
		&cli.StringFlag{Name: "replay", Usage: "memory (decode the clip once, replay it: measures compute) or file (read the file in every mode)", Value: bench.ReplayMemory},
		&cli.IntFlag{Name: "rounds", Usage: "run every mode this many times, round-robin, and report each mode's median round (for a machine others are using)", Value: 1},
		&cli.IntFlag{Name: "timeline-frames", Usage: "frames shown in the report's stage timeline", Value: 30},
		&cli.StringFlag{Name: "report", Aliases: []string{"r"}, Usage: "folder for report.json, report.html, report.txt and each mode's video", Value: "out/bench"},
	)
	return &cli.Command{
		Name:  "bench",
		Usage: "measure the line: sequential loop vs pipelined vs N inference workers (vs the Python loop) on the same frames",
		Description: `Examples:
   conveyor bench --source clip.mp4 --frames 600 --report out/bench
   conveyor bench --source clip.mp4 --input-size 320 --modes sequential,pipelined,pipelined-2 --python-baseline

Writes a table to the terminal and report.json, report.html (open it in a
browser: no network needed) and report.txt into --report.`,
		Flags:  flags,
		Action: benchAction,
	}
}

func benchAction(c *cli.Context) error {
	modes, err := bench.ParseModes(c.String("modes"))
	if err != nil {
		return err
	}
	if c.Bool("python-baseline") && !slices.ContainsFunc(modes, func(m bench.Mode) bool { return m.Kind == bench.Python }) {
		modes = append(modes, bench.Mode{Name: "python", Kind: bench.Python, Workers: 1})
	}
	if n := c.Int("frames"); n < bench.MinFrames {
		return fmt.Errorf("frames: %d measured frames are too few to measure: want at least %d", n, bench.MinFrames)
	}
	if n := c.Int("rounds"); n < 1 || n > 20 {
		return fmt.Errorf("rounds: %d: want 1 to 20", n)
	}
	if c.Int("warmup") < 0 {
		return fmt.Errorf("warmup: %d: want 0 or more", c.Int("warmup"))
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if len(cfg.Sources) != 1 {
		return fmt.Errorf("source: bench takes one video file, not %d sources", len(cfg.Sources))
	}
	opts, err := detectorOptions(cfg)
	if err != nil {
		return err
	}
	backend, err := chooseBackend(cfg.Backend)
	if err != nil {
		return err
	}
	if backend == "tensorrt" {
		return errors.New("backend tensorrt: bench does not drive the TensorRT engine yet (issue 3): use --backend opencv")
	}
	model, err := infer.Open(opts)
	if err != nil {
		return err
	}
	if cfg.Threads > 0 {
		if err := infer.SetNumThreads(cfg.Threads); err != nil {
			return err
		}
	}
	mode, _ := post.ParseBlurMode(cfg.Blur)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stderr := c.App.ErrWriter
	rep, err := bench.Run(ctx, bench.Options{
		Source: cfg.Sources[0], Replay: c.String("replay"),
		Frames: c.Int("frames"), Warmup: c.Int("warmup"), Modes: modes,
		Model: model, Backend: backend, Threads: cfg.Threads, Queue: cfg.Queue,
		Blur: post.BlurOptions{
			Mode: mode, Ellipse: cfg.BlurShape == "ellipse", Pad: float32(cfg.BlurPad),
			Strength: 0.5, Blocks: 8, Color: color.RGBA{0, 0, 0, 0},
		},
		Python:         bench.PythonOptions{Interpreter: c.String("python"), Script: c.String("python-script"), Threads: c.Int("python-threads")},
		Dir:            c.String("report"),
		Rounds:         c.Int("rounds"),
		TimelineFrames: c.Int("timeline-frames"),
		Log:            func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(c.App.Writer); err != nil {
		return err
	}
	dir := c.String("report")
	fmt.Fprintf(stderr, "conveyor: wrote %s, %s and %s\n", filepath.Join(dir, bench.JSONFile), filepath.Join(dir, bench.HTMLFile), filepath.Join(dir, bench.TextFile))
	return ctxErr(ctx)
}

// ctxErr turns an interrupted bench into an error: its figures would be of
// a partial run.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: stopped: %w", err)
	}
	return nil
}
