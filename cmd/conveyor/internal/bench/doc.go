// Package bench measures a detection-and-blur line in several modes over
// the same frames, side by side, and writes the report `conveyor bench`
// prints: a terminal table, report.json and a self-contained report.html
// (inline SVG, no network).
//
// Modes: "sequential" is the seeds' loop in the same binary (one goroutine:
// read → preprocess → infer → decode → blur → encode, frame after frame,
// OpenCV on every core); "pipelined" is the real pipeline.Line laid out as
// `conveyor run` lays it out on this machine (Options.Tune: workers and
// threads from the cores and the measured stage costs); "pipelined-N" is
// the line with N inference workers; "python" runs baseline.py (embedded
// in the binary; scripts/baseline.py links to it), a seed-style Python +
// OpenCV loop doing the same work, and reads its JSON figures.
// Every Go mode uses the same stage types (infer.Preprocess, infer.Infer,
// infer.Decode, post.Blur, sink.Video), so only the scheduling differs.
//
// Measurements: the first Warmup frames of each mode are not measured. The
// line is timed from outside, without changing the pipeline package: a
// wrapper around the source and probes on the In and Out pads of every
// stage record each frame's start and end in each stage; the sink's Out
// probe records the output time and copies the detections. From these come
// FPS over the measured window, capture-to-output latency percentiles,
// per-stage busy time and utilization, the Gantt-like timeline, and the
// detection agreement with the reference mode. CPU time is the whole
// process tree's over the same window (cpu.go): every thread of this
// process (getrusage), and its child processes, the video encoder (ffmpeg
// and x264's threads) above all, read from /proc while they run and from
// RUSAGE_CHILDREN once they have exited. The sequential mode also gives
// each stage's CPU time, the library threads it hands work to included
// (one stage runs at a time there). Peak RSS comes from /proc/self/status
// VmHWM, reset per mode through /proc/self/clear_refs.
//
// Load: on a machine others are using, the load changes while a bench
// runs. Each mode measures what other processes used of the machine while
// it ran (/proc/stat's busy time less this process tree's), and the report
// ends with a verdict: the FPS and the ratios mean something only when
// others used less than BusyShare of the cores; CPU per frame holds either
// way. Options.Rounds runs the modes round-robin that many times, so that
// a busy spell falls on every mode alike, and keeps each mode's median
// round; the report lists every round's FPS and the load average.
//
// Threading: Run is called from one goroutine; it runs the modes one after
// the other, never two at once, so that they do not compete for the CPU.
// The recorder's slots are indexed by frame number and stage, so the
// probes of different stages and workers never write the same slot; they
// are read only after the line's Run has returned.
//
// Ownership: in memory replay the decoded clip belongs to Run, which closes
// its Mats when every mode is done; each frame handed to a mode is a Clone
// that the mode's line (or the sequential loop) releases.
package bench
