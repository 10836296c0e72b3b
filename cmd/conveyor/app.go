package main

import (
	"os"
	"regexp"
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
			auditCommand(),
			engineCommand(),
			consumeCommand(),
			devicesCommand(),
		},
	}
}

// oneLine flattens an error for the one-line message on exit, and says
// each prefix once: errors wrapped by layers that each name the package
// ("infer: infer: model …") read "infer: model …".
func oneLine(err error) string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	parts := strings.Split(s, ": ")
	out := []string{parts[0]}
	for _, p := range parts[1:] {
		if p == out[len(out)-1] && prefixWord.MatchString(p) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}

// prefixWord is what a package or stage calls itself in an error: "infer".
var prefixWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
