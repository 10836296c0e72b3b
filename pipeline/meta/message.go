package meta

import "time"

// Schema names the version of Message's JSON. Change it when a field
// changes meaning or goes away; adding an optional field keeps it.
const Schema = "conveyor.frame/v1"

// Message is what conveyor says about one frame, as JSON: one line of
// --events, one RabbitMQ message body. docs/MESSAGES.md documents it and
// docs/message.schema.json checks it.
type Message struct {
	Schema string `json:"schema"`
	// Source is the source's name (its URI as given, credentials redacted),
	// SourceID its index.
	Source   string `json:"source"`
	SourceID int    `json:"source_id"`
	Frame    int64  `json:"frame"`
	// PTSMillis is the stream's presentation timestamp in milliseconds.
	PTSMillis float64 `json:"pts_ms"`
	// Captured is when the frame was read (RFC 3339, nanoseconds, UTC).
	Captured time.Time `json:"captured"`
	// Emitted is when the message was made, at the end of the line.
	Emitted time.Time    `json:"emitted"`
	Width   int          `json:"width"`
	Height  int          `json:"height"`
	Objects []Object     `json:"objects"`
	Events  []TrackEvent `json:"events,omitempty"`
	// End is set only on a source's last message, made when the source
	// ended.
	End *End `json:"end,omitempty"`
}

// End says how a source ended: State is "ended" (end of stream),
// "stopped" (removed, or the run stopped) or "failed", with Err.
type End struct {
	State SourceState `json:"state"`
	Err   string      `json:"error,omitempty"`
}

// SourceState is where a source is in its life.
type SourceState string

// The states of a source.
const (
	SourceRunning SourceState = "running" // reading frames
	SourceEnded   SourceState = "ended"   // end of stream
	SourceStopped SourceState = "stopped" // detached, or the line stopped
	SourceFailed  SourceState = "failed"  // Read returned an error (see Err)
)
