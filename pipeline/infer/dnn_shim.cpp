#include "dnn_shim.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/objdetect.hpp>

// message copies s into malloc'd memory for the Go side to free().
static char* message(const std::string& s) {
    char* m = static_cast<char*>(std::malloc(s.size() + 1));
    if (m == nullptr) {
        return nullptr;
    }
    std::memcpy(m, s.c_str(), s.size() + 1);
    return m;
}

extern "C" char* conveyor_dnn_probe(const char* path, const int* dims, int ndims, const char** outs, int n_out) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) {
            return message("opencv loaded an empty network");
        }
        if (ndims > 0) {
            net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            cv::Mat blob(ndims, dims, CV_32F, cv::Scalar(0));
            net.setInput(blob);
            std::vector<cv::String> names;
            for (int i = 0; i < n_out; i++) {
                names.push_back(outs[i]);
            }
            std::vector<cv::Mat> results;
            net.forward(results, names);
        }
        return nullptr;
    } catch (const std::exception& e) {
        return message(std::string("opencv: ") + e.what());
    } catch (...) {
        return message("opencv: unknown c++ exception");
    }
}

extern "C" char* conveyor_set_num_threads(int n) {
    try {
        cv::setNumThreads(n);
        return nullptr;
    } catch (const std::exception& e) {
        return message(std::string("opencv: ") + e.what());
    } catch (...) {
        return message("opencv: unknown c++ exception");
    }
}

extern "C" int conveyor_get_num_threads(void) {
    try {
        return cv::getNumThreads();
    } catch (...) {
        return -1;
    }
}

extern "C" char* conveyor_face_detector_yn(const char* path, const unsigned char* bgr, int w, int h,
                                           float score, float nms, float* out, int max_faces, int* n) {
    try {
        *n = 0;
        cv::Mat img(h, w, CV_8UC3, const_cast<unsigned char*>(bgr));
        cv::Ptr<cv::FaceDetectorYN> det = cv::FaceDetectorYN::create(path, "", cv::Size(w, h), score, nms, 5000);
        cv::Mat faces;
        det->detect(img, faces);
        int rows = faces.empty() ? 0 : faces.rows;
        for (int r = 0; r < rows && r < max_faces; r++) {
            for (int c = 0; c < 15; c++) {
                out[r * 15 + c] = faces.at<float>(r, c);
            }
            *n = r + 1;
        }
        return nullptr;
    } catch (const std::exception& e) {
        return message(std::string("opencv: ") + e.what());
    } catch (...) {
        return message("opencv: unknown c++ exception");
    }
}

extern "C" char* conveyor_net_forward(void* net, const char** names, int n, void** outs) {
    try {
        cv::dnn::Net* nt = static_cast<cv::dnn::Net*>(net);
        std::vector<cv::String> nm;
        nm.reserve(n);
        for (int i = 0; i < n; i++) {
            nm.push_back(names[i]);
        }
        std::vector<cv::Mat> blobs;
        nt->forward(blobs, nm);
        if ((int)blobs.size() != n) {
            return message("opencv returned " + std::to_string(blobs.size()) + " outputs, want " + std::to_string(n));
        }
        for (int i = 0; i < n; i++) {
            *static_cast<cv::Mat*>(outs[i]) = blobs[i];
        }
        return nullptr;
    } catch (const std::exception& e) {
        return message(std::string("opencv: forward: ") + e.what());
    } catch (...) {
        return message("opencv: forward: unknown c++ exception");
    }
}
