// rs2_funcs.h lists every librealsense2 function this package calls, once:
// X(return type, name without the rs2_ prefix, parameters, arguments) for
// functions that return a value, XV(...) for void ones. rs2.h turns it into
// the crs_* trampoline prototypes, rs2.c into the function-pointer table, the
// dlsym loop and the trampolines. All are present in 2.50 and later.
// Change here, change there: the callers in *.go.
#define CRS_FUNCS(X, XV) \
	X(int, get_api_version, (rs2_error **e), (e)) \
	XV(free_error, (rs2_error *x), (x)) \
	X(const char *, get_error_message, (const rs2_error *x), (x)) \
	X(const char *, get_failed_function, (const rs2_error *x), (x)) \
	X(const char *, get_failed_args, (const rs2_error *x), (x)) \
	X(int, get_librealsense_exception_type, (const rs2_error *x), (x)) \
	X(const char *, stream_to_string, (int v), (v)) \
	X(const char *, format_to_string, (int v), (v)) \
	X(const char *, camera_info_to_string, (int v), (v)) \
	X(const char *, exception_type_to_string, (int v), (v)) \
	X(const char *, playback_status_to_string, (int v), (v)) \
	X(const char *, option_to_string, (int v), (v)) \
	X(rs2_context *, create_context, (int api, rs2_error **e), (api, e)) \
	XV(delete_context, (rs2_context *c), (c)) \
	X(rs2_device_list *, query_devices, (const rs2_context *c, rs2_error **e), (c, e)) \
	X(int, get_device_count, (const rs2_device_list *l, rs2_error **e), (l, e)) \
	X(rs2_device *, create_device, (const rs2_device_list *l, int i, rs2_error **e), (l, i, e)) \
	XV(delete_device_list, (rs2_device_list *l), (l)) \
	XV(delete_device, (rs2_device *d), (d)) \
	X(int, supports_device_info, (const rs2_device *d, int info, rs2_error **e), (d, info, e)) \
	X(const char *, get_device_info, (const rs2_device *d, int info, rs2_error **e), (d, info, e)) \
	X(const char *, get_sensor_info, (const rs2_sensor *s, int info, rs2_error **e), (s, info, e)) \
	X(int, supports_sensor_info, (const rs2_sensor *s, int info, rs2_error **e), (s, info, e)) \
	X(int, is_device_extendable_to, (const rs2_device *d, int ext, rs2_error **e), (d, ext, e)) \
	X(rs2_sensor_list *, query_sensors, (const rs2_device *d, rs2_error **e), (d, e)) \
	X(int, get_sensors_count, (const rs2_sensor_list *l, rs2_error **e), (l, e)) \
	X(rs2_sensor *, create_sensor, (const rs2_sensor_list *l, int i, rs2_error **e), (l, i, e)) \
	XV(delete_sensor_list, (rs2_sensor_list *l), (l)) \
	XV(delete_sensor, (rs2_sensor *s), (s)) \
	X(int, is_sensor_extendable_to, (const rs2_sensor *s, int ext, rs2_error **e), (s, ext, e)) \
	X(float, get_depth_scale, (rs2_sensor *s, rs2_error **e), (s, e)) \
	X(rs2_stream_profile_list *, get_stream_profiles, (rs2_sensor *s, rs2_error **e), (s, e)) \
	X(int, get_stream_profiles_count, (const rs2_stream_profile_list *l, rs2_error **e), (l, e)) \
	X(const rs2_stream_profile *, get_stream_profile, (const rs2_stream_profile_list *l, int i, rs2_error **e), (l, i, e)) \
	XV(delete_stream_profiles_list, (rs2_stream_profile_list *l), (l)) \
	XV(get_stream_profile_data, (const rs2_stream_profile *p, int *stream, int *format, int *index, int *uid, int *fps, rs2_error **e), (p, stream, format, index, uid, fps, e)) \
	XV(get_video_stream_resolution, (const rs2_stream_profile *p, int *w, int *h, rs2_error **e), (p, w, h, e)) \
	XV(get_video_stream_intrinsics, (const rs2_stream_profile *p, rs2_intrinsics *in, rs2_error **e), (p, in, e)) \
	X(int, is_stream_profile_default, (const rs2_stream_profile *p, rs2_error **e), (p, e)) \
	X(rs2_config *, create_config, (rs2_error **e), (e)) \
	XV(delete_config, (rs2_config *c), (c)) \
	XV(config_enable_stream, (rs2_config *c, int stream, int index, int w, int h, int format, int fps, rs2_error **e), (c, stream, index, w, h, format, fps, e)) \
	XV(config_enable_device, (rs2_config *c, const char *serial, rs2_error **e), (c, serial, e)) \
	XV(config_enable_device_from_file_repeat_option, (rs2_config *c, const char *file, int repeat, rs2_error **e), (c, file, repeat, e)) \
	X(rs2_pipeline *, create_pipeline, (rs2_context *c, rs2_error **e), (c, e)) \
	XV(delete_pipeline, (rs2_pipeline *p), (p)) \
	X(rs2_pipeline_profile *, pipeline_start_with_config, (rs2_pipeline *p, rs2_config *c, rs2_error **e), (p, c, e)) \
	XV(pipeline_stop, (rs2_pipeline *p, rs2_error **e), (p, e)) \
	X(int, pipeline_try_wait_for_frames, (rs2_pipeline *p, rs2_frame **out, unsigned int ms, rs2_error **e), (p, out, ms, e)) \
	XV(delete_pipeline_profile, (rs2_pipeline_profile *p), (p)) \
	X(rs2_device *, pipeline_profile_get_device, (rs2_pipeline_profile *p, rs2_error **e), (p, e)) \
	X(rs2_stream_profile_list *, pipeline_profile_get_streams, (rs2_pipeline_profile *p, rs2_error **e), (p, e)) \
	XV(playback_device_set_real_time, (const rs2_device *d, int rt, rs2_error **e), (d, rt, e)) \
	X(int, playback_device_get_current_status, (const rs2_device *d, rs2_error **e), (d, e)) \
	X(int, embedded_frames_count, (rs2_frame *f, rs2_error **e), (f, e)) \
	X(rs2_frame *, extract_frame, (rs2_frame *f, int i, rs2_error **e), (f, i, e)) \
	XV(release_frame, (rs2_frame *f), (f)) \
	X(const void *, get_frame_data, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, get_frame_width, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, get_frame_height, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, get_frame_stride_in_bytes, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, get_frame_bits_per_pixel, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(rs2_time_t, get_frame_timestamp, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, get_frame_timestamp_domain, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(unsigned long long, get_frame_number, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(const rs2_stream_profile *, get_frame_stream_profile, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(int, is_frame_extendable_to, (const rs2_frame *f, int ext, rs2_error **e), (f, ext, e)) \
	X(float, depth_frame_get_units, (const rs2_frame *f, rs2_error **e), (f, e)) \
	X(rs2_processing_block *, create_align, (int to, rs2_error **e), (to, e)) \
	X(rs2_processing_block *, create_sync_processing_block, (rs2_error **e), (e)) \
	XV(delete_processing_block, (rs2_processing_block *b), (b)) \
	XV(start_processing_queue, (rs2_processing_block *b, rs2_frame_queue *q, rs2_error **e), (b, q, e)) \
	XV(process_frame, (rs2_processing_block *b, rs2_frame *f, rs2_error **e), (b, f, e)) \
	X(rs2_frame_queue *, create_frame_queue, (int capacity, rs2_error **e), (capacity, e)) \
	XV(delete_frame_queue, (rs2_frame_queue *q), (q)) \
	X(int, try_wait_for_frame, (rs2_frame_queue *q, unsigned int ms, rs2_frame **out, rs2_error **e), (q, ms, out, e)) \
	X(rs2_device *, create_software_device, (rs2_error **e), (e)) \
	X(rs2_sensor *, software_device_add_sensor, (rs2_device *d, const char *name, rs2_error **e), (d, name, e)) \
	X(rs2_stream_profile *, software_sensor_add_video_stream_ex, (rs2_sensor *s, rs2_video_stream vs, int is_default, rs2_error **e), (s, vs, is_default, e)) \
	XV(software_sensor_add_read_only_option, (rs2_sensor *s, int opt, float v, rs2_error **e), (s, opt, v, e)) \
	XV(software_sensor_on_video_frame, (rs2_sensor *s, rs2_software_video_frame f, rs2_error **e), (s, f, e)) \
	XV(software_device_create_matcher, (rs2_device *d, int m, rs2_error **e), (d, m, e)) \
	XV(software_device_register_info, (rs2_device *d, int info, const char *v, rs2_error **e), (d, info, v, e)) \
	XV(register_extrinsics, (const rs2_stream_profile *from, const rs2_stream_profile *to, rs2_extrinsics x, rs2_error **e), (from, to, x, e)) \
	XV(context_add_software_device, (rs2_context *c, rs2_device *d, rs2_error **e), (c, d, e)) \
	XV(open, (rs2_sensor *s, const rs2_stream_profile *p, rs2_error **e), (s, p, e)) \
	XV(close, (const rs2_sensor *s, rs2_error **e), (s, e)) \
	XV(start, (const rs2_sensor *s, void (*cb)(rs2_frame *, void *), void *user, rs2_error **e), (s, cb, user, e)) \
	XV(stop, (const rs2_sensor *s, rs2_error **e), (s, e))

#ifdef CRS_DECL
#define CRS_PROTO(ret, name, params, args) ret crs_##name params;
#define CRS_PROTOV(name, params, args) void crs_##name params;
CRS_FUNCS(CRS_PROTO, CRS_PROTOV)
#undef CRS_PROTO
#undef CRS_PROTOV
#endif
