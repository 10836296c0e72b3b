package meta

// TrackEventKind says what happened to a tracked object.
type TrackEventKind string

// The tracker's events.
const (
	TrackAppeared TrackEventKind = "appeared"
	TrackLeft     TrackEventKind = "left"
)

// TrackEvent is a change in the set of tracked objects of one source.
type TrackEvent struct {
	Kind    TrackEventKind `json:"kind"`
	TrackID int64          `json:"track_id"`
	Label   string         `json:"label"`
	// Frames is how many frames the object was seen, for TrackLeft.
	Frames int `json:"frames,omitempty"`
}
