package meta

// Object is one detected thing in a frame: DeepStream's NvDsObjectMeta.
type Object struct {
	Box       Rect    `json:"box"`
	Score     float32 `json:"score"`
	Label     string  `json:"label"`
	ClassID   int     `json:"class_id"`
	Landmarks []Point `json:"landmarks,omitempty"`
	// TrackID is a stable id given by the tracker; 0 means untracked.
	TrackID int64 `json:"track_id,omitempty"`
	// Held, when above 0, says the detector missed this object on this
	// frame: the box is where the tracker predicts it, held so that a face
	// stays blurred through a missed detection, and Held counts the frames
	// since it was last detected (Score is 0).
	Held int `json:"held,omitempty"`
	// Distance is the distance from the camera in metres, from depth; 0 means
	// unknown (no depth, or no valid depth pixel inside the box).
	Distance float32 `json:"distance_m,omitempty"`
	// User is free for user code.
	User map[string]any `json:"user,omitempty"`
}

// Rect is an axis-aligned box in pixels: top-left corner, width and height.
type Rect struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
	W float32 `json:"w"`
	H float32 `json:"h"`
}

// Point is a position in pixels.
type Point struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
}
