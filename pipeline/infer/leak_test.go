package infer

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// TestNetLayout pins what netPtr relies on: gocv's Net is one pointer.
func TestNetLayout(t *testing.T) {
	assert.Equal(t, unsafe.Sizeof(uintptr(0)), unsafe.Sizeof(gocv.Net{}))
}

// BenchmarkForwardRSS compares gocv 0.31's Net.ForwardLayers (which leaks
// its name strings and Mat array on every call) with the shim's forward that
// the engine uses: rss-B/op is resident memory grown per call, after a
// warm-up. go test -run '^$' -bench ForwardRSS -benchtime 5000x ./pipeline/infer
func BenchmarkForwardRSS(b *testing.B) {
	path := asset(b, "models/yunet/face_detection_yunet_2022mar.onnx")
	for _, name := range []string{"gocv-ForwardLayers", "shim"} {
		b.Run(name, func(b *testing.B) {
			net := gocv.ReadNetFromONNX(path)
			defer net.Close()
			blob := gocv.NewMatWithSizes([]int{1, 3, 120, 160}, gocv.MatTypeCV32F)
			defer blob.Close()
			names := []string{"loc", "conf", "iou"}
			fwd := newForwarder(names)
			defer fwd.close()
			call := func() {
				net.SetInput(blob, "")
				if name == "shim" {
					if _, err := fwd.forward(&net); err != nil {
						b.Fatal(err)
					}
					return
				}
				for _, m := range net.ForwardLayers(names) {
					m.Close()
				}
			}
			for i := 0; i < 500; i++ {
				call()
			}
			before := pipelinetest.RSSKiB(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call()
			}
			b.ReportMetric(float64(pipelinetest.RSSKiB(b)-before)*1024/float64(b.N), "rss-B/op")
		})
	}
}
