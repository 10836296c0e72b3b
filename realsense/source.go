//go:build cgo

package realsense

// #include <stdlib.h>
// #include "rs2.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// UserFrameNumber is the key of Frame.User that holds the device's own frame
// number (uint64) of the colour frame; Frame.Number counts frames read by the
// source from 0, as the pipeline contract says.
const UserFrameNumber = "realsense.frame_number"

// Intrinsics are a stream's pinhole camera parameters (rs2_intrinsics).
type Intrinsics struct {
	Width, Height int
	// PPX, PPY is the principal point, FX, FY the focal lengths, in pixels.
	PPX, PPY, FX, FY float32
	// Model is librealsense's distortion model number (0 none, 4
	// Brown-Conrady), Coeffs its coefficients.
	Model  int
	Coeffs [5]float32
}

// Source reads colour and depth from a RealSense device, a .bag recording or
// a SoftwareDevice, as a pipeline.Source. Depth is aligned to colour by
// librealsense's align block, so Frame.Depth matches Frame.Image pixel for
// pixel (unless Config.NoAlign).
//
// Read is called from one goroutine; Close may be called from another after
// Read has returned. The caller closes the Source; frames it returns own
// their Mats (pixels are copied out of librealsense before each rs2 frame is
// released).
type Source struct {
	cfg      Config
	info     pipeline.SourceInfo
	playback bool

	ctx    *C.rs2_context // owned unless cfg.software
	rsCfg  *C.rs2_config
	pipe   *C.rs2_pipeline
	prof   *C.rs2_pipeline_profile
	dev    *C.rs2_device
	align  *C.rs2_processing_block
	queue  *C.rs2_frame_queue
	colorF int // the colour format the pipeline delivers

	// A SoftwareDevice is read without a pipeline: librealsense 2.56+ keeps
	// a software device added to a context only through a weak pointer that
	// expires at once, so pipelines never find it. Its sensors are started
	// into a syncer instead, as librealsense's own software-device tests do.
	sync      *C.rs2_processing_block
	syncQ     *C.rs2_frame_queue
	swStarted bool

	depthScale float32
	colorIntr  Intrinsics
	depthIntr  Intrinsics

	n          int64
	plays      int
	ts0        float64
	lastTS     float64
	haveTS     bool
	ptsBase    time.Duration
	lastFrame  time.Time
	started    time.Time
	playFrames int
	emptyPlays int
	copyTime   time.Duration // spent copying pixels out of librealsense (benchmarks)
	skipped    int64
	closed     bool
}

// Open opens a source from a realsense:// URI; see ParseURI.
func Open(uri string) (*Source, error) {
	cfg, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return NewSource(cfg)
}

