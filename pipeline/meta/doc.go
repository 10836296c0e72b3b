// Package meta holds the metadata that travels with a frame and leaves the
// line as a message: detected objects and their boxes, tracker events,
// tensors and the geometry that maps a network's input back to the frame,
// and the JSON message that --events and RabbitMQ carry. It is DeepStream's
// NvDsObjectMeta, NvDsInferTensorMeta and message payload as plain Go values.
//
// meta imports nothing but the standard library and uses no cgo: the model
// decoders (models), the tracker (pipeline/track), the RabbitMQ client (mq)
// and the TensorRT shapes (trt) build, test and fuzz with CGO_ENABLED=0.
//
// Threading: these are values; a slice or map inside one is shared by
// copies and must not be written by two goroutines at once.
//
// Ownership: a Tensor's Data may point into memory owned by a Mat or an
// inference engine (see Tensor); everything else is ordinary Go memory.
package meta
