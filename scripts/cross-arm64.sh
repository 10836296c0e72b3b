#!/usr/bin/env bash
# `make cross-arm64`: on an x86-64 Debian 12 machine, builds bin/conveyor-linux-arm64,
# a linux/arm64 conveyor with the CPU (OpenCV DNN) backend, linked against
# Debian 12's arm64 OpenCV 4.6 (scripts/arm64-root.sh makes that root).
#
# The binary needs Debian 12's arm64 OpenCV (libopencv-dev's run-time
# packages, e.g. libopencv-dnn406 libopencv-videoio406 libopencv-highgui406)
# and glibc >= 2.34 on the device: Debian 12 arm64, or a debian:bookworm
# container on a Jetson. On JetPack itself build on the device with
# `make jetson` (its OpenCV is NVIDIA's 4.5.4 or 4.8, other sonames); see
# docs/JETSON.md. After building, the binary is started once under
# qemu-aarch64 (`conveyor --version`) to prove its library closure resolves.
#
# Usage: scripts/cross-arm64.sh [OUT]   (OUT defaults to bin/conveyor-linux-arm64)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH=/usr/local/go/bin:$PATH
out=${1:-bin/conveyor-linux-arm64}
# shellcheck source=scripts/arm64-env.sh
source scripts/arm64-env.sh
t0=$(date +%s)
arm64_host_tools
command -v go >/dev/null || scripts/install-deps.sh
scripts/arm64-root.sh "$ARM64_ROOT"
t1=$(date +%s)
version=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -ldflags "-X main.version=$version" -o "$out" ./cmd/conveyor
t2=$(date +%s)
file "$out" | grep -q 'ARM aarch64' || { echo "cross-arm64: $out is not an arm64 binary: $(file "$out")" >&2; exit 1; }
qemu-aarch64-static "$out" --version >/dev/null
echo "cross-arm64: $out ($(du -h "$out" | cut -f1), $(file -b "$out" | cut -d, -f1-2)); root $((t1 - t0))s, go build $((t2 - t1))s" >&2
