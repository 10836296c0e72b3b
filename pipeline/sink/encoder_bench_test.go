package sink

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/camera/cameratest"
	"github.com/conveyor-vision/conveyor/pipeline"
)

// BenchmarkEncoderCPU writes the two-person clip's frames (repeated) to a
// video with each encoder and preset, at the clip's 480×270 and scaled to
// 1080p, and reports the CPU time per frame of the whole process tree
// (conveyor's threads, the encoder process and x264's threads: getrusage
// SELF + CHILDREN, from the first frame to the finished file, its final
// rewrite included) and the file's bytes per frame.
//
//	go test -run '^$' -bench EncoderCPU -benchtime 300x ./pipeline/sink
func BenchmarkEncoderCPU(b *testing.B) {
	clip := cameratest.ClipFrames(b, "media/video/head-pose-face-detection-female-and-male.mp4", 0, 56)
	defer func() {
		for _, f := range clip {
			f.Release()
		}
	}()
	encoders := []struct {
		name string
		o    EncoderOptions
	}{
		{"opencv", EncoderOptions{Encoder: EncoderOpenCV}},
		{"libx264-ultrafast", EncoderOptions{Encoder: EncoderX264, Preset: Ultrafast}},
		{"libx264-superfast", EncoderOptions{Encoder: EncoderX264, Preset: Superfast}},
		{"libx264-veryfast", EncoderOptions{Encoder: EncoderX264, Preset: Veryfast}},
	}
	for _, size := range []image.Point{{480, 270}, {1920, 1080}} {
		frames := make([]gocv.Mat, len(clip))
		for i, f := range clip {
			frames[i] = gocv.NewMat()
			gocv.Resize(f.Image, &frames[i], size, 0, 0, gocv.InterpolationLinear)
		}
		for _, enc := range encoders {
			b.Run(fmt.Sprintf("%dx%d/%s", size.X, size.Y, enc.name), func(b *testing.B) {
				out := filepath.Join(b.TempDir(), "out.mp4")
				v, err := NewVideo(VideoOptions{Path: out, FPS: []float64{12}, Encode: enc.o})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				a, as := cpuNow(), selfNow()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f := &pipeline.Frame{Number: int64(i), Image: frames[i%len(frames)]}
					if err := v.Write(ctx, f); err != nil {
						b.Fatal(err)
					}
				}
				if err := v.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuNow()-a)/float64(time.Millisecond)/float64(b.N), "cpu-ms/frame")
				b.ReportMetric(float64(selfNow()-as)/float64(time.Millisecond)/float64(b.N), "in-process-ms/frame")
				if st, err := os.Stat(out); err == nil {
					b.ReportMetric(float64(st.Size())/float64(b.N), "bytes/frame")
				}
			})
		}
		for i := range frames {
			frames[i].Close()
		}
	}
}

// selfNow is this process's CPU time (the conversion to I420 and the pipe).
func selfNow() time.Duration {
	var self syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano())
}

// cpuNow is this process's CPU time and that of its children that have
// exited.
func cpuNow() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
