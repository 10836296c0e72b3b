// Package models describes the detectors conveyor can run: for each model,
// its input (size, layout, colour order, normalization) and a pure-Go decoder
// that turns the raw output tensors into objects in frame coordinates, with
// NMS. Nothing here runs a network: pipeline/infer does, with OpenCV DNN on
// the CPU or trt on an NVIDIA GPU.
//
// Specs: "yunet-2022mar" (DefaultModel, OpenCV 4.6 FaceDetectorYN's model),
// "yunet-2023mar" (also yunet_s_320_320), "ultraface" (RFB-320/640, boxes
// decoded in the graph) and "ultraface-raw" (the _simplified export, told
// apart by its graph: it has no Exp node). The
// decoding follows ../shared/DATA.md section 1c exactly; the YuNet 2022mar
// path is checked against OpenCV's own FaceDetectorYN in pipeline/infer.
//
// ReadONNX is a small protobuf reader (protowire, no generated code) that
// lists a model's graph inputs, outputs and op types. Run it before giving a file to
// OpenCV, which aborts the process on bad files; Identify uses it to pick
// the spec, and Spec.Check to say by name why a file does not fit a decoder.
// DynamicInput edits a model's input to a dynamic height and width, for
// TensorRT engines that run a fixed-size export at any size.
//
// Threading: Specs are values and safe to share. A Decoder keeps scratch
// buffers between calls: one per goroutine (per decode worker). The objects
// a Decoder returns are freshly allocated and belong to the caller (they go
// into a Frame); the tensors it reads are only read, never kept.
//
// ReadImglab and Match measure precision and recall on a dlib imglab set.
package models