// NewSource starts streaming from the device or file cfg names. The caller
// must Close the returned Source.
func NewSource(cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := load(); err != nil {
		return nil, err
	}
	if cfg.File != "" {
		if _, err := os.Stat(cfg.File); err != nil {
			return nil, fmt.Errorf("realsense: open %s: %w", cfg.File, err)
		}
	}
	s := &Source{cfg: cfg, playback: cfg.File != ""}
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

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

// Info describes the source; Width, Height and FPS are the colour stream's.
func (s *Source) Info() pipeline.SourceInfo { return s.info }

// DepthScale is the depth sensor's metres per Z16 step, read when the stream
// started (each Frame carries its own frame's value in Frame.DepthScale).
func (s *Source) DepthScale() float32 { return s.depthScale }

// ColorIntrinsics are the colour stream's intrinsics. After alignment they
// are also the depth map's.
func (s *Source) ColorIntrinsics() Intrinsics { return s.colorIntr }

// DepthIntrinsics are the depth stream's own (unaligned) intrinsics.
func (s *Source) DepthIntrinsics() Intrinsics { return s.depthIntr }

// Skipped counts framesets dropped because they had no colour frame (a
// recording's depth frames that have no colour partner).
func (s *Source) Skipped() int64 { return s.skipped }

// Read returns the next frame with colour (BGR8) and, unless disabled,
// aligned depth. It waits in steps of Config.Wait so that a cancelled ctx
// ends it promptly. For a file it returns pipeline.ErrEndOfStream after the
// last play. A live device that disconnects or stalls is reconnected with
// back-off for up to Config.Reconnect before Read fails.
func (s *Source) Read(ctx context.Context) (*pipeline.Frame, error) {
	if s.closed {
		return nil, errors.New("realsense: read: source closed")
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs, err := s.wait()
		if err != nil {
			if !s.playback && s.cfg.software == nil && errors.Is(err, ErrDisconnected) {
				if rerr := s.reconnect(ctx, err); rerr != nil {
					return nil, rerr
				}
				continue
			}
			return nil, err
		}
		if fs == nil {
			if s.playback {
				stopped, err := s.playbackStopped()
				if err != nil {
					return nil, err
				}
				// The status is also "stopped" before playback begins: trust
				// it once this play has given a frame, or after a grace period.
				switch {
				case !stopped:
				case s.playFrames > 0:
					if err := s.nextPlay(); err != nil {
						return nil, err
					}
				case time.Since(s.started) > playbackGrace && s.emptyPlays < maxEmptyPlays:
					// librealsense 2.59 now and then plays a very short
					// file without delivering anything: play it again.
					s.emptyPlays++
					s.stop()
					if err := s.start(); err != nil {
						return nil, err
					}
				case time.Since(s.started) > playbackGrace:
					return nil, fmt.Errorf("realsense: %s: %d plays gave no colour frame: %w", s.cfg.File, maxEmptyPlays+1, pipeline.ErrEndOfStream)
				}
			} else if s.cfg.software == nil && time.Since(s.lastFrame) > s.cfg.Stall {
				if rerr := s.reconnect(ctx, fmt.Errorf("realsense: no frame for %v", s.cfg.Stall)); rerr != nil {
					return nil, rerr
				}
			}
			continue
		}
		now := time.Now()
		s.lastFrame = now
		f, err := s.convert(fs)
		if err != nil {
			return nil, err
		}
		if f == nil {
			s.skipped++
			continue
		}
		ts := f.PTS.Seconds() * 1000 // the raw timestamp in ms, made relative below
		if !s.haveTS {
			s.ts0, s.haveTS = ts, true
		}
		s.playFrames++
		s.emptyPlays = 0
		s.lastTS = ts
		f.PTS = s.ptsBase + msDuration(ts-s.ts0)
		f.Captured = now
		f.Number = s.n
		f.SourceName = s.cfg.Name
		s.n++
		return f, nil
	}
}

// nextPlay ends a play of the file: it restarts the pipeline when more
// plays are wanted, else returns ErrEndOfStream. PTS goes on from where the
// last play ended, one frame period later.
func (s *Source) nextPlay() error {
	s.plays++
	if !s.cfg.Loop && s.plays >= s.cfg.Repeat {
		return pipeline.ErrEndOfStream
	}
	if s.haveTS {
		s.ptsBase += msDuration(s.lastTS-s.ts0) + s.framePeriod()
	}
	s.haveTS, s.playFrames = false, 0
	s.stop()
	return s.start()
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func (s *Source) framePeriod() time.Duration {
	if s.info.FPS <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / s.info.FPS)
}

// wait waits up to Config.Wait for a frameset; nil, nil on timeout. The
// caller releases the frameset.
func (s *Source) wait() (*C.rs2_frame, error) {
	var e *C.rs2_error
	var fs *C.rs2_frame
	var ok C.int
	if s.syncQ != nil {
		ok = C.crs_try_wait_for_frame(s.syncQ, C.uint(s.cfg.Wait/time.Millisecond), &fs, &e)
	} else {
		ok = C.crs_pipeline_try_wait_for_frames(s.pipe, &fs, C.uint(s.cfg.Wait/time.Millisecond), &e)
	}
	if err := rsError("wait for frames", e); err != nil {
		return nil, err
	}
	if ok == 0 {
		return nil, nil
	}
	return fs, nil
}

func (s *Source) playbackStopped() (bool, error) {
	var e *C.rs2_error
	st := C.crs_playback_device_get_current_status(s.dev, &e)
	if err := rsError("playback status", e); err != nil {
		return false, err
	}
	return st == rsPlaybackStopped, nil
}

// convert aligns a frameset, copies its colour and depth into new Mats and
// releases every rs2 frame. It returns nil, nil for a frameset with no
// colour frame. The frame's PTS holds the raw colour timestamp (ms).
func (s *Source) convert(fs *C.rs2_frame) (*pipeline.Frame, error) {
	var e *C.rs2_error
	if s.align != nil {
		C.crs_process_frame(s.align, fs, &e) // takes fs over
		if err := rsError("align", e); err != nil {
			return nil, err
		}
		var out *C.rs2_frame
		ok := C.crs_try_wait_for_frame(s.queue, 1000, &out, &e)
		if err := rsError("align output", e); err != nil {
			return nil, err
		}
		if ok == 0 {
			return nil, errors.New("realsense: align: no output within 1s")
		}
		fs = out
	}
	defer C.crs_release_frame(fs)
	f := &pipeline.Frame{}
	var haveColor bool
	composite := C.crs_is_frame_extendable_to(fs, rsExtCompositeFrame, &e)
	if err := rsError("frame type", e); err != nil {
		return nil, err
	}
	if composite == 0 { // a lone frame the syncer could not pair
		if err := s.take(f, fs, &haveColor); err != nil || !haveColor {
			f.Release()
			return nil, err
		}
		return f, nil
	}
	n := C.crs_embedded_frames_count(fs, &e)
	if err := rsError("count frames", e); err != nil {
		return nil, err
	}
	for i := C.int(0); i < n; i++ {
		fr := C.crs_extract_frame(fs, i, &e) // adds a reference: rs2_release_frame
		if err := rsError("extract frame", e); err != nil {
			f.Release()
			return nil, err
		}
		err := s.take(f, fr, &haveColor)
		C.crs_release_frame(fr)
		if err != nil {
			f.Release()
			return nil, err
		}
	}
	if !haveColor {
		f.Release()
		return nil, nil
	}
	return f, nil
}

// take copies one frame of a frameset into f.
func (s *Source) take(f *pipeline.Frame, fr *C.rs2_frame, haveColor *bool) error {
	var e *C.rs2_error
	p := C.crs_get_frame_stream_profile(fr, &e)
	if err := rsError("frame profile", e); err != nil {
		return err
	}
	pd, err := profileData(p)
	if err != nil {
		return err
	}
	switch {
	case pd.stream == rsStreamColor && !*haveColor:
		var swap bool
		switch pd.format {
		case rsFormatBGR8:
		case rsFormatRGB8:
			swap = true
		default:
			return fmt.Errorf("realsense: colour format %s not supported: ask for bgr8 or rgb8", cString(C.crs_format_to_string(C.int(pd.format))))
		}
		t0 := time.Now()
		m, err := copyVideo(fr, gocv.MatTypeCV8UC3, 3, swap)
		s.copyTime += time.Since(t0)
		if err != nil {
			return err
		}
		f.Image = m
		*haveColor = true
		ts := C.crs_get_frame_timestamp(fr, &e)
		if err := rsError("frame timestamp", e); err != nil {
			return err
		}
		num := C.crs_get_frame_number(fr, &e)
		if err := rsError("frame number", e); err != nil {
			return err
		}
		f.PTS = msDuration(float64(ts))
		f.User = map[string]any{UserFrameNumber: uint64(num)}
	case pd.stream == rsStreamDepth && pd.format == rsFormatZ16 && f.Depth.Ptr() == nil:
		t0 := time.Now()
		m, err := copyVideo(fr, gocv.MatTypeCV16UC1, 2, false)
		s.copyTime += time.Since(t0)
		if err != nil {
			return err
		}
		f.Depth = m
		units := C.crs_depth_frame_get_units(fr, &e)
		if err := rsError("depth units", e); err != nil {
			return err
		}
		f.DepthScale = float32(units)
		if f.DepthScale == 0 {
			f.DepthScale = s.depthScale
		}
	}
	return nil
}

func cString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// copyVideo copies a video frame into a new OpenCV-owned Mat with one pass
// over the pixels (C to C memory: no Go pointer is handed to C).
func copyVideo(fr *C.rs2_frame, typ gocv.MatType, bpp int, swap bool) (gocv.Mat, error) {
	var e *C.rs2_error
	w := int(C.crs_get_frame_width(fr, &e))
	if err := rsError("frame width", e); err != nil {
		return gocv.Mat{}, err
	}
	h := int(C.crs_get_frame_height(fr, &e))
	if err := rsError("frame height", e); err != nil {
		return gocv.Mat{}, err
	}
	bits := int(C.crs_get_frame_bits_per_pixel(fr, &e))
	if err := rsError("frame bpp", e); err != nil {
		return gocv.Mat{}, err
	}
	if bits != bpp*8 || w <= 0 || h <= 0 {
		return gocv.Mat{}, fmt.Errorf("realsense: unexpected frame %dx%d at %d bits per pixel (want %d)", w, h, bits, bpp*8)
	}
	m := gocv.NewMatWithSize(h, w, typ)
	data, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("realsense: %w", err)
	}
	sw := C.int(0)
	if swap {
		sw = 1
	}
	if C.crs_copy_frame(fr, unsafe.Pointer(&data[0]), C.int(w*bpp), C.int(h), C.int(w*bpp), sw, &e) != 0 {
		m.Close()
		return gocv.Mat{}, rsError("frame data", e)
	}
	return m, nil
}

