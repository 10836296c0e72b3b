#!/bin/sh
# Builds libconveyorcuda.a (kernels.cu) for `go build -tags cuda`:
# sm_72 (Xavier), sm_87 (Orin), sm_75/86/89 (x86 cards), sm_90 (H100/H200) + PTX.
# Usage: trt/cuda/build.sh [outdir]   (default: <repo>/out/cuda, git-ignored)
# NVCC and NVCC_CCBIN override the compiler (Debian's nvcc 11.8 needs g++-11).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../out/cuda}
mkdir -p "$out"
nvcc=${NVCC:-nvcc}
ccbin=${NVCC_CCBIN:-}
if [ -z "$ccbin" ] && command -v g++-11 >/dev/null 2>&1; then ccbin=g++-11; fi
"$nvcc" ${ccbin:+-ccbin "$ccbin"} -O3 -std=c++14 -Xcompiler -fPIC \
  -gencode arch=compute_72,code=sm_72 -gencode arch=compute_75,code=sm_75 \
  -gencode arch=compute_86,code=sm_86 -gencode arch=compute_87,code=sm_87 \
  -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code='[sm_90,compute_90]' \
  -c "$here/kernels.cu" -o "$out/kernels.o"
ar rcs "$out/libconveyorcuda.a" "$out/kernels.o"
rm -f "$out/kernels.o"
echo "$out/libconveyorcuda.a"
