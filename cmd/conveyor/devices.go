package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-vision/conveyor/realsense"
)

// devicesCommand is `conveyor devices`: the cameras conveyor can open.
func devicesCommand() *cli.Command {
	return &cli.Command{
		Name:  "devices",
		Usage: "list RealSense devices (serial, model, firmware, stream profiles) and V4L2 cameras",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			devs, err := realsense.Devices()
			switch {
			case err != nil:
				fmt.Fprintf(w, "RealSense: %v\n", err)
			case len(devs) == 0:
				fmt.Fprintln(w, "RealSense: no device connected")
			}
			for _, d := range devs {
				fmt.Fprintf(w, "RealSense %s  serial %s  firmware %s  USB %s\n  source: realsense://?serial=%s\n", d.Name, d.Serial, d.Firmware, d.USBType, d.Serial)
				for _, line := range strings.Split(strings.TrimSpace(d.ProfileSummary()), "\n") {
					fmt.Fprintf(w, "  %s\n", line)
				}
			}
			v4l, _ := filepath.Glob("/dev/video*")
			sort.Strings(v4l)
			if len(v4l) == 0 {
				fmt.Fprintln(w, "V4L2: no /dev/video* device")
			}
			for _, dev := range v4l {
				name := dev
				base := filepath.Base(dev)
				if b, err := os.ReadFile("/sys/class/video4linux/" + base + "/name"); err == nil {
					name = strings.TrimSpace(string(b))
				}
				fmt.Fprintf(w, "V4L2 %s  %s\n  source: v4l2://%s\n", dev, name, dev)
			}
			return nil
		},
	}
}
