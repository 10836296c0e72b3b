// Package track gives detected objects stable ids across frames: a
// SORT-like tracker (Bewley et al. 2016) as a pipeline.Processor,
// DeepStream's nvtracker IOU/NvSORT without the GPU.
//
// Each source (Frame.SourceID) has its own set of tracks and its own id
// counter, so ids start at 1 per source and do not depend on how frames of
// several sources interleave in a batched line. On each frame the tracker
// predicts every track's box with a constant-velocity alpha-beta filter,
// matches predictions to detections by IoU with the Hungarian algorithm
// (optimal assignment; a greedy match swaps ids when two paths cross),
// rejects pairs below Options.IoU, updates matched tracks, starts a tentative
// track for each unmatched detection and ages the others. A track is
// confirmed after Options.MinHits consecutive matches: from then on its
// objects carry TrackID and a TrackAppeared event is appended to
// Frame.Events. A confirmed track unseen for more than Options.MaxAge frames
// is dropped with a TrackLeft event; a tentative track is dropped as soon as
// it misses a frame. When a source ends, each confirmed track it still had
// gets its TrackLeft event on the source's pipeline.SourceEnd (EndSource), so
// every TrackAppeared is matched by a TrackLeft. Frame numbers, not calls,
// measure time, so frames dropped by a drop-oldest link count as missed
// frames.
//
// Why alpha-beta and not a full Kalman filter: with a constant-velocity
// model and fixed noise, SORT's Kalman filter converges within a few frames
// to fixed gains, which is exactly an alpha-beta filter; the fixed gains
// need no matrices, allocate nothing and behave the same on every frame.
//
// Threading: a Tracker is one goroutine's Processor (add it as a stage with
// exactly one worker: tracking needs the frames of a source in order). Forget
// and Stats may be called from any goroutine.
//
// Ownership: the tracker keeps no frame, Mat or slice of a frame; it writes
// Frame.Objects[i].TrackID in place and appends to Frame.Events. Memory stays
// flat: track slots and matching buffers are reused, dropped tracks are
// freed, and a source's state is freed when the line says the source ended
// (EndSource, pipeline.SourceEnder), by Forget, or, when it is set, after
// Options.SourceTimeout without frames.
package track
