package trt

import "errors"

// ErrNotBuilt is returned by every entry point of a binary built without
// TensorRT support.
var ErrNotBuilt = errors.New("trt: conveyor was built without TensorRT: rebuild with `make trt` (go build -tags tensorrt) on a machine with TensorRT (8.5/8.6, 10.x or 11.x) and CUDA: docs/TENSORRT.md")

// ErrNoLibrary is returned when the TensorRT libraries (libnvinfer.so.N,
// libnvonnxparser.so.N for the major version N conveyor was built with)
// cannot be loaded; the message says which and what to install.
var ErrNoLibrary = errors.New("trt: TensorRT libraries not found")

// ErrBroken is returned after a sticky CUDA error (an illegal address, a
// kernel fault): this process cannot use the GPU any more, every later call
// fails, and the only cure is to restart it. conveyor ends the run.
var ErrBroken = errors.New("trt: the GPU failed and cannot be used by this process any more")

// ErrNoGPU is returned when the CUDA runtime finds no usable GPU.
var ErrNoGPU = errors.New("trt: no CUDA GPU found")

// ErrBatchTooLarge is returned by Infer when the input's batch (or another
// dimension) lies outside the engine's optimization profile.
var ErrBatchTooLarge = errors.New("trt: input shape outside the engine's optimization profile")

// ErrStalePlan is returned when a serialised engine cannot be used with the
// TensorRT library or GPU at hand and rebuilding is not allowed (NoRebuild).
var ErrStalePlan = errors.New("trt: engine plan was built by another TensorRT version or GPU")

// ErrOutOfMemory is returned when host or GPU memory runs out.
var ErrOutOfMemory = errors.New("trt: out of memory")

// ErrParse is returned when TensorRT's ONNX parser rejects a model; the
// error's message carries the parser's own messages.
var ErrParse = errors.New("trt: onnx model rejected")

// Status codes of the C shim (shim.h TRT_*: change here, change there).
const (
	statusOK     = 0
	statusErr    = 1
	statusNoGPU  = 2
	statusOOM    = 3
	statusPlan   = 4
	statusParse  = 5
	statusShape  = 6
	statusBroken = 7
	statusNoLib  = 8
)

// Error is a failure reported by the C shim: the operation, the shim's
// status and its message (TensorRT's and the parser's messages included).
// errors.Is matches it against the sentinel for its status.
type Error struct {
	Op     string
	Status int
	Msg    string
}

func (e *Error) Error() string { return "trt: " + e.Op + ": " + e.Msg }

// Unwrap returns the sentinel for the status, or nil.
func (e *Error) Unwrap() error {
	switch e.Status {
	case statusNoGPU:
		return ErrNoGPU
	case statusOOM:
		return ErrOutOfMemory
	case statusPlan:
		return ErrStalePlan
	case statusParse:
		return ErrParse
	case statusShape:
		return ErrBatchTooLarge
	case statusBroken:
		return ErrBroken
	case statusNoLib:
		return ErrNoLibrary
	}
	return nil
}

// shimError turns a shim status and message into an error (nil for OK).
func shimError(op string, status int, msg string) error {
	if status == statusOK {
		return nil
	}
	if msg == "" {
		msg = "unknown error"
	}
	return &Error{Op: op, Status: status, Msg: msg}
}
