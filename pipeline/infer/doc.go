// Package infer runs detectors on the CPU with OpenCV's DNN module (gocv):
// the OpenCV engine (a Engine) and the three stages a detection
// line needs, Preprocess, Infer and Decode, plus Detector, which does all
// three in one call for the sequential mode, tools and tests.
//
// Open validates a model file with models.ReadONNX before OpenCV sees it
// (gocv aborts the process on a bad file), picks or checks its models.Spec,
// and makes the workers: NewPreprocess, NewInfer (one OpenCV network each),
// NewDecode, NewDetector. A probe in dnn_shim.cpp loads the model once more
// inside a C++ try/catch (and runs one forward pass at the planned input
// size), so that a file OpenCV cannot load or run is an error naming it,
// not an abort.
//
// Threading: every Processor and Engine here is used by one goroutine at a
// time (a stage with N workers gets N of them). SetNumThreads sets OpenCV's
// own thread pool, which is process-wide.
//
// Ownership: Preprocess makes the input blob Mat per frame and hands it to
// the frame (released with it); Frame.Input.Data is a view of it. The
// engine copies outputs into buffers it owns and reuses, closing every Mat
// gocv returns; Infer copies them again into a pooled per-frame buffer that
// goes back to the pool when the frame is released, because Decode runs
// later while the engine is busy with the next frame. Infer owns its
// engine and closes it; Close is idempotent everywhere.
package infer
