package post

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// OSDOptions choose what the on-screen display draws.
type OSDOptions struct {
	Boxes     bool // a rectangle around each object
	Labels    bool // label, score, track id and distance above the box
	Landmarks bool // the model's landmarks (eyes, nose, mouth corners)
	FPS       bool // the source's name (credentials hidden), frame number and rate, top left
}

// OSD draws boxes, labels and the frame rate on the frame: DeepStream's
// nvdsosd. It is a pipeline.Processor; use one per worker.
type OSD struct {
	opts    OSDOptions
	fps     map[int]float64 // smoothed FPS per source
	lastArr map[int]time.Time
}

// NewOSD makes an OSD stage.
func NewOSD(opts OSDOptions) *OSD {
	return &OSD{opts: opts, fps: map[int]float64{}, lastArr: map[int]time.Time{}}
}

var _ pipeline.SourceEnder = (*OSD)(nil)

// EndSource forgets the frame rate of a source that ended.
func (o *OSD) EndSource(_ context.Context, end *pipeline.SourceEnd) error {
	sourceID := end.SourceID
	delete(o.fps, sourceID)
	delete(o.lastArr, sourceID)
	return nil
}

var (
	boxColor  = color.RGBA{0, 255, 0, 0}
	textColor = color.RGBA{255, 255, 255, 0}
	markColor = color.RGBA{0, 200, 255, 0}
)

// Process draws on f.Image.
func (o *OSD) Process(_ context.Context, f *pipeline.Frame) error {
	img := &f.Image
	for _, obj := range f.Objects {
		r := image.Rect(int(obj.Box.X), int(obj.Box.Y), int(obj.Box.X+obj.Box.W), int(obj.Box.Y+obj.Box.H))
		if o.opts.Boxes {
			gocv.Rectangle(img, r, boxColor, 2)
		}
		if o.opts.Labels {
			label := Caption(obj)
			gocv.PutText(img, label, image.Pt(r.Min.X, max(12, r.Min.Y-4)), gocv.FontHersheySimplex, 0.45, boxColor, 1)
		}
		if o.opts.Landmarks {
			for _, p := range obj.Landmarks {
				gocv.Circle(img, image.Pt(int(p.X), int(p.Y)), 2, markColor, -1)
			}
		}
	}
	if o.opts.FPS {
		fps := o.update(f)
		// The line redacts names where sources enter; a frame made
		// elsewhere may not be, and the picture must never show a password.
		text := fmt.Sprintf("%s #%d  %.1f fps", meta.RedactURI(f.SourceName), f.Number, fps)
		gocv.PutText(img, text, image.Pt(9, 21), gocv.FontHersheySimplex, 0.55, color.RGBA{0, 0, 0, 0}, 3)
		gocv.PutText(img, text, image.Pt(8, 20), gocv.FontHersheySimplex, 0.55, textColor, 1)
	}
	return nil
}

// update returns the smoothed rate at which frames of f's source reach the
// OSD, measured on the wall clock (what a viewer sees).
func (o *OSD) update(f *pipeline.Frame) float64 {
	now := time.Now()
	prev, ok := o.lastArr[f.SourceID]
	o.lastArr[f.SourceID] = now
	if !ok {
		return o.fps[f.SourceID]
	}
	if d := now.Sub(prev).Seconds(); d > 0 {
		inst := 1 / d
		if o.fps[f.SourceID] == 0 {
			o.fps[f.SourceID] = inst
		} else {
			o.fps[f.SourceID] = 0.9*o.fps[f.SourceID] + 0.1*inst
		}
	}
	return o.fps[f.SourceID]
}

// Caption is the text the OSD writes above an object: "face 0.93 #4 1.42m",
// or "face held 2 #4" for an object held through a missed detection.
func Caption(obj meta.Object) string {
	var b strings.Builder
	b.WriteString(obj.Label)
	if obj.Held > 0 {
		fmt.Fprintf(&b, " held %d", obj.Held)
	} else {
		fmt.Fprintf(&b, " %.2f", obj.Score)
	}
	if obj.TrackID != 0 {
		fmt.Fprintf(&b, " #%d", obj.TrackID)
	}
	if obj.Distance > 0 {
		fmt.Fprintf(&b, " %.2fm", obj.Distance)
	}
	return b.String()
}

// Close does nothing: the OSD holds no Mats.
func (o *OSD) Close() error { return nil }
