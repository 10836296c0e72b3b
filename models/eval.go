package models

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// LabeledImage is one image of an evaluation set and its true boxes.
type LabeledImage struct {
	// Path is the image file, resolved against the XML file's folder.
	Path          string
	Width, Height int
	Boxes         []meta.Rect
	// Ignore are boxes marked ignore='1': detections on them count neither
	// way.
	Ignore []meta.Rect
}

// ReadImglab reads a dlib imglab XML file (ISO-8859-1 or UTF-8):
// <dataset><images><image file=..><box top left width height/>...
func ReadImglab(path string) ([]LabeledImage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: imglab: %w", err)
	}
	var doc struct {
		Images []struct {
			File   string `xml:"file,attr"`
			Width  int    `xml:"width,attr"`
			Height int    `xml:"height,attr"`
			Boxes  []struct {
				Top    float32 `xml:"top,attr"`
				Left   float32 `xml:"left,attr"`
				Width  float32 `xml:"width,attr"`
				Height float32 `xml:"height,attr"`
				Ignore int     `xml:"ignore,attr"`
			} `xml:"box"`
		} `xml:"images>image"`
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "iso-8859-1", "latin1", "latin-1":
			return latin1Reader(r)
		case "utf-8", "us-ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("models: imglab %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	out := make([]LabeledImage, 0, len(doc.Images))
	for _, im := range doc.Images {
		if im.File == "" {
			return nil, fmt.Errorf("models: imglab %s: image without a file attribute", path)
		}
		li := LabeledImage{Path: filepath.Join(dir, filepath.FromSlash(im.File)), Width: im.Width, Height: im.Height}
		for _, b := range im.Boxes {
			r := meta.Rect{X: b.Left, Y: b.Top, W: b.Width, H: b.Height}
			if b.Ignore != 0 {
				li.Ignore = append(li.Ignore, r)
			} else {
				li.Boxes = append(li.Boxes, r)
			}
		}
		out = append(out, li)
	}
	return out, nil
}

// latin1Reader converts ISO-8859-1 to UTF-8 (each byte is its code point).
func latin1Reader(r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return strings.NewReader(sb.String()), nil
}

// Counts tallies detections against ground truth.
type Counts struct {
	TP, FP, FN int
}

// Add sums two tallies.
func (c Counts) Add(o Counts) Counts { return Counts{c.TP + o.TP, c.FP + o.FP, c.FN + o.FN} }

// Precision is TP / (TP + FP), 1 when there are no detections.
func (c Counts) Precision() float64 {
	if c.TP+c.FP == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// Recall is TP / (TP + FN), 1 when there is nothing to find.
func (c Counts) Recall() float64 {
	if c.TP+c.FN == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

func (c Counts) String() string {
	return fmt.Sprintf("TP %d FP %d FN %d: P %.3f R %.3f", c.TP, c.FP, c.FN, c.Precision(), c.Recall())
}

// Match matches detections to true boxes greedily by descending score: each
// detection takes the unmatched true box it overlaps most, if that IoU is
// at least iou (a TP), else it is a FP unless it overlaps an ignore box by
// iou. True boxes left unmatched are FN.
func Match(dets []meta.Object, truth, ignore []meta.Rect, iou float32) Counts {
	order := make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case dets[a].Score > dets[b].Score:
			return -1
		case dets[a].Score < dets[b].Score:
			return 1
		}
		return 0
	})
	used := make([]bool, len(truth))
	var c Counts
	for _, i := range order {
		best, bestIoU := -1, float32(0)
		for j, t := range truth {
			if used[j] {
				continue
			}
			if v := IoU(dets[i].Box, t); v >= iou && v > bestIoU {
				best, bestIoU = j, v
			}
		}
		if best >= 0 {
			used[best] = true
			c.TP++
			continue
		}
		ignored := false
		for _, r := range ignore {
			if IoU(dets[i].Box, r) >= iou {
				ignored = true
				break
			}
		}
		if !ignored {
			c.FP++
		}
	}
	for _, u := range used {
		if !u {
			c.FN++
		}
	}
	return c
}

// Hidden is the fraction of face's area that lies inside the union of the
// regions a blur hides: each region is a box, or with ellipse the ellipse
// inscribed in it (post.Blur's shapes). It samples face on a 24 x 24 grid of
// cell centres, so it is exact to about 1/576 of the face. An empty face is
// hidden (1).
func Hidden(face meta.Rect, regions []meta.Rect, ellipse bool) float32 {
	if face.W <= 0 || face.H <= 0 {
		return 1
	}
	const n = 24
	in := 0
	for i := range n {
		y := face.Y + (float32(i)+0.5)*face.H/n
		for j := range n {
			x := face.X + (float32(j)+0.5)*face.W/n
			for _, r := range regions {
				if insideRegion(x, y, r, ellipse) {
					in++
					break
				}
			}
		}
	}
	return float32(in) / (n * n)
}

func insideRegion(x, y float32, r meta.Rect, ellipse bool) bool {
	if r.W <= 0 || r.H <= 0 || x < r.X || y < r.Y || x > r.X+r.W || y > r.Y+r.H {
		return false
	}
	if !ellipse {
		return true
	}
	dx := (x - (r.X + r.W/2)) / (r.W / 2)
	dy := (y - (r.Y + r.H/2)) / (r.H / 2)
	return dx*dx+dy*dy <= 1
}
