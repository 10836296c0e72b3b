package main

import (
	"github.com/urfave/cli/v2"
)

// engineCommand is `conveyor engine`: TensorRT engine builds (package trt).
func engineCommand() *cli.Command {
	return &cli.Command{
		Name:  "engine",
		Usage: "TensorRT engines: build and cache them from ONNX",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build a TensorRT engine from an ONNX model",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "onnx", Usage: "ONNX model", Required: true},
			},
			Action: func(c *cli.Context) error {
				return trtBuild(c)
			},
		}},
	}
}
