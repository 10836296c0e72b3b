// Package depth gives every detected object its distance from the camera, in
// metres, from the frame's aligned depth map (Frame.Depth, Z16, times
// Frame.DepthScale): a pipeline.Processor that runs after the decoder (and
// the tracker), and a Colorizer that turns depth into a picture for a depth
// video.
//
// The distance is a robust statistic (the median by default, or another
// percentile) over the valid (non-zero) depth pixels inside the central part
// of each box: zeros are "no depth", and the box's edges hold background.
// It is pure Go over the Mat's bytes, so it needs neither librealsense nor a
// camera.
//
// Threading: a Processor or Colorizer is used by one goroutine at a time
// (the line gives each worker its own). Ownership: Process reads the frame's
// Mats and changes only f.Objects; Colorizer owns its scratch Mats and the
// caller owns dst. Close each Processor and Colorizer once.
package depth
