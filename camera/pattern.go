package camera

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"net/url"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// pattern is a synthetic test source: colour bars, a moving box and the
// frame number, so that a line can be run and measured with no file or
// device.
type pattern struct {
	info   pipeline.SourceInfo
	frames int
	number int64
	start  time.Time
}

func openPattern(uri string) (pipeline.Source, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	q := u.Query()
	w, err := queryInt(q, "width", 640, 16, 8192)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	h, err := queryInt(q, "height", 480, 16, 8192)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	fps, err := queryInt(q, "fps", 30, 0, 1000)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	frames, err := queryInt(q, "frames", 300, -1, 1<<30)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	live, err := queryBool(q, "live", fps > 0)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", uri, err)
	}
	return &pattern{
		info:   pipeline.SourceInfo{Name: uri, Live: live, FPS: float64(fps), Width: w, Height: h, Frames: frames},
		frames: frames,
	}, nil
}

func (p *pattern) Info() pipeline.SourceInfo { return p.info }

func (p *pattern) Read(ctx context.Context) (*pipeline.Frame, error) {
	if p.frames >= 0 && p.number >= int64(p.frames) {
		return nil, pipeline.ErrEndOfStream
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	var pts time.Duration
	if p.info.FPS > 0 {
		pts = time.Duration(float64(p.number) / p.info.FPS * float64(time.Second))
		if d := time.Until(p.start.Add(pts)); d > 0 && p.info.Live {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	w, h := p.info.Width, p.info.Height
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	bars := []color.RGBA{{255, 255, 255, 0}, {255, 255, 0, 0}, {0, 255, 255, 0}, {0, 255, 0, 0}, {255, 0, 255, 0}, {255, 0, 0, 0}, {0, 0, 255, 0}, {0, 0, 0, 0}}
	for i, c := range bars {
		r := image.Rect(i*w/len(bars), 0, (i+1)*w/len(bars), h)
		gocv.Rectangle(&m, r, color.RGBA{c.B, c.G, c.R, 0}, -1)
	}
	side := h / 4
	x := int(p.number*4) % max(1, w-side)
	gocv.Rectangle(&m, image.Rect(x, h/2-side/2, x+side, h/2+side/2), color.RGBA{128, 128, 128, 0}, -1)
	gocv.PutText(&m, fmt.Sprintf("%06d", p.number), image.Pt(8, h-12), gocv.FontHersheySimplex, 1, color.RGBA{0, 0, 0, 0}, 2)
	f := &pipeline.Frame{Number: p.number, PTS: pts, Captured: time.Now(), Image: m}
	p.number++
	return f, nil
}

func (p *pattern) Close() error { return nil }
