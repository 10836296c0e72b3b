//go:build cgo

package realsense

// #include <stdlib.h>
// #include "rs2.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"gocv.io/x/gocv"
)

// SoftwareConfig describes a SoftwareDevice: one BGR8 colour stream and one
// Z16 depth stream of the same size, registered under Serial.
type SoftwareConfig struct {
	Serial        string
	Width, Height int
	FPS           int
	// DepthUnits is metres per Z16 step (default 0.001).
	DepthUnits float32
	// Intrinsics of both streams (default: a 60° pinhole centred on the
	// image). Extrinsics between them are the identity, so alignment keeps
	// every depth pixel where it is.
	Intrinsics *Intrinsics
}

// SoftwareDevice is a RealSense camera made of software, with
// librealsense's software-device API: the frames given to Inject come out of
// a Source opened with Config() exactly as a camera's would, through the
// library's pipeline, syncer and align block. It stands in for a camera in
// tests and demos (there is no camera on CI machines).
//
// Inject may be called from any goroutine. Close the Source reading the
// device before the device itself.
type SoftwareDevice struct {
	ctx            *C.rs2_context
	dev            *C.rs2_device
	depthS, colorS *C.rs2_sensor
	depthP, colorP *C.rs2_stream_profile // owned by their sensors: never deleted
	cfg            SoftwareConfig

	// mu serializes Inject with a Source starting and stopping the sensors:
	// librealsense can call a stopped sensor's freed callback when a frame
	// is injected while the sensor stops.
	mu        sync.Mutex
	n         int
	streaming bool
	closed    bool
}

// NewSoftwareDevice creates the device and registers it in its own
// librealsense context. The caller must Close it.
func NewSoftwareDevice(cfg SoftwareConfig) (*SoftwareDevice, error) {
	if err := load(); err != nil {
		return nil, err
	}
	if cfg.Serial == "" || cfg.Width <= 0 || cfg.Height <= 0 || cfg.FPS <= 0 {
		return nil, errors.New("realsense: software device: serial, width, height and fps are required")
	}
	if cfg.DepthUnits == 0 {
		cfg.DepthUnits = 0.001
	}
	d := &SoftwareDevice{cfg: cfg}
	if err := d.build(); err != nil {
		d.Close()
		return nil, fmt.Errorf("realsense: software device: %w", err)
	}
	return d, nil
}

func (d *SoftwareDevice) build() error {
	var e *C.rs2_error
	d.ctx = C.crs_create_context(apiVersion, &e) // rs2_delete_context
	if err := rsError("create context", e); err != nil {
		return err
	}
	d.dev = C.crs_create_software_device(&e) // rs2_delete_device
	if err := rsError("create", e); err != nil {
		return err
	}
	for info, val := range map[C.int]string{rsInfoSerial: d.cfg.Serial, rsInfoName: "conveyor software camera", rsInfoFirmware: "0.0.0.0"} {
		cv := C.CString(val)
		C.crs_software_device_register_info(d.dev, info, cv, &e)
		C.free(unsafe.Pointer(cv))
		if err := rsError("register info", e); err != nil {
			return err
		}
	}
	name := C.CString("Stereo Module")
	d.depthS = C.crs_software_device_add_sensor(d.dev, name, &e) // rs2_delete_sensor
	C.free(unsafe.Pointer(name))
	if err := rsError("add depth sensor", e); err != nil {
		return err
	}
	name = C.CString("RGB Camera")
	d.colorS = C.crs_software_device_add_sensor(d.dev, name, &e) // rs2_delete_sensor
	C.free(unsafe.Pointer(name))
	if err := rsError("add colour sensor", e); err != nil {
		return err
	}
	in := d.intrinsics()
	vs := C.rs2_video_stream{_type: rsStreamDepth, index: 0, uid: 1, width: C.int(d.cfg.Width), height: C.int(d.cfg.Height),
		fps: C.int(d.cfg.FPS), bpp: 2, fmt: rsFormatZ16, intrinsics: in}
	d.depthP = C.crs_software_sensor_add_video_stream_ex(d.depthS, vs, 1, &e)
	if err := rsError("add depth stream", e); err != nil {
		return err
	}
	vs = C.rs2_video_stream{_type: rsStreamColor, index: 0, uid: 2, width: C.int(d.cfg.Width), height: C.int(d.cfg.Height),
		fps: C.int(d.cfg.FPS), bpp: 3, fmt: rsFormatBGR8, intrinsics: in}
	d.colorP = C.crs_software_sensor_add_video_stream_ex(d.colorS, vs, 1, &e)
	if err := rsError("add colour stream", e); err != nil {
		return err
	}
	// Without the depth-units option the sensor is not a depth sensor and
	// frames without their own units would have units 0.
	C.crs_software_sensor_add_read_only_option(d.depthS, rsOptionDepthUnits, C.float(d.cfg.DepthUnits), &e)
	if err := rsError("add depth units", e); err != nil {
		return err
	}
	// align needs depth-to-colour extrinsics: the identity.
	var x C.rs2_extrinsics
	x.rotation[0], x.rotation[4], x.rotation[8] = 1, 1, 1
	C.crs_register_extrinsics(d.depthP, d.colorP, x, &e)
	if err := rsError("register extrinsics", e); err != nil {
		return err
	}
	C.crs_register_extrinsics(d.colorP, d.depthP, x, &e)
	if err := rsError("register extrinsics", e); err != nil {
		return err
	}
	C.crs_software_device_create_matcher(d.dev, rsMatcherDefault, &e)
	if err := rsError("create matcher", e); err != nil {
		return err
	}
	C.crs_context_add_software_device(d.ctx, d.dev, &e)
	return rsError("add to context", e)
}

