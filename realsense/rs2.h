// rs2.h declares the part of librealsense2's C API that this package uses,
// and the crs_* trampolines (rs2.c) that call it through function pointers
// resolved at run time with dlsym.
//
// Why not include <librealsense2/rs.h>? The headers are not installed on the
// machines conveyor builds on (no Debian package ships them), and
// h/rs_internal.h, needed for software devices, is not valid C (see
// ../shared/notes/REALSENSE.md section 9). So the types, enum values and
// signatures below are declared here from the public API (2.50 to 2.59 share
// them: enums only ever grew at the end). realsense_test.go checks every enum
// value against the loaded library's *_to_string functions.
//
// Change here, change there: rs2.c's CRS_FUNCS list, and consts.go.
#ifndef CONVEYOR_RS2_H
#define CONVEYOR_RS2_H

#include <stddef.h>

// Opaque handles: each create call's comment in rs2.c names its release call.
typedef struct rs2_error rs2_error;
typedef struct rs2_context rs2_context;
typedef struct rs2_config rs2_config;
typedef struct rs2_pipeline rs2_pipeline;
typedef struct rs2_pipeline_profile rs2_pipeline_profile;
typedef struct rs2_device rs2_device;
typedef struct rs2_device_list rs2_device_list;
typedef struct rs2_sensor rs2_sensor;
typedef struct rs2_sensor_list rs2_sensor_list;
typedef struct rs2_stream_profile rs2_stream_profile;
typedef struct rs2_stream_profile_list rs2_stream_profile_list;
typedef struct rs2_frame rs2_frame;
typedef struct rs2_frame_queue rs2_frame_queue;
typedef struct rs2_processing_block rs2_processing_block;

// Enums are passed as int: the C ABI passes a C enum as an int.
typedef double rs2_time_t;

typedef struct rs2_intrinsics {
	int width, height;
	float ppx, ppy, fx, fy;
	int model; // rs2_distortion
	float coeffs[5];
} rs2_intrinsics;

typedef struct rs2_extrinsics {
	float rotation[9];    // column-major 3x3
	float translation[3]; // metres
} rs2_extrinsics;

// rs2_video_stream and rs2_software_video_frame come from h/rs_internal.h.
typedef struct rs2_video_stream {
	int type; // rs2_stream
	int index, uid, width, height, fps;
	int bpp; // bytes per pixel
	int fmt; // rs2_format
	rs2_intrinsics intrinsics;
} rs2_video_stream;

typedef struct rs2_software_video_frame {
	void *pixels;
	void (*deleter)(void *);
	int stride, bpp; // bytes
	rs2_time_t timestamp; // ms
	int domain; // rs2_timestamp_domain
	int frame_number;
	const rs2_stream_profile *profile;
	float depth_units;
} rs2_software_video_frame;

// crs_load opens the library at path (dlopen) and resolves every function
// this package uses. It returns 0 on success; otherwise it writes a message
// to msg (n bytes) and returns -1 (cannot open) or -2 (a symbol is
// missing: library too old), leaving no handle open. Not thread-safe: the Go
// side serializes it. preload, when not NULL, is dlopened first with
// RTLD_GLOBAL (libpython, for a pyrealsense2 extension module).
int crs_load(const char *path, const char *preload, char *msg, size_t n);

// crs_copy_frame copies a video frame's pixels into dst (rows of dst_stride
// bytes), row by row because the frame's stride may exceed its row size.
// swap_rb turns RGB8 into BGR8 on the way. Returns 0, or -1 with *err set.
int crs_copy_frame(const rs2_frame *f, void *dst, int dst_stride, int rows, int row_bytes, int swap_rb, rs2_error **err);

// crs_inject copies rows x row_bytes bytes from src (stride src_stride) into
// a malloc'ed buffer that librealsense frees with free() when it is done
// (the software sensor keeps the pointer: it must be C memory).
void crs_inject(rs2_sensor *s, const rs2_stream_profile *p, const void *src, int src_stride, int rows, int row_bytes,
		int bpp, double ts_ms, int frame_number, float depth_units, rs2_error **err);

// crs_start_to_block starts a sensor whose frames go to a processing block
// (a syncer), with a C callback: no Go callback runs on librealsense threads.
void crs_start_to_block(rs2_sensor *s, rs2_processing_block *block, rs2_error **err);

#define CRS_DECL
#include "rs2_funcs.h"
#undef CRS_DECL

#endif
