package infer

/*
#include <stdlib.h>
#include "dnn_shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"gocv.io/x/gocv"
)

// faceDetectorYN runs OpenCV's cv::FaceDetectorYN on img at its own size:
// the reference the tests hold our YuNet 2022mar path to. Not for
// production use (it loads the model on every call).
func faceDetectorYN(path string, img gocv.Mat, score, nms float32) ([]meta.Object, error) {
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("infer: reference: want a BGR8 image")
	}
	b := img.ToBytes() // a Go copy; C reads it during the call only
	cPath := C.CString(path)
	defer C.free(unsafe.Pointer(cPath))
	const maxFaces = 1000
	out := make([]float32, maxFaces*15)
	var n C.int
	if err := cError(C.conveyor_face_detector_yn(cPath, (*C.uchar)(unsafe.Pointer(&b[0])), C.int(img.Cols()), C.int(img.Rows()),
		C.float(score), C.float(nms), (*C.float)(unsafe.Pointer(&out[0])), maxFaces, &n)); err != nil {
		return nil, fmt.Errorf("infer: reference: %w", err)
	}
	objs := make([]meta.Object, int(n))
	for i := range objs {
		r := out[15*i : 15*i+15]
		objs[i] = meta.Object{Box: meta.Rect{X: r[0], Y: r[1], W: r[2], H: r[3]}, Score: r[14], Label: "face"}
		for k := range 5 {
			objs[i].Landmarks = append(objs[i].Landmarks, meta.Point{X: r[4+2*k], Y: r[5+2*k]})
		}
	}
	return objs, nil
}
