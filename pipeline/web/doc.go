// Package web serves a running line over HTTP: Prometheus metrics at
// /metrics, a health check at /healthz, the line's figures as JSON at
// /stats, live annotated MJPEG streams at /stream/{id} (one per source,
// "all" for every source tiled in one picture), the source API at
// /api/sources (api.go: list; with Options.OpenSource, add by URI and
// remove, DeepStream's runtime source add/delete) and a small
// self-contained page at / that shows them and, with the API on, adds and
// removes sources.
//
// Use: build the line, then New(line, opts) (it attaches timing probes to
// every stage, so call it before line.Run), add Server.Sink() as the last
// sink, run the line, and Close the server when done. The server listens
// on 127.0.0.1 unless Options.Addr names another host.
//
// Metrics are read at scrape time: the stage counters, queue depths, busy
// time and percentiles come from Line.Stats; per-stage duration and
// end-to-end latency histograms and per-source frame rates come from the
// probes. Register adds collectors of other packages (mq's publisher
// counters, inference batch sizes). Sources attached after New are picked
// up on their own (the line applies "source" probes to them and lists them
// in Stats).
//
// Sources that end: the Sink is a pipeline.SourceEnder. When a source ends
// (end of stream, failure, Detach) its feed goes: its viewers' streams end
// with the closing boundary, its Mats are freed, it leaves the tiled view,
// and /stream/{id} answers 410 Gone. Its per-source meter goes too, so that
// /metrics carries no series of sources long gone; /stats keeps listing it
// with its state and final frame count, and the page drops its tab.
//
// Threading: the Sink's Write runs on the line's sink goroutine and never
// waits for a viewer or for JPEG encoding: it copies at most StreamFPS
// frames a second per source (and only while someone watches) into a
// buffer that one encoder goroutine turns into JPEG; a frame arriving while
// the previous one still waits is dropped and counted. Each viewer has a
// one-part mailbox: a slow viewer loses parts (counted), never slows the
// line or other viewers. Every method of Server and Sink is safe for
// concurrent use.
//
// Ownership: Write copies the frame's image and keeps nothing of the frame.
// The Sink owns its Mats and closes them in Close (the line calls it after
// the last Write; Server.Close calls it too); Close also ends every stream.
// Server.Close shuts the HTTP server down within Options.ShutdownTimeout and
// waits for its goroutines.
package web
