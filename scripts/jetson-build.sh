#!/usr/bin/env bash
# `make jetson`: on a Jetson (JetPack 5.1 or 6.x), checks the OpenCV that
# pkg-config finds against the gocv version in go.mod, builds the CUDA
# kernels for this device's GPU and builds bin/conveyor with TensorRT and
# CUDA (-tags "tensorrt cuda"). docs/JETSON.md covers installing what it needs.
#
# Env: CONVEYOR_OPENCV_ANY=1 builds with an OpenCV the check does not accept
#      (at your own risk: gocv may not compile, or may misbehave);
#      CUDA_ARCH=87 overrides the GPU architecture (72 Xavier, 87 Orin).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH=/usr/local/go/bin:/usr/local/cuda/bin:$PATH
die() { echo "make jetson: $*" >&2; exit 1; }

if [ "$(uname -m)" != aarch64 ]; then
  die "this is $(uname -m), not a Jetson: use make trt (x86 with TensorRT) or make cross-arm64 (an arm64 CPU build)"
fi
l4t=unknown
if [ -r /etc/nv_tegra_release ]; then
  # "# R35 (release), REVISION: 4.1, ..." -> 35.4.1
  l4t=$(sed -n 's/^# R\([0-9]*\) (release), REVISION: \([0-9.]*\).*/\1.\2/p' /etc/nv_tegra_release)
fi
case "$l4t" in
  35.*) jp="JetPack 5 (L4T $l4t)" ;;
  36.*) jp="JetPack 6 (L4T $l4t)" ;;
  *) jp="L4T $l4t (not JetPack 5.1 or 6.x: untested)" ;;
esac

# OpenCV against gocv. Each gocv release is built and tested by its authors
# against one OpenCV release (gocv's CHANGELOG); docs/JETSON.md has the table.
gocv=$(awk '$1 == "gocv.io/x/gocv" {print $2}' go.mod)
[ -n "$gocv" ] || die "gocv.io/x/gocv not found in go.mod"
pkg-config --exists opencv4 || die "pkg-config finds no opencv4: on JetPack install it with 'sudo apt install nvidia-opencv-dev' (JetPack's OpenCV with headers and opencv4.pc)"
cv=$(pkg-config --modversion opencv4)
cv_mm=$(echo "$cv" | cut -d. -f1,2)
case "$gocv" in
  # v0.31 targets 4.6. Against 4.5.4/4.5.5 (JetPack 5): gocv v0.29 and v0.30
  # targeted those, and the C++ that v0.31 adds over v0.29 outside contrib
  # (estimateAffine2D with parameters, findTransformECC with a filter size,
  # photo's detailEnhance, stylization, ...) uses only API older than 4.5.
  v0.31.*) ok="4.5 4.6"; need="4.5.4 to 4.6.x" ;;
  v0.32.*|v0.33.*) ok="4.7"; need="4.7.x" ;;
  v0.34.*|v0.35.*) ok="4.8"; need="4.8.x" ;;
  v0.36.*) ok="4.9"; need="4.9.x" ;;
  v0.37.*|v0.38.*|v0.39.*) ok="4.10"; need="4.10.x" ;;
  *) ok=""; need="(no table entry for gocv $gocv: add one in scripts/jetson-build.sh and docs/JETSON.md)" ;;
esac
if [ "$cv_mm" = 4.5 ] && [ "$(printf '%s\n' "$cv" 4.5.4 | sort -V | head -1)" != 4.5.4 ]; then ok=""; fi
if ! printf '%s\n' $ok | grep -qx "$cv_mm"; then
  msg="OpenCV $cv (pkg-config opencv4) does not match gocv $gocv in go.mod, which builds with OpenCV $need."
  case "$cv_mm" in
    4.7) msg="$msg For OpenCV 4.7 use gocv v0.32.1 or v0.33.0" ;;
    4.8) msg="$msg For OpenCV 4.8 (JetPack 6) use gocv v0.34.0 (4.8.0) or v0.35.0 (4.8.1)" ;;
    4.9) msg="$msg For OpenCV 4.9 use gocv v0.36.1" ;;
    4.10) msg="$msg For OpenCV 4.10 use gocv v0.37.0 or later" ;;
    *) msg="$msg" ;;
  esac
  if [ "${CONVEYOR_OPENCV_ANY:-0}" = 1 ]; then
    echo "make jetson: WARNING: $msg; building anyway (CONVEYOR_OPENCV_ANY=1)" >&2
  else
    die "$msg (go get gocv.io/x/gocv@VERSION, then fix what its API changed; docs/JETSON.md, 'OpenCV and gocv'), or build with OpenCV $need. CONVEYOR_OPENCV_ANY=1 builds anyway, untested."
  fi
fi

# TensorRT and CUDA, from JetPack.
ls /usr/include/aarch64-linux-gnu/NvInfer.h >/dev/null 2>&1 || die "NvInfer.h not found: install TensorRT from JetPack (sudo apt install nvidia-tensorrt-dev, or the nvidia-jetpack meta-package)"
command -v nvcc >/dev/null || die "nvcc not found in /usr/local/cuda/bin: install CUDA from JetPack (sudo apt install nvidia-cuda-dev, or nvidia-jetpack)"
cuda=$(nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')

# The GPU's architecture: Xavier (tegra194) sm_72, Orin (tegra234) sm_87.
arch=${CUDA_ARCH:-}
if [ -z "$arch" ] && [ -r /proc/device-tree/compatible ]; then
  compat=$(tr '\0' ' ' </proc/device-tree/compatible)
  case "$compat" in *tegra234*) arch=87 ;; *tegra194*) arch=72 ;; esac
fi
[ -n "$arch" ] || die "cannot tell the GPU (not Xavier or Orin?): set CUDA_ARCH, e.g. CUDA_ARCH=87"
echo "make jetson: $jp, OpenCV $cv, gocv $gocv, CUDA $cuda, sm_$arch" >&2

# The kernels for this GPU only: trt/cuda/build.sh also targets sm_89 and
# sm_90, which JetPack 5's CUDA 11.4 nvcc does not know. Same flags as
# build.sh otherwise (change here, change there); the output goes where
# trt/cuda/cuda.go's cgo LDFLAGS look (out/cuda).
mkdir -p out/cuda
nvcc -O3 -std=c++14 -Xcompiler -fPIC -gencode "arch=compute_$arch,code=[sm_$arch,compute_$arch]" \
  -c trt/cuda/kernels.cu -o out/cuda/kernels.o
ar rcs out/cuda/libconveyorcuda.a out/cuda/kernels.o
rm -f out/cuda/kernels.o

version=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -tags "tensorrt cuda" -ldflags "-X main.version=$version" -o bin/conveyor ./cmd/conveyor
echo "make jetson: bin/conveyor built with TensorRT and CUDA; try: bin/conveyor run --backend tensorrt --source ..." >&2
