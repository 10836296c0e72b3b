package main

import (
	"errors"
	"fmt"
	"log"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/trt"
)

// engineCommand is `conveyor engine`: TensorRT engine builds (package trt).
func engineCommand() *cli.Command {
	return &cli.Command{
		Name:  "engine",
		Usage: "TensorRT engines: build them from ONNX into the cache or a file",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build a TensorRT engine from an ONNX model",
			Description: `Example:
   conveyor engine build --onnx yunet_s_dynamic.onnx --fp16 --batch 1:4:8 \
       --shape input=1x3x320x320:4x3x640x640:8x3x640x640 --out yunet.engine

Engines are cached by the ONNX file's sha256, the TensorRT version, the GPU and
its compute capability, the precision and the profile shapes; a plan built by
another TensorRT or GPU is rebuilt automatically.`,
			Flags: engineFlags(),
			Action: func(c *cli.Context) error {
				o, err := buildOptions(c)
				if err != nil {
					return err
				}
				if c.Bool("dynamic-hw") {
					if o.ONNX, err = dynamicHW(o); err != nil {
						return err
					}
				}
				path, err := trt.Build(c.Context, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "conveyor: engine %s\n", path)
				return nil
			},
		}},
	}
}

func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "onnx", Usage: "ONNX model", Required: true},
		&cli.StringFlag{Name: "out", Usage: "also write the plan here (default: the cache only)"},
		&cli.BoolFlag{Name: "fp16", Usage: "allow FP16 kernels (same as --precision fp16)"},
		&cli.StringFlag{Name: "precision", Usage: "fp32, fp16 or int8", Value: "fp32"},
		&cli.StringFlag{Name: "calib-cache", Usage: "INT8 calibration cache (required for int8)"},
		&cli.StringFlag{Name: "batch", Usage: "dynamic batch profile min:opt:max, e.g. 1:4:8", Value: "1:1:1"},
		&cli.BoolFlag{Name: "dynamic-hw", Usage: "build from a copy of the model with a dynamic input height and width (for a model exported at one size that runs at any, such as YuNet 2022mar at 160x120); needs --shape"},
		&cli.StringSliceFlag{Name: "shape", Usage: "profile for an input with dynamic H/W: name=NxCxHxW:…:… (min:opt:max)"},
		&cli.Int64Flag{Name: "workspace", Usage: "builder workspace in MiB (0 = 1024)"},
		&cli.StringFlag{Name: "timing-cache", Usage: "timing cache file (default: one in the cache dir)"},
		&cli.StringFlag{Name: "cache-dir", Usage: "engine cache (default: $XDG_CACHE_HOME/conveyor/engines)"},
		&cli.IntFlag{Name: "device", Usage: "CUDA device index"},
	}
}

// dynamicHW writes the copy of o.ONNX with a dynamic input height and
// width that --dynamic-hw asks for (dynamicCopy) and returns its path.
func dynamicHW(o trt.BuildOptions) (string, error) {
	if len(o.Shapes) == 0 {
		return "", errors.New("engine build: --dynamic-hw needs --shape (the input sizes the engine takes)")
	}
	info, err := models.ReadONNX(o.ONNX)
	if err != nil {
		return "", err
	}
	if len(info.Inputs) != 1 {
		return "", fmt.Errorf("engine build: --dynamic-hw: %s has %d inputs, want 1", o.ONNX, len(info.Inputs))
	}
	return dynamicCopy(o.CacheDir, o.ONNX, info.Inputs[0].Name)
}

// buildOptions turns the flags into trt.BuildOptions and validates them
// without touching TensorRT.
func buildOptions(c *cli.Context) (trt.BuildOptions, error) {
	prec := c.String("precision")
	if c.Bool("fp16") {
		prec = "fp16"
	}
	p, err := trt.ParsePrecision(prec)
	if err != nil {
		return trt.BuildOptions{}, err
	}
	batch, err := trt.ParseBatch(c.String("batch"))
	if err != nil {
		return trt.BuildOptions{}, err
	}
	var shapes []trt.ShapeRange
	for _, s := range c.StringSlice("shape") {
		r, err := trt.ParseShape(s)
		if err != nil {
			return trt.BuildOptions{}, err
		}
		shapes = append(shapes, r)
	}
	o := trt.BuildOptions{
		ONNX:             c.String("onnx"),
		Out:              c.String("out"),
		Precision:        p,
		CalibrationCache: c.String("calib-cache"),
		Batch:            batch,
		Shapes:           shapes,
		Workspace:        c.Int64("workspace") << 20,
		TimingCache:      c.String("timing-cache"),
		CacheDir:         c.String("cache-dir"),
		Device:           c.Int("device"),
		Logf:             log.Printf,
	}
	return o, o.Validate()
}
