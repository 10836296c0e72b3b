//go:build cgo

package realsense

// #include "rs2.h"
import "C"

import (
	"fmt"
	"sort"
	"strings"
)

// Device describes a connected RealSense device for `conveyor devices`.
type Device struct {
	Serial      string
	Name        string
	Firmware    string
	USBType     string // "3.2", "2.1"; "" when not reported
	ProductLine string
	ProductID   string
	Port        string
	Profiles    []StreamProfile
}

// StreamProfile is one stream mode a device offers.
type StreamProfile struct {
	Sensor string
	Stream string // "Depth", "Color", "Infrared", ...
	Index  int
	Format string // "Z16", "RGB8", ...
	Width  int
	Height int
	FPS    int
	// Default is true for the profile the device picks when not told.
	Default bool
}

func (p StreamProfile) String() string {
	return fmt.Sprintf("%s %dx%d %s@%d", p.Stream, p.Width, p.Height, p.Format, p.FPS)
}

// ProfileSummary lists the colour and depth profiles, one per
// stream/format/size, with their frame rates: "Color 640x480 RGB8@6,30; ...".
func (d Device) ProfileSummary() string {
	type key struct {
		stream, format string
		w, h           int
	}
	fps := map[key][]int{}
	var keys []key
	for _, p := range d.Profiles {
		k := key{p.Stream, p.Format, p.Width, p.Height}
		if _, ok := fps[k]; !ok {
			keys = append(keys, k)
		}
		fps[k] = append(fps[k], p.FPS)
	}
	var parts []string
	for _, k := range keys {
		sort.Ints(fps[k])
		var rates []string
		for _, r := range fps[k] {
			rates = append(rates, fmt.Sprint(r))
		}
		parts = append(parts, fmt.Sprintf("%s %dx%d %s@%s", k.stream, k.w, k.h, k.format, strings.Join(rates, ",")))
	}
	if len(parts) == 0 {
		return "no video profiles"
	}
	return strings.Join(parts, "; ")
}

// Devices lists the RealSense devices connected now. It returns ErrNoLibrary
// (wrapped) when librealsense2 is not installed; no device is an empty list.
func Devices() ([]Device, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var e *C.rs2_error
	ctx := C.crs_create_context(apiVersion, &e) // rs2_delete_context
	if err := rsError("create context", e); err != nil {
		return nil, err
	}
	defer C.crs_delete_context(ctx)
	return listDevices(ctx)
}

func listDevices(ctx *C.rs2_context) ([]Device, error) {
	var e *C.rs2_error
	list := C.crs_query_devices(ctx, &e) // rs2_delete_device_list
	if err := rsError("query devices", e); err != nil {
		return nil, err
	}
	defer C.crs_delete_device_list(list)
	n := C.crs_get_device_count(list, &e)
	if err := rsError("count devices", e); err != nil {
		return nil, err
	}
	devs := []Device{}
	for i := C.int(0); i < n; i++ {
		dev := C.crs_create_device(list, i, &e) // rs2_delete_device
		if err := rsError("create device", e); err != nil {
			return nil, err
		}
		d, err := describeDevice(dev)
		C.crs_delete_device(dev)
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
	}
	return devs, nil
}

func deviceInfo(dev *C.rs2_device, info C.int) string {
	var e *C.rs2_error
	ok := C.crs_supports_device_info(dev, info, &e)
	if rsError("device info", e) != nil || ok == 0 {
		return ""
	}
	s := C.crs_get_device_info(dev, info, &e)
	if rsError("device info", e) != nil {
		return ""
	}
	return cString(s)
}

func describeDevice(dev *C.rs2_device) (Device, error) {
	d := Device{
		Serial:      deviceInfo(dev, rsInfoSerial),
		Name:        deviceInfo(dev, rsInfoName),
		Firmware:    deviceInfo(dev, rsInfoFirmware),
		USBType:     deviceInfo(dev, rsInfoUSBType),
		ProductLine: deviceInfo(dev, rsInfoProductLine),
		ProductID:   deviceInfo(dev, rsInfoProductID),
		Port:        deviceInfo(dev, rsInfoPhysicalPort),
	}
	var e *C.rs2_error
	sensors := C.crs_query_sensors(dev, &e) // rs2_delete_sensor_list
	if err := rsError("query sensors", e); err != nil {
		return d, err
	}
	defer C.crs_delete_sensor_list(sensors)
	ns := C.crs_get_sensors_count(sensors, &e)
	if err := rsError("count sensors", e); err != nil {
		return d, err
	}
	for i := C.int(0); i < ns; i++ {
		sen := C.crs_create_sensor(sensors, i, &e) // rs2_delete_sensor
		if err := rsError("create sensor", e); err != nil {
			return d, err
		}
		err := sensorProfiles(sen, &d)
		C.crs_delete_sensor(sen)
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

func sensorProfiles(sen *C.rs2_sensor, d *Device) error {
	var e *C.rs2_error
	name := ""
	if ok := C.crs_supports_sensor_info(sen, rsInfoName, &e); rsError("sensor info", e) == nil && ok != 0 {
		s := C.crs_get_sensor_info(sen, rsInfoName, &e)
		if rsError("sensor info", e) == nil {
			name = cString(s)
		}
	}
	list := C.crs_get_stream_profiles(sen, &e) // rs2_delete_stream_profiles_list
	if err := rsError("get stream profiles", e); err != nil {
		return err
	}
	defer C.crs_delete_stream_profiles_list(list)
	n := C.crs_get_stream_profiles_count(list, &e)
	if err := rsError("count stream profiles", e); err != nil {
		return err
	}
	for i := C.int(0); i < n; i++ {
		p := C.crs_get_stream_profile(list, i, &e) // const: not released
		if err := rsError("get stream profile", e); err != nil {
			return err
		}
		pd, err := profileData(p)
		if err != nil {
			return err
		}
		if pd.stream != rsStreamColor && pd.stream != rsStreamDepth && pd.stream != 3 { // 3: infrared
			continue
		}
		var w, h C.int
		C.crs_get_video_stream_resolution(p, &w, &h, &e)
		if err := rsError("get resolution", e); err != nil {
			return err
		}
		def := C.crs_is_stream_profile_default(p, &e)
		if err := rsError("is default", e); err != nil {
			return err
		}
		d.Profiles = append(d.Profiles, StreamProfile{
			Sensor: name, Stream: cString(C.crs_stream_to_string(C.int(pd.stream))), Index: pd.index,
			Format: cString(C.crs_format_to_string(C.int(pd.format))), Width: int(w), Height: int(h), FPS: pd.fps, Default: def != 0,
		})
	}
	return nil
}
