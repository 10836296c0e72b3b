package realsense

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scheme is the URI scheme of RealSense sources.
const Scheme = "realsense"

// ColorFormat is the colour format asked of the camera. Either way the
// frame's Image is BGR8: RGB8 is swapped while copying.
type ColorFormat string

// The colour formats a source can ask for.
const (
	ColorAny  ColorFormat = ""     // BGR8 (the camera converts), any format for a .bag
	ColorBGR8 ColorFormat = "bgr8" // the camera converts to BGR8
	ColorRGB8 ColorFormat = "rgb8" // RGB8, swapped to BGR8 while copying
)

// Config says which camera or recording a Source reads and how.
type Config struct {
	// Name is the source's name in the line (its URI); NewSource sets a
	// default from the other fields.
	Name string
	// Serial picks a device by serial number; "" takes the first one.
	Serial string
	// File plays a .bag recording instead of a device.
	File string
	// Width, Height and FPS ask for a stream profile; 0 means any. They
	// apply to both colour and depth (depth is aligned to colour anyway).
	Width, Height, FPS int
	// Color is the colour format; see ColorFormat.
	Color ColorFormat
	// NoDepth streams colour only: no depth, no alignment.
	NoDepth bool
	// NoAlign keeps depth in its own geometry (not aligned to colour); the
	// Frame's Depth then does not match Image pixel for pixel.
	NoAlign bool
	// Realtime plays a file at recorded speed, dropping frames when the line
	// falls behind; false (the default) plays it as fast as the line reads,
	// dropping nothing.
	Realtime bool
	// Repeat plays a file this many times (0 or 1: once). Loop plays it
	// forever.
	Repeat int
	Loop   bool
	// Wait bounds each blocking wait inside the library (default 100ms):
	// the longest a cancelled Read takes to return.
	Wait time.Duration
	// Stall is how long a live device may send nothing before the source
	// treats it as lost and reconnects (default 5s).
	Stall time.Duration
	// Reconnect is how long the source keeps trying to get a lost device
	// back before Read fails (default 1m; negative: fail at once).
	Reconnect time.Duration

	// software, when set, makes the source read a SoftwareDevice.
	software *SoftwareDevice
}

// ParseURI reads a realsense URI into a Config:
//
//	realsense://                                    first device
//	realsense://?serial=123&width=640&height=480&fps=30&color=bgr8
//	realsense:///path/x.bag?realtime=true&repeat=3  a recording (loop=true: forever)
//
// Other options: depth=false, align=false, stall=5s, reconnect=1m, wait=100ms.
func ParseURI(uri string) (Config, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Config{}, fmt.Errorf("realsense: parse %q: %w", uri, err)
	}
	if u.Scheme != Scheme {
		return Config{}, fmt.Errorf("realsense: %q: scheme must be %s://", uri, Scheme)
	}
	if u.Host != "" {
		return Config{}, fmt.Errorf("realsense: %q: unexpected host %q: use realsense:// for a device or realsense:///path/file.bag for a recording", uri, u.Host)
	}
	cfg := Config{Name: uri, File: u.Path}
	if cfg.File == "/" {
		cfg.File = ""
	}
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		var perr error
		switch key {
		case "serial":
			cfg.Serial = v
		case "width":
			cfg.Width, perr = parseNonNeg(v)
		case "height":
			cfg.Height, perr = parseNonNeg(v)
		case "fps":
			cfg.FPS, perr = parseNonNeg(v)
		case "repeat":
			cfg.Repeat, perr = parseNonNeg(v)
		case "color":
			switch ColorFormat(strings.ToLower(v)) {
			case ColorAny, ColorBGR8, ColorRGB8:
				cfg.Color = ColorFormat(strings.ToLower(v))
			default:
				perr = errors.New("must be bgr8 or rgb8")
			}
		case "realtime":
			cfg.Realtime, perr = strconv.ParseBool(v)
		case "loop":
			cfg.Loop, perr = strconv.ParseBool(v)
		case "depth":
			var b bool
			b, perr = strconv.ParseBool(v)
			cfg.NoDepth = !b
		case "align":
			var b bool
			b, perr = strconv.ParseBool(v)
			cfg.NoAlign = !b
		case "wait":
			cfg.Wait, perr = time.ParseDuration(v)
		case "stall":
			cfg.Stall, perr = time.ParseDuration(v)
		case "reconnect":
			cfg.Reconnect, perr = time.ParseDuration(v)
		default:
			return Config{}, fmt.Errorf("realsense: %q: unknown option %q (serial, width, height, fps, color, depth, align, realtime, repeat, loop, wait, stall, reconnect)", uri, key)
		}
		if perr != nil {
			return Config{}, fmt.Errorf("realsense: %q: option %s=%q: %w", uri, key, v, perr)
		}
	}
	if cfg.File != "" && cfg.Serial != "" {
		return Config{}, fmt.Errorf("realsense: %q: serial and a file path exclude each other", uri)
	}
	if cfg.File == "" && (cfg.Realtime || cfg.Repeat != 0 || cfg.Loop) {
		return Config{}, fmt.Errorf("realsense: %q: realtime, repeat and loop apply to a .bag file only", uri)
	}
	return cfg, nil
}

func parseNonNeg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("must not be negative")
	}
	return n, nil
}

// withDefaults fills the zero durations and the name.
func (c Config) withDefaults() Config {
	if c.Wait <= 0 {
		c.Wait = 100 * time.Millisecond
	}
	if c.Stall <= 0 {
		c.Stall = 5 * time.Second
	}
	if c.Reconnect == 0 {
		c.Reconnect = time.Minute
	}
	if c.Name == "" {
		switch {
		case c.File != "":
			c.Name = Scheme + "://" + c.File
		case c.Serial != "":
			c.Name = Scheme + "://?serial=" + c.Serial
		default:
			c.Name = Scheme + "://"
		}
	}
	return c
}
