#!/usr/bin/env bash
# Builds the OpenCV that go.mod's gocv was made for (gocv v0.31: OpenCV
# 4.6.0) from source into its own prefix, for machines whose OpenCV gocv
# cannot use: JetPack 6 ships OpenCV 4.8 (gocv v0.34/v0.35's), which gocv
# v0.31 does not build against. The system's OpenCV stays as it is (other
# NVIDIA software links it); scripts/jetson-build.sh (make jetson) finds this
# one by its prefix and puts it in the binary's run path. This is what gocv's
# own `make install` does (download, cmake, build), minus the contrib modules
# and the system-wide install.
#
# Usage: scripts/jetson-opencv.sh        (on the Jetson; 30-90 minutes, 2-3 GB of disk)
# Env:   CONVEYOR_OPENCV_PREFIX  where to install (default /opt/conveyor/opencv-VERSION;
#                                make jetson looks there)
#        OPENCV_VERSION          default: the OpenCV go.mod's gocv targets
#        OPENCV_SRC              an unpacked OpenCV source tree to use instead of downloading
#        OPENCV_CMAKE_ARGS       more cmake arguments
#        JOBS                    parallel compile jobs (default: nproc)
# Needs: build tools, cmake, and the -dev packages of what videoio and
# highgui use (the script prints the apt line when cmake is missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "jetson-opencv: $*" >&2; exit 1; }

gocv=$(awk '$1 == "gocv.io/x/gocv" {print $2}' "$here/go.mod")
case "$gocv" in
  v0.29.*) want=4.5.4 ;;
  v0.30.*) want=4.5.5 ;;
  v0.31.*) want=4.6.0 ;;
  v0.32.*|v0.33.*) want=4.7.0 ;;
  v0.34.*) want=4.8.0 ;;
  v0.35.*) want=4.8.1 ;;
  v0.36.*) want=4.9.0 ;;
  *) want=4.10.0 ;;
esac
ver=${OPENCV_VERSION:-$want}
prefix=${CONVEYOR_OPENCV_PREFIX:-/opt/conveyor/opencv-$ver}
jobs=${JOBS:-$(nproc)}

apt_line="sudo apt install build-essential cmake pkg-config curl libgtk-3-dev libavcodec-dev libavformat-dev libswscale-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libjpeg-dev libpng-dev libtiff-dev libv4l-dev"
command -v cmake >/dev/null || die "cmake not found: $apt_line"
command -v c++ >/dev/null || die "no C++ compiler: $apt_line"
if [ -e "$prefix/lib/pkgconfig/opencv4.pc" ]; then
  echo "jetson-opencv: OpenCV $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion opencv4) is already in $prefix: remove it to build again" >&2
  exit 0
fi
mkdir -p "$prefix" 2>/dev/null || die "cannot create $prefix: run as root (sudo -E), or set CONVEYOR_OPENCV_PREFIX to a folder you own"
[ -w "$prefix" ] || die "$prefix is not writable: run as root (sudo -E), or set CONVEYOR_OPENCV_PREFIX"

work=$(mktemp -d "${TMPDIR:-/tmp}/conveyor-opencv.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=${OPENCV_SRC:-}
if [ -z "$src" ]; then
  command -v curl >/dev/null || die "curl not found: $apt_line"
  echo "jetson-opencv: downloading OpenCV $ver" >&2
  curl -fsSL "https://github.com/opencv/opencv/archive/refs/tags/$ver.tar.gz" -o "$work/opencv.tar.gz" ||
    die "download of OpenCV $ver failed: download opencv-$ver.tar.gz yourself, unpack it and set OPENCV_SRC"
  tar -xzf "$work/opencv.tar.gz" -C "$work"
  src=$work/opencv-$ver
fi
[ -f "$src/CMakeLists.txt" ] || die "$src is not an OpenCV source tree"

# OpenCV 4.6.0 does not compile against FFmpeg 5.1 and later (Ubuntu 24.04,
# Debian 12): libavformat stopped including libavcodec/version.h. OpenCV 4.7
# added the include; add it here (JetPack 6's FFmpeg 4.4 does not need it).
codecs=$src/modules/videoio/src/ffmpeg_codecs.hpp
if [ -f "$codecs" ] && ! grep -q 'libavcodec/version.h' "$codecs"; then
  sed -i 's|^#include <libavformat/avformat.h>|#include <libavcodec/version.h>\n#include <libavformat/avformat.h>|' "$codecs"
fi

# Only the modules gocv's main package compiles against (its .cpp files
# include opencv2/opencv.hpp and these), no contrib, no CUDA (conveyor's GPU
# work is TensorRT and its own kernels), no IPP (a download at configure
# time, x86 only). GStreamer for gst:// sources and Jetson's camera, V4L2
# and FFmpeg for the others.
# shellcheck disable=SC2086 # OPENCV_CMAKE_ARGS is a list of arguments
cmake -S "$src" -B "$work/build" \
  -D CMAKE_BUILD_TYPE=Release -D CMAKE_INSTALL_PREFIX="$prefix" \
  -D BUILD_LIST=core,imgproc,imgcodecs,videoio,highgui,dnn,objdetect,features2d,calib3d,flann,photo,video \
  -D OPENCV_GENERATE_PKGCONFIG=ON -D BUILD_SHARED_LIBS=ON \
  -D BUILD_TESTS=OFF -D BUILD_PERF_TESTS=OFF -D BUILD_EXAMPLES=OFF -D BUILD_DOCS=OFF -D BUILD_opencv_apps=OFF \
  -D BUILD_JAVA=OFF -D BUILD_opencv_python2=OFF -D BUILD_opencv_python3=OFF \
  -D WITH_CUDA=OFF -D WITH_IPP=OFF -D WITH_ITT=OFF -D WITH_OPENCL=OFF -D WITH_ADE=OFF \
  -D WITH_GSTREAMER=ON -D WITH_V4L=ON -D WITH_FFMPEG=ON -D WITH_GTK=ON \
  ${OPENCV_CMAKE_ARGS:-}
cmake --build "$work/build" -j "$jobs"
cmake --install "$work/build"
got=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion opencv4)
echo "jetson-opencv: OpenCV $got in $prefix; make jetson uses it (it looks in $prefix), or for any build:" >&2
echo "  PKG_CONFIG_PATH=$prefix/lib/pkgconfig CGO_LDFLAGS=-Wl,-rpath,$prefix/lib go build ./cmd/conveyor" >&2
