// native.cpp: see native.h.
#include <opencv2/core/utils/logger.hpp>

#include "native.h"

extern "C" void conveyor_quiet_opencv(void) {
    try {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    } catch (...) {
        // Logging stays as it was: nothing worth failing for.
    }
}
