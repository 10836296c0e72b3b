package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/mq"
)

// consumeOptions are the options of `conveyor consume`: the queue's, from
// mq.ConsumeConfig, and where the messages go.
type consumeOptions struct {
	MQ     mq.ConsumeConfig `yaml:",inline"`
	Out    string           `yaml:"out" usage:"append the messages to this file instead of writing them to stdout"`
	Dedupe int              `yaml:"dedupe" usage:"remember the ids of this many messages and skip one delivered again (0 = off)"`
}

// defaultConsumeOptions: no --amqp means CONVEYOR_AMQP_URL (--amqp env).
func defaultConsumeOptions() consumeOptions {
	return consumeOptions{MQ: mq.ConsumeConfig{Exchange: "conveyor"}, Dedupe: 100_000}
}

// Validate checks the options, naming each by its key.
func (o consumeOptions) Validate() error {
	if o.Dedupe < 0 {
		return fmt.Errorf("dedupe: %d: want 0 or more", o.Dedupe)
	}
	return o.MQ.Validate()
}

// consumeCommand is `conveyor consume`: the receiving end of --amqp. It
// declares and binds a queue (quorum when named, an exclusive classic one
// when not), writes each message as a JSON line and acknowledges it after
// the line is written; it reconnects to any node of the cluster after a
// node or broker restart, and ends on ^C.
func consumeCommand() *cli.Command {
	d := defaultConsumeOptions()
	return &cli.Command{
		Name:  "consume",
		Usage: "receive conveyor's RabbitMQ messages and print them as JSON lines",
		Description: `Examples:
   conveyor consume --amqp amqp://guest:guest@localhost:5672/ --binding 'faces.#' --out events.jsonl
   conveyor consume --amqp amqp://n1:5672/,amqp://n2:5672/,amqp://n3:5672/ --queue faces --queue-type quorum --binding 'faces.#'

Several consumers naming one --queue share its messages. Without --amqp the
nodes come from CONVEYOR_AMQP_URL. docs/SCALING.md describes the topologies.`,
		Flags:        optionFlags(&d),
		OnUsageError: unknownFlag,
		Action:       consumeAction,
	}
}

func consumeAction(c *cli.Context) error {
	opts := defaultConsumeOptions()
	applyFlags(c, &opts)
	if err := opts.Validate(); err != nil {
		return err
	}
	cfg := opts.MQ
	if len(cfg.URLs) == 0 {
		cfg.URLs = mq.URLs{"env"}
	}
	urls, err := amqpURLs(cfg.URLs)
	if err != nil {
		return err
	}
	var w io.Writer = c.App.Writer
	if path := opts.Out; path != "" && path != "-" {
		// Appended to: a consumer restarted by its supervisor keeps what
		// the last one wrote.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("out: %w", err)
		}
		defer f.Close()
		w = f
	}
	stderr := c.App.ErrWriter
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.URLs, cfg.Declare = urls, true
	cfg.Ready = func(q string) { fmt.Fprintf(stderr, "conveyor: consuming from queue %s\n", q) }
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(stderr, "conveyor: "+strings.TrimPrefix(format, "mq: ")+"\n", args...)
	}
	var handled atomic.Int64
	lines := mq.JSONLines(w)
	h := func(ctx context.Context, d mq.Delivery) error {
		if err := lines(ctx, d); err != nil {
			return err
		}
		handled.Add(1)
		return nil
	}
	var dd *mq.Deduper
	if opts.Dedupe > 0 {
		dd = mq.NewDeduper(opts.Dedupe)
		h = dd.Wrap(h)
	}
	err = mq.Consume(ctx, cfg, h)
	summary := fmt.Sprintf("conveyor: consumed %d messages", handled.Load())
	if dd != nil {
		dups, redelivered := dd.Duplicates()
		summary += fmt.Sprintf(" (%d duplicates skipped, %d redelivered)", dups, redelivered)
	}
	fmt.Fprintln(stderr, summary)
	if ctx.Err() != nil {
		return nil // stopped by the user
	}
	return err
}
