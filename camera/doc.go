// Package camera opens frame sources by URI: video files, V4L2/USB cameras,
// RTSP streams (with reconnect and back-off), CSI cameras through a
// GStreamer capture string, image folders and globs, and a synthetic test
// pattern. Other packages add schemes with Register (realsense:// does).
//
// Files and network streams are decoded by FFmpeg inside OpenCV, or by a
// hardware decoder (decode.go, Options.Decoder): Jetson's nvv4l2decoder in
// a GStreamer pipeline conveyor builds from the URI, or FFmpeg's CUDA or
// VA-API decoding in an ffmpeg process that hands over raw frames
// (ffmpegpipe.go; killed with conveyor).
//
// Every source is a pipeline.Source. Read is called from one goroutine; the
// Mat in each returned Frame belongs to the frame. Live sources stamp
// Frame.Captured at capture; files stamp it when the frame is decoded.
package camera
