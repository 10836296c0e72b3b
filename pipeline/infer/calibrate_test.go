package infer

import (
	"context"
	"fmt"
	"image"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// The calibration of models/CALIBRATION.md: CONVEYOR_CALIBRATE=1 go test
// -run TestCalibrate -v ./pipeline/infer prints its tables. It is not a
// test (it asserts nothing and takes minutes); the tests that hold the
// chosen values are TestRefineFindsSmallFaces and the cmd/conveyor ones.

type crowdCase struct {
	name string
	img  gocv.Mat
	m    models.Mosaic
}

func crowds(t *testing.T) []crowdCase {
	var out []crowdCase
	for _, sz := range [][2]int{{1600, 900}, {1920, 1080}} {
		for seed := uint64(1); seed <= 3; seed++ {
			img, m := crowd(t, sz[0], sz[1], seed)
			out = append(out, crowdCase{fmt.Sprintf("%dx%d#%d", sz[0], sz[1], seed), img, m})
		}
	}
	return out
}

func TestCalibrate(t *testing.T) {
	if os.Getenv("CONVEYOR_CALIBRATE") == "" {
		t.Skip("set CONVEYOR_CALIBRATE=1 to print the calibration tables")
	}
	cs := crowds(t)
	defer func() {
		for _, c := range cs {
			c.img.Close()
		}
	}()
	which := os.Getenv("CONVEYOR_CALIBRATE")
	if strings.Contains(which, "refine") || which == "1" {
		calibrateRefine(t, cs)
	}
	if strings.Contains(which, "verify") || which == "1" {
		calibrateVerify(t, cs)
	}
	if strings.Contains(which, "models") || which == "1" {
		calibrateModels(t, cs)
	}
	if strings.Contains(which, "pad") || which == "1" {
		calibratePad(t, cs)
	}
	if strings.Contains(which, "reference") || which == "1" {
		calibrateReference(t, cs)
	}
}

func calibrateRefine(t *testing.T, cs []crowdCase) {
	type variant struct {
		model string
		cal   models.Calibration
		score float32
		minF  int
	}
	var vs []variant
	for _, ps := range []float32{0.3, 0.4, 0.5, 0.8} {
		for _, vf := range []float32{24, 32, 40} {
			vs = append(vs, variant{yunet22, models.Calibration{ProposalScore: ps, ProposalFace: 10, VerifyFace: vf, VerifyScore: 0.9}, 0.8, 10})
		}
	}
	vs = append(vs, variant{yunet22, models.Calibration{ProposalScore: 0.3, ProposalFace: 10, VerifyFace: 48, VerifyScore: 0.9}, 0.8, 10})
	vs = append(vs, variant{yunet22, models.Calibration{ProposalScore: 0.3, ProposalFace: 7.5, VerifyFace: 40, VerifyScore: 0.9}, 0.8, 10})
	// The choice: proposals checked at 32 px (where the model tells faces
	// from texture without false alarms), small detections placed at 48.
	vs = append(vs, variant{yunet22, models.Calibration{ProposalScore: 0.3, ProposalFace: 10, VerifyFace: 32, LocateFace: 40}, 0.8, 10})
	vs = append(vs, variant{yunet22, models.Calibration{ProposalScore: 0.3, ProposalFace: 10, VerifyFace: 32, LocateFace: 48}, 0.8, 10})
	if os.Getenv("CONVEYOR_CALIBRATE_QUICK") != "" {
		vs = vs[len(vs)-2:]
	}
	fmt.Println("| model | proposal score | proposal face | verify face (locate face) | verify score | recall | precision | TP FP FN | proposals/img | canvas Mpx/img | CPU ms/img | FN at IoU 0.3-0.5 | faces >= 90% hidden |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, v := range vs {
		mod, err := Open(Options{Model: asset(t, v.model), Decoder: models.DecoderOptions{ScoreThreshold: v.score}})
		require.NoError(t, err)
		mod.Spec.Calibration, mod.MinFace = v.cal, v.minF
		d, err := mod.NewDetector()
		require.NoError(t, err)
		var sum models.Counts
		loc, hidden, faces := 0, 0, 0
		start := cpuTime()
		for _, c := range cs {
			objs, err := d.Detect(context.Background(), c.img)
			require.NoError(t, err)
			sum = sum.Add(models.Match(objs, c.m.Truth, c.m.Ignore, 0.5))
			var regions []meta.Rect
			for _, o := range objs {
				regions = append(regions, padded(o.Box, 0.4))
			}
			for _, tr := range c.m.Truth {
				faces++
				best := float32(0)
				for _, o := range objs {
					best = max(best, models.IoU(o.Box, tr))
				}
				if best >= 0.3 && best < 0.5 {
					loc++
				}
				if models.Hidden(tr, regions, true) >= 0.9 {
					hidden++
				}
			}
		}
		cpu := cpuTime() - start
		st := d.refine.Stats()
		n := float64(len(cs))
		locate := v.cal.LocateFace
		if locate == 0 {
			locate = v.cal.VerifyFace
		}
		fmt.Printf("| %s | %.2f | %.1f | %.0f (%.0f) | %.2f | %.3f | %.3f | %d %d %d | %.0f | %.2f | %.0f | %d | %.3f |\n", mod.Spec.Name, v.cal.ProposalScore, v.cal.ProposalFace, v.cal.VerifyFace, locate, max(v.score, v.cal.VerifyScore),
			sum.Recall(), sum.Precision(), sum.TP, sum.FP, sum.FN, float64(st.Proposals)/n, float64(st.CanvasPixels)/n/1e6, float64(cpu.Milliseconds())/n, loc, float64(hidden)/float64(faces))
		require.NoError(t, d.Close())
	}
}

// padded grows a box by pad of its size on every side (post.Blur's pad).
func padded(b meta.Rect, pad float32) meta.Rect {
	return meta.Rect{X: b.X - b.W*pad, Y: b.Y - b.H*pad, W: b.W * (1 + 2*pad), H: b.H * (1 + 2*pad)}
}

// calibrateReference holds the line (default options, min-face 10) to
// OpenCV's own FaceDetectorYN at the image's size and at twice its size
// (what issue 14 checks unseen photos against): the faces the reference
// finds at score >= refScore that the line does not hide (>= 90% of the
// face inside a blurred ellipse, pad 0.15).
func calibrateReference(t *testing.T, cs []crowdCase) {
	type img struct {
		name string
		mat  gocv.Mat
	}
	var imgs []img
	for _, rel := range []string{"media/images/dlib_bald_guys.jpg", "media/images/gocv_face.jpg", "media/images/dlib_tom_cruise_large_face.jpg",
		"media/eval/dlib_faces/2007_007763.jpg", "media/eval/dlib_faces/2008_001009.jpg", "media/eval/dlib_faces/2008_001322.jpg", "media/eval/dlib_faces/2008_002079.jpg"} {
		imgs = append(imgs, img{rel, readImage(t, rel)})
	}
	defer func() {
		for _, i := range imgs[:7] { // the crowds are the caller's to close
			i.mat.Close()
		}
	}()
	for _, c := range cs[:2] {
		imgs = append(imgs, img{c.name, c.img})
	}
	// The reference: FaceDetectorYN at 1x and 2x, merged by NMS.
	for _, refScore := range []float32{0.9, 0.8} {
		refs := make([][]meta.Object, len(imgs))
		for i, im := range imgs {
			a, err := faceDetectorYN(asset(t, yunet22), im.mat, refScore, 0.3)
			require.NoError(t, err)
			big := gocv.NewMat()
			gocv.Resize(im.mat, &big, image.Pt(2*im.mat.Cols(), 2*im.mat.Rows()), 0, 0, gocv.InterpolationLinear)
			b, err := faceDetectorYN(asset(t, yunet22), big, refScore, 0.3)
			big.Close()
			require.NoError(t, err)
			for j := range b {
				b[j].Box = meta.Rect{X: b[j].Box.X / 2, Y: b[j].Box.Y / 2, W: b[j].Box.W / 2, H: b[j].Box.H / 2}
			}
			refs[i] = models.NMSObjects(append(a, b...), 0.3)
		}
		fmt.Printf("\nreference: FaceDetectorYN 1x+2x at score %.2f\n\n", refScore)
		fmt.Println("| proposal score | verify face (locate face) | verify score | min-face | reference faces (>= 10 px) | not hidden (>= 10 px) | not hidden (< 10 px) | per image (missed/ref) |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		type variant struct {
			ps, vf, vs, lf float32
			minF           int
		}
		for _, v := range []variant{{0.3, 32, 0, 48, 0}, {0.3, 32, 0, 32, 10}, {0.3, 40, 0, 40, 10}, {0.3, 40, 0.9, 40, 10}, {0.3, 32, 0, 48, 10}} {
			ps, minF := v.ps, v.minF
			{
				mod, err := Open(Options{Model: asset(t, yunet22), MinFace: minF})
				require.NoError(t, err)
				mod.Spec.Calibration.ProposalScore = ps
				mod.Spec.Calibration.VerifyFace = v.vf
				mod.Spec.Calibration.VerifyScore = v.vs
				mod.Spec.Calibration.LocateFace = v.lf
				d, err := mod.NewDetector()
				require.NoError(t, err)
				total, missed, tiny := 0, 0, 0
				var per []string
				for i, im := range imgs {
					objs, err := d.Detect(context.Background(), im.mat)
					require.NoError(t, err)
					var regions []meta.Rect
					for _, o := range objs {
						regions = append(regions, padded(o.Box, 0.4))
					}
					m := 0
					for _, r := range refs[i] {
						if models.Hidden(r.Box, regions, true) >= 0.9 {
							continue
						}
						m++
						if min(r.Box.W, r.Box.H) < 10 {
							tiny++
						} else {
							missed++
						}
					}
					for _, r := range refs[i] {
						if min(r.Box.W, r.Box.H) >= 10 {
							total++
						}
					}
					per = append(per, fmt.Sprintf("%d/%d", m, len(refs[i])))
				}
				fmt.Printf("| %.2f | %.0f (%.0f) | %.2f | %d | %d | %d | %d | %s |\n", ps, v.vf, v.lf, max(v.vs, 0.8), minF, total, missed, tiny, strings.Join(per, " "))
				require.NoError(t, d.Close())
			}
		}
	}
}

// calibratePad measures how much of each labelled face the blur hides, for
// several pads and both shapes, with the line's detections (min-face 10):
// the dlib set at full size and the crowds.
func calibratePad(t *testing.T, cs []crowdCase) {
	set, err := models.ReadDlibFaces(asset(t, models.DlibFaces))
	require.NoError(t, err)
	mod, err := Open(Options{Model: asset(t, yunet22), MinFace: 10})
	require.NoError(t, err)
	d, err := mod.NewDetector()
	require.NoError(t, err)
	defer d.Close()
	type face struct {
		truth meta.Rect
		dets  []meta.Rect
	}
	var dl, cr []face
	collect := func(img gocv.Mat, truth []meta.Rect) []face {
		objs, err := d.Detect(context.Background(), img)
		require.NoError(t, err)
		var out []face
		for _, tr := range truth {
			f := face{truth: tr}
			for _, o := range objs {
				f.dets = append(f.dets, o.Box)
			}
			out = append(out, f)
		}
		return out
	}
	for _, li := range set {
		img := gocv.IMRead(li.Path, gocv.IMReadColor)
		dl = append(dl, collect(img, li.Boxes)...)
		img.Close()
	}
	for _, c := range cs {
		cr = append(cr, collect(c.img, c.m.Truth)...)
	}
	fmt.Println("| set | shape | pad | worst | 1st percentile | mean | faces >= 99% hidden |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, s := range []struct {
		name  string
		faces []face
	}{{"dlib (18 faces, 37-90 px)", dl}, {fmt.Sprintf("crowds (%d faces, 10-30 px)", len(cr)), cr}} {
		for _, ellipse := range []bool{true, false} {
			for _, pad := range []float32{0.15, 0.2, 0.25, 0.3, 0.35, 0.4} {
				var hs []float64
				for _, f := range s.faces {
					var regions []meta.Rect
					for _, b := range f.dets {
						regions = append(regions, padded(b, pad))
					}
					hs = append(hs, float64(models.Hidden(f.truth, regions, ellipse)))
				}
				slices.Sort(hs)
				var sum float64
				n99 := 0
				for _, h := range hs {
					sum += h
					if h >= 0.99 {
						n99++
					}
				}
				shape := "rect"
				if ellipse {
					shape = "ellipse"
				}
				fmt.Printf("| %s | %s | %.2f | %.3f | %.3f | %.4f | %.3f |\n", s.name, shape, pad, hs[0], hs[len(hs)/100], sum/float64(len(hs)), float64(n99)/float64(len(hs)))
			}
		}
	}
}

// clipFrames decodes a clip of the assets into Mats (the caller closes
// them).
func clipFrames(t *testing.T, rel string) []gocv.Mat {
	vc, err := gocv.VideoCaptureFile(asset(t, rel))
	require.NoError(t, err)
	defer vc.Close()
	var out []gocv.Mat
	for {
		m := gocv.NewMat()
		if !vc.Read(&m) || m.Empty() {
			m.Close()
			return out
		}
		out = append(out, m)
	}
}

// calibrateModels sweeps each model's score threshold: precision and recall
// on the dlib set (full size) and on the crowds, frames with a detection on
// the no-face clip, frames with fewer than two faces on the head-pose clip.
func calibrateModels(t *testing.T, cs []crowdCase) {
	set, err := models.ReadDlibFaces(asset(t, models.DlibFaces))
	require.NoError(t, err)
	var dlib []gocv.Mat
	for _, li := range set {
		dlib = append(dlib, gocv.IMRead(li.Path, gocv.IMReadColor))
	}
	noface := clipFrames(t, "media/video/gocv_small_noface.mp4")
	pose := clipFrames(t, "media/video/head-pose-face-detection-female-and-male.mp4")
	defer func() {
		for _, ms := range [][]gocv.Mat{dlib, noface, pose} {
			for _, m := range ms {
				m.Close()
			}
		}
	}()
	type variant struct {
		model  string
		cal    models.Calibration
		scores []float32
	}
	only := os.Getenv("CONVEYOR_CALIBRATE_MODEL")
	for _, v := range []variant{
		{yunet22, models.Calibration{ProposalScore: 0.3, ProposalFace: 10, VerifyFace: 32, LocateFace: 48}, []float32{0.6, 0.7, 0.75, 0.8, 0.85, 0.9}},
		{yunet23, models.Calibration{ProposalScore: 0.4, ProposalFace: 10, VerifyFace: 48}, []float32{0.6, 0.7, 0.75, 0.8, 0.85, 0.9}},
		{ultra320, models.Calibration{}, []float32{0.5, 0.6, 0.7, 0.8, 0.9}},
		{ultra640, models.Calibration{}, []float32{0.5, 0.6, 0.7, 0.8, 0.9}},
	} {
		if only != "" && !strings.Contains(v.model, only) {
			continue
		}
		fmt.Printf("\n%s (calibration %+v)\n\n", v.model, v.cal)
		fmt.Println("| score | dlib P / R (min-face 0) | dlib P / R (min-face 10) | crowds P / R (min-face 10) | no-face clip: frames with a detection | head-pose clip: frames with < 2 faces | CPU ms per crowd |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, sc := range v.scores {
			row := []string{fmt.Sprintf("%.2f", sc)}
			var crowdCPU time.Duration
			minFs := []int{0, 10}
			if v.cal.ProposalFace == 0 { // no small-face pass: the frame pass alone
				minFs = []int{0}
			}
			for _, minF := range minFs {
				mod, err := Open(Options{Model: asset(t, v.model), Decoder: models.DecoderOptions{ScoreThreshold: sc}})
				require.NoError(t, err)
				mod.Spec.Calibration, mod.MinFace = v.cal, minF
				d, err := mod.NewDetector()
				require.NoError(t, err)
				var dc models.Counts
				for i, img := range dlib {
					objs, err := d.Detect(context.Background(), img)
					require.NoError(t, err)
					dc = dc.Add(models.Match(objs, set[i].Boxes, set[i].Ignore, 0.5))
				}
				row = append(row, fmt.Sprintf("%.3f / %.3f", dc.Precision(), dc.Recall()))
				if len(minFs) == 1 {
					row = append(row, "-")
				}
				if minF > 0 || len(minFs) == 1 {
					var cc models.Counts
					start := cpuTime()
					for _, c := range cs {
						objs, err := d.Detect(context.Background(), c.img)
						require.NoError(t, err)
						cc = cc.Add(models.Match(objs, c.m.Truth, c.m.Ignore, 0.5))
					}
					crowdCPU = (cpuTime() - start) / time.Duration(len(cs))
					row = append(row, fmt.Sprintf("%.3f / %.3f", cc.Precision(), cc.Recall()))
					fp := 0
					for _, img := range noface {
						objs, err := d.Detect(context.Background(), img)
						require.NoError(t, err)
						if len(objs) > 0 {
							fp++
						}
					}
					few := 0
					for _, img := range pose {
						objs, err := d.Detect(context.Background(), img)
						require.NoError(t, err)
						if len(objs) < 2 {
							few++
						}
					}
					row = append(row, fmt.Sprintf("%d of %d", fp, len(noface)), fmt.Sprintf("%d of %d", few, len(pose)))
				}
				require.NoError(t, d.Close())
			}
			row = append(row, fmt.Sprintf("%.0f", float64(crowdCPU.Milliseconds())))
			fmt.Println("| " + strings.Join(row, " | ") + " |")
		}
	}
}

// calibrateVerify sweeps the verification canvas's face size and score:
// precision and recall on the crowds, and frames with a detection on the
// no-face clip (a verified proposal that is not a face).
func calibrateVerify(t *testing.T, cs []crowdCase) {
	noface := clipFrames(t, "media/video/gocv_small_noface.mp4")
	defer func() {
		for _, m := range noface {
			m.Close()
		}
	}()
	fmt.Println("| verify face | verify score | crowds P / R | TP FP FN | no-face clip: frames with a detection (best score) | canvas Mpx per crowd |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, vf := range []float32{32, 40} {
		for _, vs := range []float32{0, 0.85, 0.9, 0.95} {
			mod, err := Open(Options{Model: asset(t, yunet22), MinFace: 10})
			require.NoError(t, err)
			mod.Spec.Calibration.VerifyFace, mod.Spec.Calibration.VerifyScore = vf, vs
			d, err := mod.NewDetector()
			require.NoError(t, err)
			var cc models.Counts
			for _, c := range cs {
				objs, err := d.Detect(context.Background(), c.img)
				require.NoError(t, err)
				cc = cc.Add(models.Match(objs, c.m.Truth, c.m.Ignore, 0.5))
			}
			px := float64(d.refine.Stats().CanvasPixels) / float64(len(cs)) / 1e6
			fp, best := 0, float32(0)
			for _, img := range noface {
				objs, err := d.Detect(context.Background(), img)
				require.NoError(t, err)
				if len(objs) > 0 {
					fp++
				}
				for _, o := range objs {
					best = max(best, o.Score)
				}
			}
			fmt.Printf("| %.0f | %.2f | %.3f / %.3f | %d %d %d | %d of %d (%.2f) | %.2f |\n", vf, max(vs, 0.8), cc.Precision(), cc.Recall(), cc.TP, cc.FP, cc.FN, fp, len(noface), best, px)
			require.NoError(t, d.Close())
		}
	}
}
