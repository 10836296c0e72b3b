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
package sink
