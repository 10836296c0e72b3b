// Package realsense reads Intel RealSense cameras and .bag recordings as a
// pipeline.Source: colour (BGR8) plus Z16 depth aligned to colour by
// librealsense's own align block, the depth scale, frame numbers and
// timestamps; it lists connected devices (Devices) and offers a
// SoftwareDevice, a camera made of software, for tests and demos.
//
// Files: source.go is the Source (Open, Read, Close), device.go starts,
// stops and reconnects the device or recording, frames.go turns framesets
// into Frames, config.go parses realsense:// URIs, devices.go lists
// devices, software.go is the SoftwareDevice, lib.go and rs2.c load the
// library. conveyor registers the realsense:// scheme with camera.Open in
// cmd/conveyor/sources.go.
//
// librealsense2 is loaded at run time with dlopen (rs2.c), so conveyor
// builds and runs where it is absent: every entry point then returns
// ErrNoLibrary with what to install. REALSENSE_LIB overrides the search
// (librealsense2.so.2.69 down to .2.50, librealsense2.so, then a
// pip-installed pyrealsense2, whose extension module has the library linked
// in). The C functions used are declared in rs2.h/rs2_funcs.h, not taken
// from librealsense's headers, and called through trampolines; each
// rs2_error is turned into an *Error and freed in one helper (rsError).
//
// Threading: a Source is read by one goroutine (pipeline.Source's rule);
// blocking waits inside librealsense are bounded by Config.Wait so that Read
// sees ctx. No Go callback runs on librealsense's threads: frames are taken
// from frame queues, and a SoftwareDevice's sensors feed a syncer through a
// C callback.
//
// Ownership: every rs2 object is released by the function that made it or
// by Close, in reverse order of creation; each create call is commented
// with its release call. Pixels are copied once, C to C, into a new
// OpenCV-owned Mat before the rs2 frame is released; the Frame owns those
// Mats. The caller closes each Source and SoftwareDevice (Close is
// idempotent); close a Source before the SoftwareDevice it reads.
package realsense
