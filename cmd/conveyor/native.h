// native.h: what conveyor sets in OpenCV itself (native.go).
#ifndef CONVEYOR_NATIVE_H
#define CONVEYOR_NATIVE_H

#ifdef __cplusplus
extern "C" {
#endif

// conveyor_quiet_opencv turns OpenCV's own log off (cv::utils::logging::
// setLogLevel(LOG_LEVEL_SILENT)). It never throws. Nothing to release.
void conveyor_quiet_opencv(void);

#ifdef __cplusplus
}
#endif

#endif
