#include "dnn_shim.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

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
