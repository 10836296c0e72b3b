// Package camera opens frame sources by URI: video files, V4L2/USB cameras,
// RTSP streams (with reconnect and back-off), CSI cameras through a
// GStreamer capture string, image folders and globs, and a synthetic test
// pattern. Other packages add schemes with Register (realsense:// does).
//
// Every source is a pipeline.Source. Read is called from one goroutine; the
// Mat in each returned Frame belongs to the frame. Live sources stamp
// Frame.Captured at capture; files stamp it when the frame is decoded.
package camera
