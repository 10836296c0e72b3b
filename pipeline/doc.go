// Package pipeline is conveyor's assembly line: DeepStream's idea of a video
// pipeline (sources, stages, sinks, metadata, probes) in plain Go.
//
// A Line runs each Source, each stage and the sinks in goroutines joined by
// bounded links (channels of *Frame). A link has a Policy for when the stage
// after it is busy: Block (every frame comes out; files) or DropOldest (the
// newest picture wins and drops are counted; live cameras). A stage can run
// several workers; frames leave it in the order they entered.
//
// Ownership: a Frame owns its Mats. Sources create frames, the line hands
// them from stage to stage, and the line releases each frame after the last
// sink has written it, or when it is dropped. Stages and sinks never release
// frames and never keep them after returning.
//
// Stopping: cancelling Run's context stops the sources and lets the frames in
// flight drain to the sinks, which are then finalized. A fatal error stops
// everything at once and is returned. Either way every source, processor and
// sink is closed before Run returns.
//
// This package knows nothing of models, TensorRT, RealSense or RabbitMQ: those
// live in their own packages and plug in through Source, Processor and Sink.
package pipeline
