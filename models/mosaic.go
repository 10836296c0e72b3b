package models

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // the dlib set is JPEG
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// MosaicOptions describe a synthetic crowd: labelled images downscaled so
// that their faces are small and tiled edge to edge into one large picture.
// The labels scale exactly with the pictures, so the crowd's labels are as
// exact as the originals'.
type MosaicOptions struct {
	// W, H is the mosaic's size (1600x900, 1920x1080).
	W, H int
	// MinFace, MaxFace bound the face size: each tile is scaled so that the
	// width of its largest labelled face is drawn uniformly from this range,
	// so that every face is at most MaxFace wide. Faces of a tile that end
	// up narrower or shorter than MinFace are ignore boxes (detections on
	// them count neither way).
	MinFace, MaxFace float32
	// Seed picks the tiles and their sizes: the same seed gives the same
	// mosaic.
	Seed uint64
	// Background is the grey level of what no tile covers (0: 114).
	Background uint8
}

// Mosaic is a synthetic crowd and its labels, in its own pixels.
type Mosaic struct {
	Image  *image.RGBA
	Truth  []meta.Rect
	Ignore []meta.Rect
}

// BuildMosaic tiles the images of set, downscaled (area averaging), into a
// mosaic of o.W x o.H, row by row, left to right: each tile is a random image
// of the set at a random scale (see MosaicOptions); a tile that does not fit
// at the end of a row starts the next row, and the last rows stop at the
// bottom edge. It reads each image file once. Images whose labelled faces
// are all narrower than o.MinFace even at full size are not used.
func BuildMosaic(set []LabeledImage, o MosaicOptions) (Mosaic, error) {
	if o.W < 64 || o.H < 64 || o.W > 1<<14 || o.H > 1<<14 {
		return Mosaic{}, fmt.Errorf("models: mosaic size %dx%d: want 64 to 16384 on each side", o.W, o.H)
	}
	if !(o.MinFace > 0 && o.MaxFace >= o.MinFace) {
		return Mosaic{}, fmt.Errorf("models: mosaic face sizes %g to %g: want 0 < min <= max", o.MinFace, o.MaxFace)
	}
	if o.Background == 0 {
		o.Background = 114
	}
	type tile struct {
		img     *image.RGBA
		li      LabeledImage
		largest float32
	}
	var tiles []tile
	for _, li := range set {
		if len(li.Boxes) == 0 {
			continue
		}
		img, err := readRGBA(li.Path)
		if err != nil {
			return Mosaic{}, err
		}
		largest := float32(0)
		for _, b := range li.Boxes {
			largest = max(largest, b.W)
		}
		tiles = append(tiles, tile{img: img, li: li, largest: largest})
	}
	if len(tiles) == 0 {
		return Mosaic{}, errors.New("models: mosaic: no labelled image to tile")
	}
	m := Mosaic{Image: image.NewRGBA(image.Rect(0, 0, o.W, o.H))}
	for i := range m.Image.Pix {
		m.Image.Pix[i] = o.Background
		if i%4 == 3 {
			m.Image.Pix[i] = 255
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6d6f73616963))
	for y := 0; y < o.H; {
		rowH := 0
		for x := 0; x < o.W; {
			t := tiles[rng.IntN(len(tiles))]
			face := o.MinFace + rng.Float32()*(o.MaxFace-o.MinFace)
			k := float64(face / t.largest)
			sw, sh := t.img.Bounds().Dx(), t.img.Bounds().Dy()
			w, h := max(1, int(math.Round(float64(sw)*k))), max(1, int(math.Round(float64(sh)*k)))
			if x+w > o.W {
				break
			}
			if y+h > o.H {
				x += w // too tall for the last row: try the next tile
				continue
			}
			small := resizeArea(t.img, w, h)
			for r := range h {
				copy(m.Image.Pix[(y+r)*m.Image.Stride+4*x:], small.Pix[r*small.Stride:r*small.Stride+4*w])
			}
			kx, ky := float32(w)/float32(sw), float32(h)/float32(sh)
			place := func(b meta.Rect) meta.Rect {
				return meta.Rect{X: float32(x) + b.X*kx, Y: float32(y) + b.Y*ky, W: b.W * kx, H: b.H * ky}
			}
			for _, b := range t.li.Boxes {
				r := place(b)
				if min(r.W, r.H) >= o.MinFace {
					m.Truth = append(m.Truth, r)
				} else {
					m.Ignore = append(m.Ignore, r)
				}
			}
			for _, b := range t.li.Ignore {
				m.Ignore = append(m.Ignore, place(b))
			}
			x += w
			rowH = max(rowH, h)
		}
		if rowH == 0 {
			break
		}
		y += rowH
	}
	if len(m.Truth) == 0 {
		return Mosaic{}, errors.New("models: mosaic: no face fits: make it larger or the faces smaller")
	}
	return m, nil
}

// readRGBA decodes an image file into RGBA.
func readRGBA(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: mosaic: %w", err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("models: mosaic: %s: %w", path, err)
	}
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			dst.Set(x, y, color.RGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)))
		}
	}
	return dst, nil
}

// resizeArea downscales src to w x h by area averaging (what OpenCV's
// INTER_AREA does when shrinking): each output pixel is the mean of the
// source pixels it covers, partial pixels weighted by their overlap.
func resizeArea(src *image.RGBA, w, h int) *image.RGBA {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	xs, ys := areaWeights(sw, w), areaWeights(sh, h)
	// Rows first into a float buffer of h x sw, then columns.
	tmp := make([]float32, h*sw*4)
	for oy, ws := range ys {
		row := tmp[oy*sw*4 : (oy+1)*sw*4]
		for _, wt := range ws {
			s := src.Pix[wt.i*src.Stride:]
			for x := range sw * 4 {
				row[x] += wt.w * float32(s[x])
			}
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for oy := range h {
		row := tmp[oy*sw*4:]
		for ox, ws := range xs {
			var acc [4]float32
			for _, wt := range ws {
				for c := range 4 {
					acc[c] += wt.w * row[wt.i*4+c]
				}
			}
			for c := range 4 {
				dst.Pix[oy*dst.Stride+ox*4+c] = uint8(min(255, max(0, math.Round(float64(acc[c])))))
			}
		}
	}
	return dst
}

type weight struct {
	i int
	w float32
}

// areaWeights lists, for each of n output pixels along one axis, the source
// pixels it covers and their weights (summing to 1).
func areaWeights(src, n int) [][]weight {
	out := make([][]weight, n)
	k := float64(src) / float64(n)
	for o := range n {
		a, b := float64(o)*k, float64(o+1)*k
		for i := int(a); i < src && float64(i) < b; i++ {
			lo, hi := max(a, float64(i)), min(b, float64(i+1))
			if hi > lo {
				out[o] = append(out[o], weight{i, float32((hi - lo) / k)})
			}
		}
	}
	return out
}
