#!/usr/bin/env bash
# `make jetson`: on a Jetson (JetPack 5.1 or 6.x), checks the OpenCV that
# gocv will build against (the one scripts/jetson-opencv.sh built, when it
# is there, else the system's), finds TensorRT's headers and CUDA's nvcc,
# builds the CUDA kernels for this device's GPU and builds bin/conveyor with
# TensorRT and CUDA (-tags "tensorrt cuda"), the default model embedded.
# docs/JETSON.md covers installing what it needs.
#
# Env: CONVEYOR_OPENCV_PREFIX where scripts/jetson-opencv.sh installed OpenCV
#      (default /opt/conveyor/opencv-VERSION, VERSION being gocv's);
#      CONVEYOR_OPENCV_ANY=1 builds with an OpenCV the check does not accept
#      (at your own risk: gocv may not compile, or may misbehave);
#      CUDA_ARCH=87 overrides the GPU architecture (72 Xavier, 87 Orin,
#      110 Thor).
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
case "$gocv" in v0.31.*) cv_want=4.6.0 ;; *) cv_want=unknown ;; esac
# The OpenCV of scripts/jetson-opencv.sh, if built, comes first; the binary
# gets its folder as run path, so it needs no LD_LIBRARY_PATH.
cv_prefix=${CONVEYOR_OPENCV_PREFIX:-/opt/conveyor/opencv-$cv_want}
cv_from="the system (pkg-config)"
if [ -e "$cv_prefix/lib/pkgconfig/opencv4.pc" ]; then
  export PKG_CONFIG_PATH=$cv_prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export CGO_LDFLAGS="${CGO_LDFLAGS:-} -Wl,-rpath,$cv_prefix/lib"
  cv_from="$cv_prefix (scripts/jetson-opencv.sh)"
fi
pkg-config --exists opencv4 || die "pkg-config finds no opencv4: on JetPack 5.1 install it with 'sudo apt install nvidia-opencv-dev' (JetPack's OpenCV with headers and opencv4.pc); on JetPack 6 run scripts/jetson-opencv.sh"
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
    4.8) msg="$msg JetPack 6 ships OpenCV 4.8: run scripts/jetson-opencv.sh, which builds OpenCV $cv_want into $cv_prefix (30-90 minutes; JetPack's own OpenCV stays), then make jetson again" ;;
    4.9) msg="$msg For OpenCV 4.9 use gocv v0.36.1" ;;
    4.10) msg="$msg For OpenCV 4.10 use gocv v0.37.0 or later" ;;
    *) msg="$msg" ;;
  esac
  if [ "${CONVEYOR_OPENCV_ANY:-0}" = 1 ]; then
    echo "make jetson: WARNING: $msg; building anyway (CONVEYOR_OPENCV_ANY=1)" >&2
  else
    die "$msg. docs/JETSON.md, 'OpenCV and gocv', has the details. CONVEYOR_OPENCV_ANY=1 builds anyway, untested."
  fi
fi

# TensorRT's headers and CUDA, from JetPack. TensorRT's libraries are
# loaded at run time (dlopen), so the build needs only the headers.
trt_h=
for d in /usr/include/aarch64-linux-gnu /usr/include /usr/local/cuda/include; do
  [ -e "$d/NvInferVersion.h" ] && { trt_h=$d; break; }
done
[ -n "$trt_h" ] || die "TensorRT's headers (NvInferVersion.h) not found: install them from JetPack (sudo apt install nvidia-tensorrt-dev, or the nvidia-jetpack meta-package)"
trt_v=$(awk '/#define (NV_TENSORRT|TRT)_(MAJOR|MINOR|PATCH)(_ENTERPRISE)? [0-9]/ {printf "%s%s", sep, $3; sep="."}' "$trt_h/NvInferVersion.h")
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || die "nvcc not found on PATH or in /usr/local/cuda/bin: install CUDA from JetPack (sudo apt install nvidia-cuda-dev, or nvidia-jetpack)"
cuda=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
[ -e /usr/local/cuda/lib64/libcudart_static.a ] || die "/usr/local/cuda/lib64/libcudart_static.a not found: install CUDA's development files from JetPack (sudo apt install nvidia-cuda-dev)"

# The GPU's architecture: Xavier (tegra194) sm_72, Orin (tegra234) sm_87,
# Thor (tegra264) sm_110.
arch=${CUDA_ARCH:-}
if [ -z "$arch" ] && [ -r /proc/device-tree/compatible ]; then
  compat=$(tr '\0' ' ' </proc/device-tree/compatible)
  case "$compat" in *tegra264*) arch=110 ;; *tegra234*) arch=87 ;; *tegra194*) arch=72 ;; esac
fi
[ -n "$arch" ] || die "cannot tell the GPU (not Xavier, Orin or Thor?): set CUDA_ARCH, e.g. CUDA_ARCH=87"
echo "make jetson: $jp, OpenCV $cv from $cv_from, gocv $gocv, TensorRT $trt_v headers, CUDA $cuda, sm_$arch" >&2

# The kernels for this GPU only (trt/cuda/build.sh; the output goes where
# trt/cuda/cuda.go's cgo LDFLAGS look: out/cuda).
NVCC=$nvcc CUDA_ARCH=$arch trt/cuda/build.sh >/dev/null
kernels=$(sha256sum out/cuda/libconveyorcuda.a | cut -c1-16)

version=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -tags "tensorrt cuda" \
  -ldflags "-X main.version=$version -X github.com/conveyor-vision/conveyor/trt/cuda.KernelsID=$kernels" \
  -o bin/conveyor ./cmd/conveyor
echo "make jetson: bin/conveyor built with TensorRT and CUDA; try: bin/conveyor run --backend tensorrt --source ..." >&2
