package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the line: detect faces in every source, blur them, write the outputs",
		Description: `Examples:
   conveyor run --source clip.mp4 --out blurred.mp4 --jsonl events.jsonl
   conveyor run --source rtsp://cam/stream --reconnect -1 --jsonl - --osd --window
   conveyor run --config conveyor.yaml --source v4l2:///dev/video0

Every option is also a key of the --config file (docs/CONFIG.md).`,
		Flags:        runFlags(),
		Action:       runAction,
		OnUsageError: unknownFlag,
	}
}

func runAction(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	logOutput = stderr
	// The first SIGINT/SIGTERM drains the line and finalizes the outputs; a
	// second one ends the process at once.
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Run.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Run.Duration)
		defer cancel()
	}
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	go func() {
		<-ctx.Done()
		stop() // restore default signal handling: a second ^C kills
	}()

	b, err := build(ctx, cfg, quit)
	if err != nil {
		return err
	}
	if b.web != nil {
		fmt.Fprintf(stderr, "conveyor: live view on %s (metrics on %smetrics)\n", b.web.URL(), b.web.URL())
		for _, note := range b.web.Notes() {
			fmt.Fprintf(stderr, "conveyor: %s\n", note)
		}
	}
	bar := newProgress(cfg, b, stderr)
	if bar != nil {
		_ = b.line.Probe("sink", pipeline.Out, func(*pipeline.Frame) bool { _ = bar.Add(1); return true })
	}
	runErr := b.line.Run(ctx)
	b.after.close()
	if cfg.AMQP.StartOffline && errors.Is(runErr, mq.ErrUnconfirmed) && onlyUnconfirmed(runErr) {
		runErr = nil // counted as dropped and printed in the summary
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	st := b.line.Stats()
	printSummary(stderr, cfg, b, st)
	if cfg.Run.SummaryJSON != "" {
		if err := writeSummaryJSON(cfg.Run.SummaryJSON, b, st); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// onlyUnconfirmed says whether err is nothing but mq's "left unconfirmed".
func onlyUnconfirmed(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyUnconfirmed(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, mq.ErrUnconfirmed)
}

// newProgress makes a progress bar for file inputs when stderr is a
// terminal (or --progress always).
func newProgress(cfg Config, b *built, w io.Writer) *progressbar.ProgressBar {
	if cfg.Run.Progress == ProgressNever {
		return nil
	}
	if cfg.Run.Progress == ProgressAuto {
		f, ok := w.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil
		}
	}
	total := int64(0)
	if cfg.Run.API {
		total = -1 // sources come and go: count frames, with no end in sight
	}
	for _, s := range b.sources {
		n := s.Info().Frames
		if n < 0 || total < 0 {
			total = -1
			break
		}
		total += int64(n)
	}
	if cfg.Sources.MaxFrames > 0 && total >= 0 {
		total = min(total, cfg.Sources.MaxFrames*int64(len(b.sources)))
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("frames"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("frame"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// printSummary writes the end-of-run table: frames, FPS, latency and, per
// stage, frames in and out, drops, latency percentiles, utilization.
func printSummary(w io.Writer, cfg Config, b *built, st pipeline.Stats) {
	fmt.Fprintf(w, "conveyor: %d frames in %.2fs = %.1f FPS; latency capture→output p50 %sms p99 %sms; model %s (%s, input %s, backend %s)\n",
		st.Frames, st.Wall.Seconds(), st.FPS, ms(st.LatencyP50), ms(st.LatencyP99),
		b.model.Spec.Name, shortPath(b.model.Path), b.model.Input, b.backend)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tworkers\tin\tout\tdropped\tskipped\tp50 ms\tp99 ms\tbusy\tmax queue\t")
	for _, s := range st.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.0f%%\t%d\t\n",
			s.Name, s.Workers, s.In, s.Out, s.Dropped, s.Skipped+s.Probed, ms(s.P50), ms(s.P99), 100*s.Utilization(st.Wall), s.MaxQueue)
	}
	tw.Flush()
	fmt.Fprintf(w, "conveyor: %s%s\n", b.tuning, decoding(b))
	for _, s := range st.Stages {
		if len(s.BatchSizes) > 2 {
			var parts []string
			for size, n := range s.BatchSizes {
				if n > 0 {
					parts = append(parts, fmt.Sprintf("%d×%d", n, size))
				}
			}
			fmt.Fprintf(w, "conveyor: %s batches (count×size): %s\n", s.Name, strings.Join(parts, " "))
		}
	}
	for _, v := range []*sink.Video{b.video, b.depthVideo} {
		if v == nil {
			continue
		}
		files := v.Files()
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "conveyor: wrote %s (%d frames, %s)\n", n, files[n], v.Encoder())
		}
	}
	if b.stills != nil {
		fmt.Fprintf(w, "conveyor: wrote %d pictures to %s\n", b.stills.Written(), b.stills.Path())
	}
	// An output that met an error (a full disk) is not "wrote": the run's
	// error says what happened to it.
	if b.events != nil && cfg.Run.JSONL != "-" && b.events.Err() == nil {
		n := b.events.Counts()
		fmt.Fprintf(w, "conveyor: wrote %s (%d frame messages, %d end-of-source)\n", cfg.Run.JSONL, n.Frames, n.Ends)
	}
	if b.mq != nil {
		fmt.Fprintln(w, "conveyor: rabbitmq: "+mqSummary(b.mq.Stats()))
	}
	for _, warn := range b.warnings() {
		fmt.Fprintf(w, "conveyor: warning: %s\n", warn)
	}
}

// mqSummary is the publisher's line of the summary: every message offered
// (or recovered from the disk outbox) is confirmed, dropped (by reason) or
// kept on disk for the next run.
func mqSummary(m mq.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d offered", m.Offered)
	if m.Recovered > 0 {
		fmt.Fprintf(&b, " + %d recovered from the disk outbox", m.Recovered)
	}
	fmt.Fprintf(&b, ", %d confirmed", m.Confirmed)
	if m.Returned > 0 {
		fmt.Fprintf(&b, " (%d of them routed to no queue)", m.Returned)
	}
	fmt.Fprintf(&b, ", %d dropped", m.Dropped)
	if m.Dropped > 0 {
		fmt.Fprintf(&b, " (%s)", m.Drops())
	}
	if m.Kept > 0 {
		fmt.Fprintf(&b, ", %d kept in the disk outbox for the next run", m.Kept)
	}
	fmt.Fprintf(&b, ", %d republished, %d reconnects", m.Republished, m.Reconnects)
	return b.String()
}

// decoding says which decoders the sources use, when one is not software:
// "; decoder nvv4l2decoder".
func decoding(b *built) string {
	seen := map[string]bool{}
	var out []string
	for _, s := range b.sources {
		if d, ok := s.(interface{ Decoder() camera.Decoder }); ok && d.Decoder() != camera.DecoderSoftware && !seen[d.Decoder().String()] {
			seen[d.Decoder().String()] = true
			out = append(out, d.Decoder().String())
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; decoder " + strings.Join(out, ", ")
}

func shortPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if len(p) > len(wd)+1 && p[:len(wd)] == wd {
			return p[len(wd)+1:]
		}
	}
	return p
}

// Summary is the JSON form of a run's summary (--summary-json).
type Summary struct {
	Model    string         `json:"model"`
	Spec     string         `json:"spec"`
	Input    string         `json:"input"`
	Backend  string         `json:"backend"`
	Stats    pipeline.Stats `json:"stats"`
	Outputs  map[string]int `json:"outputs,omitempty"`
	Events   int64          `json:"events"`
	MQ       *mq.Stats      `json:"rabbitmq,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
	Tuning   Tuning         `json:"tuning"`
}

func writeSummaryJSON(path string, b *built, st pipeline.Stats) error {
	s := Summary{Model: b.model.Path, Spec: b.model.Spec.Name, Input: b.model.Input.String(), Backend: b.backend.String(), Stats: st, Warnings: b.warnings(), Tuning: b.tuning}
	if b.video != nil {
		s.Outputs = b.video.Files()
	}
	if b.stills != nil {
		s.Outputs = map[string]int{b.stills.Path(): b.stills.Written()}
	}
	if b.events != nil {
		n := b.events.Counts()
		s.Events = n.Frames + n.Ends
	}
	if b.mq != nil {
		m := b.mq.Stats()
		s.MQ = &m
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("summary-json: %w", err)
	}
	return nil
}
