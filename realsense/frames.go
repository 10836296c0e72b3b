//go:build cgo

package realsense

// The frame side of a Source: wait for a frameset, turn it into a
// pipeline.Frame (colour and aligned Z16 depth copied into Mats), and
// follow a .bag playback to its end.

// #include <stdlib.h>
// #include "rs2.h"
import "C"
import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/conveyor-vision/conveyor/pipeline"
	"gocv.io/x/gocv"
)

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
