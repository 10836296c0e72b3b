// rs2.c loads librealsense2 with dlopen and calls it through a table of
// function pointers, so that conveyor builds and runs where the library is
// absent and one binary works with 2.50 to 2.59. See rs2.h.
#include "rs2.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRS_FIELD(ret, name, params, args) ret(*name) params;
#define CRS_FIELDV(name, params, args) void(*name) params;
static struct {
	CRS_FUNCS(CRS_FIELD, CRS_FIELDV)
} crs_fn;

static const char *crs_names[] = {
#define CRS_NAME(ret, name, params, args) "rs2_" #name,
#define CRS_NAMEV(name, params, args) "rs2_" #name,
	CRS_FUNCS(CRS_NAME, CRS_NAMEV)
};

static void *crs_handle;

int crs_load(const char *path, const char *preload, char *msg, size_t n) {
	if (crs_handle != NULL) {
		return 0;
	}
	if (preload != NULL) {
		// Kept open for the life of the process, like the library itself.
		if (dlopen(preload, RTLD_NOW | RTLD_GLOBAL) == NULL) {
			snprintf(msg, n, "%s", dlerror());
			return -1;
		}
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(msg, n, "%s", dlerror());
		return -1;
	}
	void **slots = (void **)&crs_fn;
	size_t count = sizeof(crs_names) / sizeof(crs_names[0]);
	for (size_t i = 0; i < count; i++) {
		dlerror();
		void *p = dlsym(h, crs_names[i]);
		if (p == NULL) {
			snprintf(msg, n, "%s", crs_names[i]);
			memset(&crs_fn, 0, sizeof crs_fn);
			dlclose(h);
			return -2;
		}
		slots[i] = p;
	}
	crs_handle = h;
	return 0;
}

// The trampolines: cgo cannot call a C function pointer directly.
#define CRS_TRAMP(ret, name, params, args) \
	ret crs_##name params { return crs_fn.name args; }
#define CRS_TRAMPV(name, params, args) \
	void crs_##name params { crs_fn.name args; }
CRS_FUNCS(CRS_TRAMP, CRS_TRAMPV)

int crs_copy_frame(const rs2_frame *f, void *dst, int dst_stride, int rows, int row_bytes, int swap_rb, rs2_error **err) {
	const unsigned char *src = crs_fn.get_frame_data(f, err);
	if (*err != NULL) {
		return -1;
	}
	int stride = crs_fn.get_frame_stride_in_bytes(f, err);
	if (*err != NULL) {
		return -1;
	}
	unsigned char *out = dst;
	if (!swap_rb && stride == row_bytes && dst_stride == row_bytes) {
		memcpy(out, src, (size_t)rows * (size_t)row_bytes);
		return 0;
	}
	for (int y = 0; y < rows; y++) {
		const unsigned char *s = src + (size_t)y * (size_t)stride;
		unsigned char *d = out + (size_t)y * (size_t)dst_stride;
		if (!swap_rb) {
			memcpy(d, s, (size_t)row_bytes);
			continue;
		}
		for (int x = 0; x + 2 < row_bytes; x += 3) {
			d[x] = s[x + 2];
			d[x + 1] = s[x + 1];
			d[x + 2] = s[x];
		}
	}
	return 0;
}

void crs_inject(rs2_sensor *s, const rs2_stream_profile *p, const void *src, int src_stride, int rows, int row_bytes,
		int bpp, double ts_ms, int frame_number, float depth_units, rs2_error **err) {
	unsigned char *buf = malloc((size_t)rows * (size_t)row_bytes);
	if (buf == NULL) {
		return; // dropped: nothing to report through rs2_error
	}
	for (int y = 0; y < rows; y++) {
		memcpy(buf + (size_t)y * (size_t)row_bytes, (const unsigned char *)src + (size_t)y * (size_t)src_stride,
		       (size_t)row_bytes);
	}
	rs2_software_video_frame f;
	memset(&f, 0, sizeof f);
	f.pixels = buf;
	f.deleter = free; // always called by librealsense, even for a dropped frame
	f.stride = row_bytes;
	f.bpp = bpp;
	f.timestamp = ts_ms;
	f.domain = 0; // RS2_TIMESTAMP_DOMAIN_HARDWARE_CLOCK
	f.frame_number = frame_number;
	f.profile = p;
	f.depth_units = depth_units;
	crs_fn.software_sensor_on_video_frame(s, f, err);
}

// crs_to_block is the sensor callback: it owns f and hands it to the block.
static void crs_to_block(rs2_frame *f, void *user) {
	crs_fn.process_frame((rs2_processing_block *)user, f, NULL);
}

void crs_start_to_block(rs2_sensor *s, rs2_processing_block *block, rs2_error **err) {
	crs_fn.start(s, crs_to_block, block, err);
}
