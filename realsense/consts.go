package realsense

// Enum values of librealsense2's C API (rs_sensor.h, rs_types.h, rs_option.h,
// rs_frame.h, rs_record_playback.h, rs_internal.h). They have only grown at
// the end since 2.50, so these are the same in every supported version;
// TestEnumValues checks them against the loaded library's *_to_string.
// Change here, change there: rs2.h.
const (
	rsStreamAny   = 0
	rsStreamDepth = 1
	rsStreamColor = 2

	rsFormatAny  = 0
	rsFormatZ16  = 1
	rsFormatRGB8 = 5
	rsFormatBGR8 = 6

	rsInfoName           = 0
	rsInfoSerial         = 1
	rsInfoFirmware       = 2
	rsInfoPhysicalPort   = 4
	rsInfoProductID      = 7
	rsInfoUSBType        = 9
	rsInfoProductLine    = 10
	rsInfoCount          = 11 // the values below this exist in every version
	rsExtDepthSensor     = 7
	rsExtVideoFrame      = 8
	rsExtCompositeFrame  = 10
	rsExtDepthFrame      = 12
	rsExtPlayback        = 16
	rsOptionDepthUnits   = 28
	rsMatcherDefault     = 6
	rsPlaybackStopped    = 3
	rsDistortionNone     = 0
	rsDistortionBrownCon = 4
)
