#!/usr/bin/env bash
# `make test-arm64`, and what CI runs after `make test`: cross-compiles the
# test binaries of the packages below for linux/arm64 (with -tags matprofile,
# so every package still checks that each gocv Mat was closed) and runs them
# under qemu-aarch64 user-mode emulation against Debian 12's arm64 OpenCV in
# .cache/arm64-root. From a fresh Debian 12 x86-64 machine it installs what it
# needs (scripts/install-deps.sh --test, crossbuild-essential-arm64,
# qemu-user-static), fetches the assets and builds the root; nothing is cached
# across runs. About 10-12 minutes on 2 cores (docs/JETSON.md has timings).
#
# Not run under emulation, and why:
#   -race: Go's arm64 race detector needs a 48-bit address space; qemu-user on
#          an x86-64 host gives the guest 39 bits ("ThreadSanitizer:
#          unsupported VMA range"). The native `make test` runs -race.
#   pipeline/infer TestNoFaceClip: 160 s of emulated DNN for a property
#          (no detections on a face-free clip) that TestDetectImages and
#          TestMatchesOpenCV already cover on arm64; ARM64_FULL=1 runs it.
#   mq: pure Go talking to a native broker; nothing in it is arm64-specific,
#          and its fault tests (broker stopped and restarted) time out under
#          emulation's slowness. The native `make test` runs it.
#   realsense: needs librealsense2 for arm64 (the tests load the pyrealsense2
#          wheel's copy, which is x86-64 here); cmd/conveyor: its tests run
#          `go build` and re-exec arm64 binaries, which need binfmt_misc.
#
# Usage: scripts/test-arm64.sh [PKG...]   (default: the list below)
# Env:   ARM64_ROOT, ARM64_FULL=1, ARM64_TIMEOUT (per package, default 15m)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH=/usr/local/go/bin:$PATH
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./pipeline ./models ./camera ./pipeline/post ./pipeline/sink
  ./pipeline/depth ./pipeline/track ./pipeline/infer ./trt ./trt/cuda)
# TestWindowUnderXvfb runs each window case in a child process of the test
# binary (so do the lock and kill tests of the video sink): an arm64 binary
# that the kernel can only start through binfmt_misc, which these machines
# lack (qemu runs the parent only). The GStreamer decode tests need
# openh264dec (gstreamer1.0-plugins-bad), which the arm64 root leaves out.
declare -A args=(
  [./pipeline/infer]="-test.skip ^TestNoFaceClip$"
  [./pipeline/sink]="-test.skip ^(TestWindowUnderXvfb|TestOutputLockedByAnotherProcess|TestVideoSurvivesKill)$"
  [./camera]="-test.skip ^(TestJetsonDecodePipeline|TestGStreamerPathIsQuoted)$"
)
[ "${ARM64_FULL:-0}" = 1 ] && args=()

t0=$(date +%s)
scripts/install-deps.sh --test
# shellcheck source=scripts/arm64-env.sh
source scripts/arm64-env.sh
arm64_host_tools
scripts/fetch-assets.sh >/dev/null
t1=$(date +%s)
scripts/arm64-root.sh "$ARM64_ROOT"
t2=$(date +%s)

bins=$(mktemp -d "${TMPDIR:-/tmp}/conveyor-arm64.XXXXXX")
trap 'rm -rf "$bins"' EXIT
for p in "${pkgs[@]}"; do
  compgen -G "$p/*_test.go" >/dev/null || continue
  go test -c -tags matprofile -o "$bins/$(echo "${p#./}" | tr / _).test" "$p"
done
t3=$(date +%s)

export CONVEYOR_ASSETS=$here/assets
fail=()
summary=()
for p in "${pkgs[@]}"; do
  bin=$bins/$(echo "${p#./}" | tr / _).test
  [ -e "$bin" ] || { summary+=("$p: no test files"); continue; }
  s=$(date +%s)
  # shellcheck disable=SC2086 # args holds separate words on purpose
  if (cd "$p" && qemu-aarch64-static "$bin" -test.count=1 -test.timeout "${ARM64_TIMEOUT:-15m}" -test.v ${args[$p]:-} >"$bins/log" 2>&1); then
    st=ok
  else
    st=FAIL; fail+=("$p")
    grep -a -E -B30 -A5 -- '^(--- FAIL|panic:|SIGABRT|fatal error:)' "$bins/log" | head -120 >&2 || tail -40 "$bins/log" >&2
  fi
  n_pass=$(grep -a -c -E -- '^--- PASS' "$bins/log" || true)
  n_skip=$(grep -a -c -E -- '^--- SKIP' "$bins/log" || true)
  summary+=("$(printf '%-18s %-4s %4ss  %3d tests passed  %2d skipped %s' "$p" "$st" $(($(date +%s) - s)) "$n_pass" "$n_skip" "${args[$p]:-}")")
done
t4=$(date +%s)
printf '%s\n' "${summary[@]}" >&2
echo "test-arm64: deps+assets $((t1 - t0))s, arm64 root $((t2 - t1))s ($(du -sh "$ARM64_ROOT" | cut -f1)), build $((t3 - t2))s, run $((t4 - t3))s, total $((t4 - t0))s" >&2
if [ ${#fail[@]} -gt 0 ]; then
  echo "test-arm64: FAILED: ${fail[*]}" >&2
  exit 1
fi
echo "test-arm64: ok" >&2
