// Package sink holds the line's outputs: a video file per source (Video),
// JSON lines of events (JSONL) and an on-screen window (Window). RabbitMQ
// lives in package mq, the web view in package web.
//
// Every sink is a pipeline.Sink: Write is called from the line's sink
// goroutine and never keeps the frame; Close finalizes the output and is
// called by the line on every kind of stop. Video and Window are also
// pipeline.SourceEnders: when a source ends while the line runs (end of
// stream, Line.Detach), Video finalizes that source's file at once and
// Window drops its tile or window; Close still finalizes the rest.
//
// Video encodes in a child process (encproc.go: ffmpeg with libx264 or a
// hardware encoder, gst-launch-1.0 with nvv4l2h264enc on a Jetson, chosen
// and probed by ChooseEncoder) fed raw I420 frames through a pipe: its CPU
// time is its own, a write error (a full disk) ends it and the next Write
// returns the reason, and it finishes its file when its input ends, even
// when conveyor is killed. Files are fragmented while written and counted
// before they are called written (partial.go).
//
// Nothing is written to an output before its first frame or message, and
// every output is claimed first (claim.go): a file that is also another
// output or an input of this process (ClaimInput), or that another process
// holds the lock of, is refused.
//
// Threading: the child processes are started, fed and waited for on the
// sink goroutine; each has one goroutine of its own that waits for its
// exit. The claim registry is safe from any goroutine.
package sink
