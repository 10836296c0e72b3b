package main

/*
#include "native.h"
*/
import "C"

import "os"

// nativeLogDefaults silence the lines OpenCV and FFmpeg print on stderr
// themselves, so that conveyor's output is what the README promises: a
// failure is one line. What they would say reaches conveyor anyway, as an
// error it prints (OpenCV's exception text, "cannot open").
//
// OPENCV_LOG_LEVEL is OpenCV's own log (its DNN errors, its GStreamer
// warnings). OpenCV reads it when its library loads, before main runs, so
// quietNativeLogs sets the level with a call (native.cpp) rather than with
// the variable. OPENCV_FFMPEG_LOGLEVEL is the av_log level OpenCV gives
// FFmpeg ("[tcp @ 0x…] Connection refused"; -8 is AV_LOG_QUIET): OpenCV
// reads it the first time it opens a video through FFmpeg, after main
// starts, and Go's os.Setenv reaches C's environment.
var nativeLogDefaults = map[string]string{
	"OPENCV_LOG_LEVEL":       "SILENT",
	"OPENCV_FFMPEG_LOGLEVEL": "-8",
}

// quietNativeLogs applies nativeLogDefaults, except those the user has set:
// OPENCV_LOG_LEVEL=INFO or OPENCV_FFMPEG_LOGLEVEL=32 bring the lines back
// for debugging.
func quietNativeLogs() {
	for k, v := range nativeLogDefaults {
		if _, set := os.LookupEnv(k); set {
			continue
		}
		_ = os.Setenv(k, v)
		if k == "OPENCV_LOG_LEVEL" {
			C.conveyor_quiet_opencv()
		}
	}
}
