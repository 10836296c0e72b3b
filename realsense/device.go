//go:build cgo

package realsense

// The device side of a Source: open, start, stop and reconnect the
// pipeline (or the software device), read the stream profiles.

// #include <stdlib.h>
// #include "rs2.h"
import "C"
import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/cenkalti/backoff/v5"
	"github.com/conveyor-vision/conveyor/pipeline"
)

func (s *Source) open() error {
	var e *C.rs2_error
	if s.cfg.software != nil {
		s.ctx = s.cfg.software.ctx
		if err := s.openAlign(); err != nil {
			return err
		}
		return s.startSoftware()
	}
	s.ctx = C.crs_create_context(apiVersion, &e) // rs2_delete_context
	if err := rsError("create context", e); err != nil {
		return err
	}
	s.rsCfg = C.crs_create_config(&e) // rs2_delete_config
	if err := rsError("create config", e); err != nil {
		return err
	}
	switch {
	case s.playback:
		// Play once: Read restarts the pipeline for each further play.
		// librealsense's own repeat was seen to corrupt the heap when a
		// looping playback is stopped (2.59.1).
		cpath := C.CString(s.cfg.File)
		C.crs_config_enable_device_from_file_repeat_option(s.rsCfg, cpath, 0, &e)
		C.free(unsafe.Pointer(cpath))
		if err := rsError("open "+s.cfg.File, e); err != nil {
			return err
		}
	default:
		// Fail fast: the pipeline would wait 15 s for a missing device.
		devs, err := listDevices(s.ctx)
		if err != nil {
			return err
		}
		var serials []string
		found := false
		for _, d := range devs {
			serials = append(serials, d.Serial)
			found = found || d.Serial == s.cfg.Serial
		}
		if len(devs) == 0 {
			what := "a RealSense device"
			if s.cfg.Serial != "" {
				what = "device with serial " + strconv.Quote(s.cfg.Serial)
			}
			return fmt.Errorf("realsense: open %s: no RealSense device connected (check the USB cable and udev rules; `conveyor devices` lists what is seen)", what)
		}
		if s.cfg.Serial == "" {
			break
		}
		if !found {
			return fmt.Errorf("realsense: no device with serial %q (connected: %s)", s.cfg.Serial, strings.Join(serials, ", "))
		}
		cs := C.CString(s.serial())
		C.crs_config_enable_device(s.rsCfg, cs, &e)
		C.free(unsafe.Pointer(cs))
		if err := rsError("select device "+s.serial(), e); err != nil {
			return err
		}
	}
	s.colorF = rsFormatBGR8
	switch {
	case s.cfg.Color == ColorRGB8:
		s.colorF = rsFormatRGB8
	case s.cfg.Color == ColorAny && s.playback:
		s.colorF = rsFormatAny // a recording has what was recorded
	}
	C.crs_config_enable_stream(s.rsCfg, rsStreamColor, -1, C.int(s.cfg.Width), C.int(s.cfg.Height), C.int(s.colorF), C.int(s.cfg.FPS), &e)
	if err := rsError("enable colour stream", e); err != nil {
		return err
	}
	if !s.cfg.NoDepth {
		C.crs_config_enable_stream(s.rsCfg, rsStreamDepth, -1, C.int(s.cfg.Width), C.int(s.cfg.Height), rsFormatZ16, C.int(s.cfg.FPS), &e)
		if err := rsError("enable depth stream", e); err != nil {
			return err
		}
	}
	if err := s.openAlign(); err != nil {
		return err
	}
	s.pipe = C.crs_create_pipeline(s.ctx, &e) // rs2_delete_pipeline
	if err := rsError("create pipeline", e); err != nil {
		return err
	}
	return s.start()
}

