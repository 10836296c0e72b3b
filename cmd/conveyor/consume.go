package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/mq"
)

// consumeConfig is what `conveyor consume` needs.
type consumeConfig struct {
	URL      string   `yaml:"amqp" usage:"RabbitMQ broker: amqp[s]://user:pass@host:5672/vhost, or env to read CONVEYOR_AMQP_URL"`
	CAFile   string   `yaml:"amqp-ca" usage:"PEM CA file for amqps://"`
	Exchange string   `yaml:"exchange" usage:"exchange to bind to"`
	Bindings []string `yaml:"binding" usage:"binding key (repeatable; default #)"`
	Queue    string   `yaml:"queue" usage:"durable queue name (default: an exclusive queue that goes away with the consumer)"`
	Out      string   `yaml:"out" usage:"write the messages here instead of stdout"`
}

func defaultConsumeConfig() consumeConfig { return consumeConfig{URL: "env", Exchange: "conveyor"} }

// consumeCommand is `conveyor consume`: the receiving end of --amqp, as the
// seed's receiver script was: bind a queue, print or write the messages,
// acknowledge them.
func consumeCommand() *cli.Command {
	d := defaultConsumeConfig()
	return &cli.Command{
		Name:  "consume",
		Usage: "receive conveyor's RabbitMQ messages and print them as JSON lines",
		Description: `Example:
   conveyor consume --amqp amqp://guest:guest@localhost:5672/ --binding 'faces.#' --out events.jsonl`,
		Flags:        optionFlags(&d),
		OnUsageError: unknownFlag,
		Action: func(c *cli.Context) error {
			cfg := defaultConsumeConfig()
			applyFlags(c, &cfg)
			url, err := amqpURL(cfg.URL)
			if err != nil {
				return err
			}
			var w io.Writer = c.App.Writer
			if path := cfg.Out; path != "" && path != "-" {
				f, err := os.Create(path)
				if err != nil {
					return fmt.Errorf("out: %w", err)
				}
				defer f.Close()
				w = f
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = mq.Consume(ctx, mq.ConsumeConfig{
				Endpoint: mq.Endpoint{URL: url, CAFile: cfg.CAFile},
				Exchange: cfg.Exchange,
				Declare:  true,
				Bindings: cfg.Bindings,
				Queue:    cfg.Queue,
				Ready: func(q string) {
					fmt.Fprintf(c.App.ErrWriter, "conveyor: consuming from queue %s\n", q)
				},
			}, mq.JSONLines(w))
			if ctx.Err() != nil {
				return nil // stopped by the user
			}
			return err
		},
	}
}
