// Package infer holds the detection stages of a line and the engines they
// run: the Engine interface (engine.go), OpenCV's DNN engine on the CPU
// (opencv.go), and the three stages a detection line needs, one file each:
// Preprocess (preprocess.go), Infer (infer.go; BatchInfer in batch.go for
// batches across sources; GPUInfer in gpu.go, which preprocesses on the GPU
// through TensorRT) and Decode (decode.go). Detector (detector.go) does all
// three in one call for the sequential mode, tools and tests. Options
// (options.go) choose the model and how it runs; Model (model.go) is a
// checked model file, the factory for the workers.
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
