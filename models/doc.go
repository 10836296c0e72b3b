// Package models describes the detectors conveyor can run: for each model,
// its input (size, layout, colour order, normalization) and a pure-Go decoder
// that turns the raw output tensors into objects in frame coordinates, with
// NMS. Nothing here runs a network: pipeline/infer does, with OpenCV DNN on
// the CPU or trt on an NVIDIA GPU.
package models
