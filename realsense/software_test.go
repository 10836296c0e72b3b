package realsense

import (
	"context"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/depth"
	"github.com/conveyor-vision/conveyor/pipeline/infer"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// The synthetic scene: gocv_face.jpg (640x480) as colour, and a depth map
// with the face at faceDepth and everything else at backDepth.
const (
	sceneW, sceneH = 640, 480
	sceneFPS       = 30
	faceDepth      = 1250 // mm: 1.25 m
	backDepth      = 3000 // mm: 3 m
)

// faceBox is where the face of gocv_face.jpg is, in pixels: found once with
// OpenCV's haarcascade_frontalface_default.xml. The depth map holds faceDepth
// in exactly this box.
var faceBox = meta.Rect{X: 235, Y: 155, W: 224, H: 224}

// detectFaces is the detection stage of TestSoftwareDeviceLine: the real
// default detector (YuNet 2022mar through OpenCV DNN), so the face's
// distance comes from the box the model finds, not from faceBox.
func detectFaces(t *testing.T) pipeline.Processor {
	d, err := infer.NewDetector(infer.Options{})
	require.NoError(t, err)
	return d
}

type scene struct {
	color, depth gocv.Mat
}

func newScene(t *testing.T) *scene {
	t.Helper()
	path, err := models.Asset("media/images/gocv_face.jpg")
	require.NoError(t, err)
	img := gocv.IMRead(path, gocv.IMReadColor)
	require.False(t, img.Empty(), "cannot read %s", path)
	require.Equal(t, []int{sceneH, sceneW}, []int{img.Rows(), img.Cols()})
	d := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(backDepth, 0, 0, 0), sceneH, sceneW, gocv.MatTypeCV16UC1)
	face := d.Region(image.Rect(int(faceBox.X), int(faceBox.Y), int(faceBox.X+faceBox.W), int(faceBox.Y+faceBox.H)))
	face.SetTo(gocv.NewScalar(faceDepth, 0, 0, 0))
	face.Close()
	s := &scene{color: img, depth: d}
	t.Cleanup(func() { s.color.Close(); s.depth.Close() })
	return s
}

// feed injects the scene at sceneFPS until stop is closed, as a camera
// would send it; wg tracks the goroutine.
func feed(t *testing.T, dev *SoftwareDevice, s *scene, stop <-chan struct{}, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / sceneFPS)
		defer tick.Stop()
		for i := 0; ; i++ {
			if err := dev.Inject(s.color, s.depth, time.Duration(i)*time.Second/sceneFPS); err != nil {
				t.Errorf("inject: %v", err)
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
}

func newSoftwareDevice(t *testing.T, serial string) *SoftwareDevice {
	t.Helper()
	dev, err := NewSoftwareDevice(SoftwareConfig{Serial: serial, Width: sceneW, Height: sceneH, FPS: sceneFPS})
	require.NoError(t, err)
	return dev
}

func TestSoftwareDeviceSource(t *testing.T) {
	requireLibrary(t)
	checkMats(t)
	sc := newScene(t)
	dev := newSoftwareDevice(t, "sw-source")
	defer dev.Close()
	src, err := NewSource(dev.Config())
	require.NoError(t, err)
	defer src.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	feed(t, dev, sc, stop, &wg)
	defer func() { close(stop); wg.Wait() }()

	info := src.Info()
	assert.True(t, info.Live)
	assert.Equal(t, 640, info.Width)
	assert.Equal(t, float64(sceneFPS), info.FPS)
	assert.InDelta(t, 0.001, src.DepthScale(), 1e-9)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last time.Duration = -1
	withDepth := 0
	for i := 0; withDepth < 5; i++ {
		f, err := src.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(i), f.Number)
		assert.Greater(t, f.PTS, last, "PTS grows")
		last = f.PTS
		require.Equal(t, []int{sceneH, sceneW}, []int{f.Image.Rows(), f.Image.Cols()})
		if f.Depth.Ptr() == nil {
			// The syncer may pass the very first colour frame on unpaired.
			assert.Zero(t, withDepth, "frame %d lost its depth mid-stream", i)
			assert.Less(t, i, 2, "no depth in the first frames")
			f.Release()
			continue
		}
		withDepth++
		assert.InDelta(t, 0.001, f.DepthScale, 1e-9)
		require.Equal(t, []int{sceneH, sceneW}, []int{f.Depth.Rows(), f.Depth.Cols()})
		// The colour comes out as it went in (BGR8, one copy, no swap).
		diff := gocv.NewMat()
		gocv.AbsDiff(f.Image, sc.color, &diff)
		sum := diff.Sum()
		diff.Close()
		assert.Zero(t, sum.Val1+sum.Val2+sum.Val3, "colour changed on the way")
		// Depth at the face's centre and in a corner.
		assert.Equal(t, uint16(faceDepth), uint16(f.Depth.GetShortAt(int(faceBox.Y+faceBox.H/2), int(faceBox.X+faceBox.W/2))))
		assert.Equal(t, uint16(backDepth), uint16(f.Depth.GetShortAt(10, 10)))
		f.Release()
	}
}

// TestSoftwareDeviceLine runs the whole line: software camera -> source ->
// detection -> depth -> sink, and checks the face's distance is the injected
// 1.25 m.
func TestSoftwareDeviceLine(t *testing.T) {
	requireLibrary(t)
	checkMats(t)
	sc := newScene(t)
	dev := newSoftwareDevice(t, "sw-line")
	defer dev.Close()
	src, err := NewSource(dev.Config())
	require.NoError(t, err)
	// The line closes src.

	stop := make(chan struct{})
	var wg sync.WaitGroup
	feed(t, dev, sc, stop, &wg)
	defer func() { close(stop); wg.Wait() }()

	dp, err := depth.New(depth.Options{MaxDistance: 5})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var distances []float32
	var noDepth int
	const want = 5
	line := pipeline.New()
	line.AddSource(src, pipeline.LinkOptions{})
	line.AddStage("detect", pipeline.LinkOptions{}, detectFaces(t))
	line.AddStage("depth", pipeline.LinkOptions{}, dp)
	line.AddSink(pipeline.SinkFunc(func(_ context.Context, f *pipeline.Frame) error {
		mu.Lock()
		defer mu.Unlock()
		if f.Depth.Ptr() == nil {
			noDepth++ // the syncer's unpaired first frame
			return nil
		}
		require.Len(t, f.Objects, 1, "the detector finds the one face")
		for _, o := range f.Objects {
			assert.True(t, o.Box.X >= faceBox.X && o.Box.X+o.Box.W <= faceBox.X+faceBox.W, "the box is on the face: %+v", o.Box)
			distances = append(distances, o.Distance)
		}
		if len(distances) >= want {
			cancel() // a graceful stop
		}
		return nil
	}))
	require.NoError(t, line.Run(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(distances), want, "the line stopped before %d frames (timeout?)", want)
	assert.LessOrEqual(t, noDepth, 1)
	for _, d := range distances {
		assert.InDelta(t, 1.25, d, 0.001)
	}
}
