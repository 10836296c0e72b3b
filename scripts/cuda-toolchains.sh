#!/usr/bin/env bash
# CI (and anyone): trt/cuda/kernels.cu through trt/cuda/build.sh with the two
# newest CUDA toolchains a Debian 12 machine can install from package
# registries, which pick different GPU architectures (docs/TENSORRT.md,
# "Toolchains"):
#   CUDA 13.x  NVIDIA's nvcc wheels on PyPI (nvidia-cuda-nvcc, -runtime, -crt);
#              the kernels are also linked into the trt/cuda test binary with
#              13.x's static CUDA runtime, which runs its CPU tests here
#   CUDA 12.x  Debian 13's nvidia-cuda-toolkit (non-free), in a Debian 13
#              chroot under .cache/ (NVIDIA's cu12 nvcc wheels hold only
#              ptxas, Debian 12 has 11.8): compiled, not linked
# About 4 minutes on 2 cores, most of it the chroot (kept in .cache/ for the
# next run; 7 GB of disk, the 13.x wheels 0.3 GB). Needs root for the
# chroot. Outputs in .cache/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
root=$PWD
cache=$root/.cache/cuda-toolchains
mkdir -p "$cache"
pass=0
fail=0
step() { echo "cuda-toolchains: $*" >&2; }

# CUDA 13.x from PyPI.
cu13=$cache/cu13
nvcc13=$cu13/nvidia/cu13/bin/nvcc
if [ ! -x "$nvcc13" ]; then
  step "installing nvcc 13.5 from PyPI"
  python3 -m pip install -q --disable-pip-version-check --target "$cu13" \
    nvidia-cuda-nvcc==13.5.37 nvidia-cuda-runtime==13.5.37 nvidia-cuda-crt==13.5.37
fi
if NVCC=$nvcc13 trt/cuda/build.sh "$cache/out13" &&
  CGO_LDFLAGS="-L$cache/out13 -L$cu13/nvidia/cu13/lib" go test -c -tags cuda -o "$cache/cuda13.test" ./trt/cuda &&
  (cd trt/cuda && "$cache/cuda13.test" -test.count=1 >"$cache/cuda13.log" 2>&1); then
  step "CUDA 13: built, linked and ran the trt/cuda tests (GPU tests skip without a GPU)"
  pass=$((pass + 1))
else
  step "CUDA 13: FAILED (see above, $cache/cuda13.log)"
  fail=$((fail + 1))
fi

# CUDA 12.x from Debian 13, in a chroot.
chroot_dir=$cache/trixie
if [ ! -x "$chroot_dir/usr/bin/nvcc" ]; then
  step "making a Debian 13 chroot with nvidia-cuda-toolkit (12.x)"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  rm -rf "$chroot_dir"
  debootstrap --variant=minbase --components=main,contrib,non-free trixie "$chroot_dir" http://deb.debian.org/debian >/dev/null
  cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
  echo "deb http://deb.debian.org/debian trixie main contrib non-free" >"$chroot_dir/etc/apt/sources.list"
  chroot "$chroot_dir" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit' >/dev/null
fi
rm -rf "$chroot_dir/root/kernels"
mkdir -p "$chroot_dir/root/kernels"
cp trt/cuda/build.sh trt/cuda/kernels.cu trt/cuda/kernels.h "$chroot_dir/root/kernels/"
if chroot "$chroot_dir" sh /root/kernels/build.sh /root/kernels/out; then
  step "CUDA 12 ($(chroot "$chroot_dir" nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')): built"
  pass=$((pass + 1))
else
  step "CUDA 12: FAILED"
  fail=$((fail + 1))
fi

echo "cuda-toolchains: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
