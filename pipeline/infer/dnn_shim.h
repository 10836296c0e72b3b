// dnn_shim exposes the few OpenCV calls gocv 0.31 does not bind, or binds
// without catching C++ exceptions. Every function catches all exceptions.
// Plain C types only; the C++ stays in dnn_shim.cpp.
#ifndef CONVEYOR_DNN_SHIM_H
#define CONVEYOR_DNN_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

// conveyor_dnn_probe loads the ONNX model at path with cv::dnn and, when
// ndims > 0, runs one forward pass on a zero input of shape dims, asking for
// the n_out outputs named in outs. It returns NULL on success, else an error
// message the caller releases with free().
char* conveyor_dnn_probe(const char* path, const int* dims, int ndims, const char** outs, int n_out);

// conveyor_set_num_threads calls cv::setNumThreads (process-wide). It
// returns NULL or a message to free().
char* conveyor_set_num_threads(int n);

// conveyor_get_num_threads returns cv::getNumThreads(), or -1 on error.
int conveyor_get_num_threads(void);

// conveyor_face_detector_yn runs OpenCV's own cv::FaceDetectorYN (the
// reference our YuNet 2022mar decoder is checked against) on a BGR8 image
// of w x h pixels at bgr (C keeps no pointer after the call), with input
// size w x h. It writes up to max_faces rows of 15 floats (x, y, w, h, 10
// landmark coordinates, score) to out and their count to n. It returns NULL
// or a message to free().
char* conveyor_face_detector_yn(const char* path, const unsigned char* bgr, int w, int h,
                                float score, float nms, float* out, int max_faces, int* n);

// conveyor_net_forward runs net (a cv::dnn::Net*, from gocv's Net) on the
// input already set and writes the n outputs named by names into the
// cv::Mat*s in outs, which the caller owns and reuses. Unlike gocv 0.31's
// Net.ForwardLayers it allocates nothing that outlives the call (that one
// leaks its name strings and its Mat array on every call) and it catches
// C++ exceptions. Returns NULL or a message to free().
char* conveyor_net_forward(void* net, const char** names, int n, void** outs);

#ifdef __cplusplus
}
#endif

#endif
