package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// newApp builds the command line. Tests run it with arguments and their own
// writers.
func newApp() *cli.App {
	return &cli.App{
		Name:      "conveyor",
		Usage:     "a video-analytics pipeline in Go: detect, blur, publish",
		Version:   version,
		Writer:    os.Stdout,
		ErrWriter: os.Stderr,
		// Errors are printed once, by main, as one line.
		ExitErrHandler: func(*cli.Context, error) {},
		// A source is one value even with commas in it (a GStreamer caps
		// string: video/x-raw,width=1280).
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			runCommand(),
			benchCommand(),
			engineCommand(),
			consumeCommand(),
			devicesCommand(),
		},
	}
}

// oneLine flattens an error for the one-line message on exit.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