// reconnect stops the pipeline and starts it again with back-off until the
// device is back, ctx ends or Config.Reconnect has passed.
func (s *Source) reconnect(ctx context.Context, cause error) error {
	if s.cfg.Reconnect < 0 {
		return fmt.Errorf("realsense: device lost: %w", cause)
	}
	s.stop()
	deadline := time.Now().Add(s.cfg.Reconnect)
	b := backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}
	last := cause
	for {
		if time.Now().After(deadline) {
			return fmt.Errorf("realsense: device lost, not back after %v: %w", s.cfg.Reconnect, last)
		}
		t := time.NewTimer(b.Next())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if err := s.start(); err != nil {
			last = err
			s.stop()
			continue
		}
		return nil
	}
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

// Close stops streaming and releases every librealsense object, in reverse
// order of creation. It is idempotent and safe on a half-built Source.
func (s *Source) Close() error {
	if s == nil || s.closed {
		return nil
	}
	s.closed = true
	s.stop()
	if s.pipe != nil {
		C.crs_delete_pipeline(s.pipe)
		s.pipe = nil
	}
	if s.align != nil {
		C.crs_delete_processing_block(s.align)
		s.align = nil
	}
	if s.queue != nil {
		C.crs_delete_frame_queue(s.queue)
		s.queue = nil
	}
	if s.rsCfg != nil {
		C.crs_delete_config(s.rsCfg)
		s.rsCfg = nil
	}
	if s.ctx != nil && s.cfg.software == nil {
		C.crs_delete_context(s.ctx)
	}
	s.ctx = nil
	return nil
}

var _ pipeline.Source = (*Source)(nil)
