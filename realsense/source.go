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
	"time"

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