func (d *SoftwareDevice) intrinsics() C.rs2_intrinsics {
	w, h := float32(d.cfg.Width), float32(d.cfg.Height)
	in := Intrinsics{Width: d.cfg.Width, Height: d.cfg.Height, PPX: w / 2, PPY: h / 2, FX: w * 0.866, FY: w * 0.866}
	if d.cfg.Intrinsics != nil {
		in = *d.cfg.Intrinsics
	}
	c := C.rs2_intrinsics{width: C.int(d.cfg.Width), height: C.int(d.cfg.Height), ppx: C.float(in.PPX), ppy: C.float(in.PPY),
		fx: C.float(in.FX), fy: C.float(in.FY), model: C.int(in.Model)}
	for i := range in.Coeffs {
		c.coeffs[i] = C.float(in.Coeffs[i])
	}
	return c
}

// Serial is the serial number the device is registered under.
func (d *SoftwareDevice) Serial() string { return d.cfg.Serial }

// Config returns a source configuration that reads this device; adjust its
// fields (NoAlign, Wait, ...) before NewSource.
func (d *SoftwareDevice) Config() Config {
	return Config{Name: Scheme + "://?serial=" + d.cfg.Serial, Serial: d.cfg.Serial, software: d}
}

// Inject sends one colour frame (BGR8, CV_8UC3) and one depth frame (Z16,
// CV_16UC1), both of the device's size, stamped ts. The pixels are copied:
// the Mats stay the caller's. Frames injected while no Source is streaming
// are dropped by librealsense. Stamps should advance by about 1/FPS.
func (d *SoftwareDevice) Inject(color, depth gocv.Mat, ts time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("realsense: software device: inject: closed")
	}
	if !d.streaming {
		return nil // dropped, as librealsense drops frames of a stopped sensor
	}
	if err := d.checkMat(color, gocv.MatTypeCV8UC3, "colour"); err != nil {
		return err
	}
	if err := d.checkMat(depth, gocv.MatTypeCV16UC1, "depth"); err != nil {
		return err
	}
	cb, err := color.DataPtrUint8() // OpenCV's memory: a C pointer
	if err != nil {
		return fmt.Errorf("realsense: software device: inject: %w", err)
	}
	db, err := depth.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("realsense: software device: inject: %w", err)
	}
	ms := float64(ts) / float64(time.Millisecond)
	var e *C.rs2_error
	n := C.int(d.n)
	d.n++
	C.crs_inject(d.depthS, d.depthP, unsafe.Pointer(&db[0]), C.int(depth.Step()), C.int(d.cfg.Height), C.int(d.cfg.Width*2), 2, C.double(ms), n, C.float(d.cfg.DepthUnits), &e)
	if err := rsError("inject depth", e); err != nil {
		return err
	}
	C.crs_inject(d.colorS, d.colorP, unsafe.Pointer(&cb[0]), C.int(color.Step()), C.int(d.cfg.Height), C.int(d.cfg.Width*3), 3, C.double(ms), n, 0, &e)
	return rsError("inject colour", e)
}

func (d *SoftwareDevice) checkMat(m gocv.Mat, typ gocv.MatType, what string) error {
	if m.Ptr() == nil || m.Empty() || m.Type() != typ || m.Cols() != d.cfg.Width || m.Rows() != d.cfg.Height {
		return fmt.Errorf("realsense: software device: inject: %s must be %dx%d of type %v", what, d.cfg.Width, d.cfg.Height, typ)
	}
	return nil
}

// Close releases the device and its context. Idempotent.
func (d *SoftwareDevice) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	for _, s := range []**C.rs2_sensor{&d.depthS, &d.colorS} {
		if *s != nil {
			C.crs_delete_sensor(*s)
			*s = nil
		}
	}
	if d.dev != nil {
		C.crs_delete_device(d.dev)
		d.dev = nil
	}
	if d.ctx != nil {
		C.crs_delete_context(d.ctx)
		d.ctx = nil
	}
	return nil
}

// Describe lists the device as Devices would.
func (d *SoftwareDevice) Describe() (Device, error) { return describeDevice(d.dev) }
