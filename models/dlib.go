package models

import (
	"path/filepath"
	"slices"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// DlibFaces is the labelled set in the assets folder: media/eval/dlib_faces
// (dlib's examples/faces, 4 images, 18 faces of 37-90 px).
const DlibFaces = "media/eval/dlib_faces/training.xml"

// dlibUnlabelled are real faces that dlib's labels leave out: people in the
// background of 2008_002079.jpg (a man behind the bar, a woman and a man by
// the window), 11-15 px wide. They were found by running YuNet 2022mar at
// twice the image's size (score >= 0.5, no labelled face within IoU 0.2) and
// checked by eye; the other three detections of that pass (a 5 px speck and
// a glass) are not faces and are not listed. models/CALIBRATION.md says
// more. Detections on them count neither as true nor as false positives.
var dlibUnlabelled = map[string][]meta.Rect{
	"2008_002079.jpg": {
		{X: 277, Y: 38, W: 16, H: 19},
		{X: 416, Y: 83, W: 16, H: 20},
		{X: 473, Y: 73, W: 12, H: 14},
	},
}

// ReadDlibFaces reads the dlib set at path (an imglab XML, DlibFaces in the
// assets) and adds, as ignore boxes, the real faces its labels leave out.
func ReadDlibFaces(path string) ([]LabeledImage, error) {
	set, err := ReadImglab(path)
	if err != nil {
		return nil, err
	}
	for i := range set {
		if extra := dlibUnlabelled[filepath.Base(set[i].Path)]; extra != nil {
			set[i].Ignore = append(slices.Clone(set[i].Ignore), extra...)
		}
	}
	return set, nil
}
