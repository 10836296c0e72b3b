package main

import (
	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/trt"
)

func trtBuild(c *cli.Context) error {
	_, err := trt.Build(c.Context, trt.BuildOptions{})
	return err
}
