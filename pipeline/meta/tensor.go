package meta

// Tensor is a dense float32 array, row-major, with its shape (NCHW for images).
// Data may point into C memory owned by a Mat or an engine; it is valid until
// the owner is closed or the next call that reuses it.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// TensorInfo is a tensor's name and shape; -1 marks a dynamic dimension.
type TensorInfo struct {
	Name  string
	Shape []int
}

// Geometry describes how a frame was turned into a network input, so that
// decoders can map boxes back: frame = (input - Pad) / Scale.
type Geometry struct {
	// FrameW, FrameH are the size of the frame's picture.
	FrameW, FrameH int
	// InputW, InputH are the size of the network input, padding included.
	InputW, InputH int
	// ScaleX, ScaleY are input pixels per frame pixel.
	ScaleX, ScaleY float32
	// PadX, PadY are the offsets of the picture inside the input (letterbox).
	PadX, PadY float32
}

// ToFrame maps a point from network-input coordinates to frame coordinates.
func (g Geometry) ToFrame(x, y float32) (float32, float32) {
	sx, sy := g.ScaleX, g.ScaleY
	if sx == 0 {
		sx = 1
	}
	if sy == 0 {
		sy = 1
	}
	return (x - g.PadX) / sx, (y - g.PadY) / sy
}
