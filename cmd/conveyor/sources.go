package main

import (
	"github.com/conveyor-vision/conveyor/camera"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/realsense"
)

// Source schemes beyond camera's own (files, v4l2, rtsp, gst, image
// folders, pattern) are registered here, where the adapters meet: camera
// cannot import realsense (both are sources; neither knows the other), so
// the command wires realsense:// into camera.Open. A new source kind (a
// thermal camera, say) is one more camera.Register line here.
func init() {
	camera.Register("realsense", func(uri string, _ camera.Options) (pipeline.Source, error) {
		s, err := realsense.Open(uri)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}