// openAlign creates the align block and its output queue, unless depth or
// alignment is off.
func (s *Source) openAlign() error {
	if s.cfg.NoDepth || s.cfg.NoAlign {
		return nil
	}
	var e *C.rs2_error
	s.align = C.crs_create_align(rsStreamColor, &e) // rs2_delete_processing_block
	if err := rsError("create align", e); err != nil {
		return err
	}
	s.queue = C.crs_create_frame_queue(1, &e) // rs2_delete_frame_queue
	if err := rsError("create frame queue", e); err != nil {
		return err
	}
	C.crs_start_processing_queue(s.align, s.queue, &e)
	return rsError("start align", e)
}

// startSoftware opens and starts a SoftwareDevice's sensors into a syncer.
func (s *Source) startSoftware() error {
	sd := s.cfg.software
	sc := sd.cfg
	if (s.cfg.Width != 0 && s.cfg.Width != sc.Width) || (s.cfg.Height != 0 && s.cfg.Height != sc.Height) ||
		(s.cfg.FPS != 0 && s.cfg.FPS != sc.FPS) || s.cfg.Color == ColorRGB8 {
		d, err := describeDevice(sd.dev)
		if err != nil {
			return err
		}
		return fmt.Errorf("realsense: start: %dx%d@%d %s not offered by %s %s; it offers: %s",
			s.cfg.Width, s.cfg.Height, s.cfg.FPS, s.cfg.Color, d.Name, d.Serial, d.ProfileSummary())
	}
	var e *C.rs2_error
	s.sync = C.crs_create_sync_processing_block(&e) // rs2_delete_processing_block
	if err := rsError("create syncer", e); err != nil {
		return err
	}
	s.syncQ = C.crs_create_frame_queue(1, &e) // rs2_delete_frame_queue
	if err := rsError("create frame queue", e); err != nil {
		return err
	}
	C.crs_start_processing_queue(s.sync, s.syncQ, &e)
	if err := rsError("start syncer", e); err != nil {
		return err
	}
	sensors := []struct {
		s *C.rs2_sensor
		p *C.rs2_stream_profile
	}{{sd.colorS, sd.colorP}}
	if !s.cfg.NoDepth {
		sensors = append(sensors, struct {
			s *C.rs2_sensor
			p *C.rs2_stream_profile
		}{sd.depthS, sd.depthP})
	}
	for _, x := range sensors {
		C.crs_open(x.s, x.p, &e) // rs2_close
		if err := rsError("open sensor", e); err != nil {
			return err
		}
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	s.swStarted = true
	sd.streaming = true
	for _, x := range sensors {
		C.crs_start_to_block(x.s, s.sync, &e) // rs2_stop
		if err := rsError("start sensor", e); err != nil {
			return err
		}
	}
	scale, err := deviceDepthScale(sd.dev)
	if err != nil {
		return err
	}
	s.depthScale = scale
	in := sd.intrinsics()
	intr := Intrinsics{Width: int(in.width), Height: int(in.height), PPX: float32(in.ppx), PPY: float32(in.ppy), FX: float32(in.fx), FY: float32(in.fy), Model: int(in.model)}
	s.colorIntr, s.depthIntr = intr, intr
	s.info = pipeline.SourceInfo{Name: s.cfg.Name, Live: true, FPS: float64(sc.FPS), Width: sc.Width, Height: sc.Height, Frames: -1}
	s.lastFrame = time.Now()
	return nil
}

func (s *Source) serial() string {
	if s.cfg.software != nil {
		return s.cfg.software.cfg.Serial
	}
	return s.cfg.Serial
}

// start starts the pipeline and reads what it resolved to: the device, the
// depth scale, the intrinsics. Called again by reconnect.
func (s *Source) start() error {
	var e *C.rs2_error
	s.prof = C.crs_pipeline_start_with_config(s.pipe, s.rsCfg, &e) // rs2_delete_pipeline_profile
	if err := rsError("start", e); err != nil {
		return s.explainStart(err)
	}
	s.dev = C.crs_pipeline_profile_get_device(s.prof, &e) // rs2_delete_device
	if err := rsError("get device", e); err != nil {
		return err
	}
	if s.playback {
		rt := 0
		if s.cfg.Realtime {
			rt = 1
		}
		C.crs_playback_device_set_real_time(s.dev, C.int(rt), &e)
		if err := rsError("set real time", e); err != nil {
			return err
		}
	}
	scale, err := deviceDepthScale(s.dev)
	if err != nil {
		return err
	}
	s.depthScale = scale
	if err := s.readStreams(); err != nil {
		return err
	}
	s.lastFrame = time.Now()
	s.started = s.lastFrame
	return nil
}

// softwareDrain is how long stopping a SoftwareDevice's sensors waits for
// frames in flight.
const softwareDrain = 100 * time.Millisecond

// playbackGrace is how long a playback that has given no frame yet may
// report "stopped" before Read believes it (an empty recording).
const playbackGrace = time.Second

// maxEmptyPlays is how many plays in a row may give nothing before Read
// ends the stream.
const maxEmptyPlays = 2

// explainStart adds to a failed start what the user can do about it: for a
// device, the profiles it offers; for a file, that it may not be a bag.
func (s *Source) explainStart(err error) error {
	switch {
	case s.playback:
		return fmt.Errorf("realsense: open %s (is it a RealSense .bag recording?): %w", s.cfg.File, err)
	case s.cfg.software == nil && s.cfg.Serial == "":
		devs, lerr := listDevices(s.ctx)
		if lerr == nil && len(devs) == 0 {
			return fmt.Errorf("realsense: no RealSense device connected (check the USB cable and udev rules; `conveyor devices` lists what is seen): %w", err)
		}
	}
	devs, lerr := listDevices(s.ctx)
	if lerr != nil {
		return err
	}
	var serials []string
	for _, d := range devs {
		if s.serial() == "" || d.Serial == s.serial() {
			return fmt.Errorf("%w; %s %s offers: %s", err, d.Name, d.Serial, d.ProfileSummary())
		}
		serials = append(serials, d.Serial)
	}
	return fmt.Errorf("realsense: no device with serial %q (connected: %s): %w", s.serial(), strings.Join(serials, ", "), err)
}

func (s *Source) readStreams() error {
	var e *C.rs2_error
	list := C.crs_pipeline_profile_get_streams(s.prof, &e) // rs2_delete_stream_profiles_list
	if err := rsError("get streams", e); err != nil {
		return err
	}
	defer C.crs_delete_stream_profiles_list(list)
	n := C.crs_get_stream_profiles_count(list, &e)
	if err := rsError("count streams", e); err != nil {
		return err
	}
	for i := C.int(0); i < n; i++ {
		p := C.crs_get_stream_profile(list, i, &e) // const: not released
		if err := rsError("get stream", e); err != nil {
			return err
		}
		pd, err := profileData(p)
		if err != nil {
			return err
		}
		if pd.stream != rsStreamColor && pd.stream != rsStreamDepth {
			continue
		}
		var in C.rs2_intrinsics
		C.crs_get_video_stream_intrinsics(p, &in, &e)
		if err := rsError("get intrinsics", e); err != nil {
			return err
		}
		intr := Intrinsics{Width: int(in.width), Height: int(in.height), PPX: float32(in.ppx), PPY: float32(in.ppy),
			FX: float32(in.fx), FY: float32(in.fy), Model: int(in.model)}
		for k := range intr.Coeffs {
			intr.Coeffs[k] = float32(in.coeffs[k])
		}
		if pd.stream == rsStreamColor {
			s.colorIntr = intr
			s.info = pipeline.SourceInfo{Name: s.cfg.Name, Live: !s.playback, FPS: float64(pd.fps),
				Width: intr.Width, Height: intr.Height, Frames: -1}
		} else {
			s.depthIntr = intr
		}
	}
	return nil
}

type profile struct{ stream, format, index, fps int }

func profileData(p *C.rs2_stream_profile) (profile, error) {
	var e *C.rs2_error
	var stream, format, index, uid, fps C.int
	C.crs_get_stream_profile_data(p, &stream, &format, &index, &uid, &fps, &e)
	if err := rsError("get profile data", e); err != nil {
		return profile{}, err
	}
	return profile{int(stream), int(format), int(index), int(fps)}, nil
}

// deviceDepthScale reads the depth sensor's units (metres per Z16 step); 0
// when the device has no depth sensor.
func deviceDepthScale(dev *C.rs2_device) (float32, error) {
	var e *C.rs2_error
	list := C.crs_query_sensors(dev, &e) // rs2_delete_sensor_list
	if err := rsError("query sensors", e); err != nil {
		return 0, err
	}
	defer C.crs_delete_sensor_list(list)
	n := C.crs_get_sensors_count(list, &e)
	if err := rsError("count sensors", e); err != nil {
		return 0, err
	}
	for i := C.int(0); i < n; i++ {
		sen := C.crs_create_sensor(list, i, &e) // rs2_delete_sensor
		if err := rsError("create sensor", e); err != nil {
			return 0, err
		}
		isDepth := C.crs_is_sensor_extendable_to(sen, rsExtDepthSensor, &e)
		if err := rsError("sensor type", e); err != nil {
			C.crs_delete_sensor(sen)
			return 0, err
		}
		if isDepth != 0 {
			scale := C.crs_get_depth_scale(sen, &e)
			C.crs_delete_sensor(sen)
			return float32(scale), rsError("get depth scale", e)
		}
		C.crs_delete_sensor(sen)
	}
	return 0, nil
}

// reconnect stops the pipeline and starts it again, at once and then with
// back-off (waits doubling from 250 ms to 5 s), until the device is back, ctx ends or
// Config.Reconnect has passed.
func (s *Source) reconnect(ctx context.Context, cause error) error {
	if s.cfg.Reconnect < 0 {
		return fmt.Errorf("realsense: device lost: %w", cause)
	}
	s.stop()
	b := &backoff.ExponentialBackOff{InitialInterval: 250 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		if err := s.start(); err != nil {
			s.stop()
			return struct{}{}, err
		}
		return struct{}{}, nil
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(s.cfg.Reconnect))
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("realsense: device lost, not back after %v: %w", s.cfg.Reconnect, err)
}

// stop stops the pipeline (or the software device's sensors) and releases
// what start made.
func (s *Source) stop() {
	if s.swStarted {
		sd := s.cfg.software
		sd.mu.Lock()
		sd.streaming = false
		// Let frames already handed to librealsense's dispatcher threads
		// reach the syncer before the sensors stop: a frame dispatched
		// while its sensor stops can call a freed callback.
		time.Sleep(softwareDrain)
		for _, sen := range []*C.rs2_sensor{sd.colorS, sd.depthS} {
			var e *C.rs2_error
			C.crs_stop(sen, &e)
			_ = rsError("stop sensor", e) // a sensor never started: nothing to undo
			C.crs_close(sen, &e)
			_ = rsError("close sensor", e)
		}
		s.swStarted = false
		sd.mu.Unlock()
	}
	if s.sync != nil {
		C.crs_delete_processing_block(s.sync)
		s.sync = nil
	}
	if s.syncQ != nil {
		C.crs_delete_frame_queue(s.syncQ)
		s.syncQ = nil
	}
	if s.prof != nil {
		var e *C.rs2_error
		C.crs_pipeline_stop(s.pipe, &e)
		_ = rsError("stop", e) // stopping a lost device may fail: nothing to do
		C.crs_delete_pipeline_profile(s.prof)
		s.prof = nil
	}
	if s.dev != nil {
		C.crs_delete_device(s.dev)
		s.dev = nil
	}
}
