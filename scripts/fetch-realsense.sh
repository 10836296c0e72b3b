#!/usr/bin/env bash
# Gets a real librealsense2 for the tests without a RealSense apt repository:
# the pyrealsense2 wheel from PyPI, whose Python module links the whole
# librealsense2 C API (the wheel ships no separate librealsense2.so). The
# realsense package loads that module with dlopen, after libpython (Debian's
# libpython3.11), and never starts Python. Prints the REALSENSE_LIB to use.
#
# On a machine with librealsense2 installed (JetPack with the RealSense apt
# repository, or built from source) none of this is needed: conveyor finds
# librealsense2.so.2.5x itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/realsense
version=2.59.1.11053
if [ "$(uname -m)" != x86_64 ]; then
  echo "fetch-realsense: the test wheel is x86_64 only; install librealsense2 from the RealSense apt repository" >&2
  exit 1
fi
if [ ! -d "$dest/whl/pyrealsense2" ]; then
  mkdir -p "$dest"
  python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
    --python-version 3.11 --implementation cp --abi cp311 "pyrealsense2==$version" -d "$dest" >&2
  python3 -m zipfile -e "$dest"/pyrealsense2-"$version"-*.whl "$dest/whl"
fi
echo "$dest/whl/pyrealsense2"
