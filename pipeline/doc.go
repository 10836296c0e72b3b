// Package pipeline is conveyor's assembly line: DeepStream's idea of a video
// pipeline (sources, stages, sinks, metadata, probes) in plain Go.
//
// A Line runs each Source, each stage and the sinks in goroutines joined by
// bounded links (channels of *Frame). A link has a Policy for when the stage
// after it is busy: Block (every frame comes out; files) or DropOldest (the
// newest picture wins and drops are counted; live cameras). A stage can run
// several workers; frames leave it in the order they entered.
//
// Sources come and go: Line.Attach adds one before Run or while it runs
// (each source has its own goroutine and link, merged into the first stage),
// Line.Detach stops one gracefully, and Line.Sources reports each source's
// state and counts. With Line.KeepAlive the line outlives its sources and
// waits for more. When a source ends, for any reason, an end-of-source
// marker follows its last frame down the line: a single-worker stage or a
// sink that implements SourceEnder is told, in order, so it can finalize
// that source's output or forget its state. The marker carries a SourceEnd
// (how the source ended, and the meta.TrackLeft events a tracker adds), which the
// reporting sinks write as the source's last message. Markers never reach Process,
// Write or probes, are never dropped, and are not counted.
//
// Errors: who is to blame decides what ends. A source whose Read fails ends
// alone (a live one first retries). A stage or sink error wrapping
// ErrSkipFrame loses that frame only. One wrapping ErrBadSource says that
// the frame's source cannot be handled at all (a 2x2 picture for a face
// detector): the line ends that source alone, as failed with that error in
// its end-of-source marker, and the other sources go on; a batch blames
// every source in it. Run returns these source errors once the line is
// done. Any other error means the stage itself is broken (a dead engine, a
// full disk): it is fatal and aborts the line. A stage's error is prefixed
// with its name once.
//
// Secrets: a source's name (its URI) is redacted once, where it enters the
// line (Attach, with meta.RedactURI): frames, statuses, end-of-source
// markers and the source's errors carry the redacted name only.
//
// Threading: Attach, Detach, Sources and Stats may be called from any
// goroutine at any time; the rest of the building (AddStage, AddSink, Probe)
// happens before Run. Each Processor and Sink is called from one goroutine.
//
// Ownership: a Frame owns its Mats. Sources create frames, the line hands
// them from stage to stage, and the line releases each frame after the last
// sink has written it, or when it is dropped. Stages and sinks never release
// frames and never keep them after returning. The line owns what is added to
// it: a source is closed as soon as its Read loop has returned; processors
// and sinks are closed when Run returns (or by Line.Close for a line that
// never ran).
//
// Stopping: cancelling Run's context stops the sources and lets the frames in
// flight drain to the sinks, which are then finalized. A fatal error stops
// everything at once and is returned. Either way every source, processor and
// sink is closed before Run returns.
//
// This package knows nothing of models, TensorRT, RealSense or RabbitMQ: those
// live in their own packages and plug in through Source, Processor and Sink.
package pipeline
