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

// consumeCommand is `conveyor consume`: the receiving end of --amqp, as the
// seed's receiver script was: bind a queue, print or write the messages,
// acknowledge them.
func consumeCommand() *cli.Command {
	return &cli.Command{
		Name:  "consume",
		Usage: "receive conveyor's RabbitMQ messages and print them as JSON lines",
		Description: `Example:
   conveyor consume --amqp amqp://guest:guest@localhost:5672/ --binding 'faces.#' --out events.jsonl`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "amqp", Usage: "broker URL (default: CONVEYOR_AMQP_URL)"},
			&cli.StringFlag{Name: "amqp-ca", Usage: "PEM CA file for amqps://"},
			&cli.StringFlag{Name: "exchange", Usage: "exchange to bind to", Value: "conveyor"},
			&cli.StringSliceFlag{Name: "binding", Usage: "binding key (repeatable; default #)"},
			&cli.StringFlag{Name: "queue", Usage: "durable queue name (default: an exclusive queue that goes away with the consumer)"},
			&cli.StringFlag{Name: "out", Usage: "write the messages here instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			var w io.Writer = c.App.Writer
			if path := c.String("out"); path != "" && path != "-" {
				f, err := os.Create(path)
				if err != nil {
					return fmt.Errorf("out: %w", err)
				}
				defer f.Close()
				w = f
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := mq.Consume(ctx, mq.ConsumeConfig{
				Endpoint: mq.Endpoint{URL: c.String("amqp"), CAFile: c.String("amqp-ca")},
				Exchange: c.String("exchange"),
				Declare:  true,
				Bindings: c.StringSlice("binding"),
				Queue:    c.String("queue"),
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
