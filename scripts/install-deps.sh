#!/usr/bin/env bash
# Installs what conveyor needs to build, run and test on Debian 12, Ubuntu
# 22.04/24.04 or JetPack (Ubuntu 20.04/22.04 on arm64): a C++ toolchain,
# OpenCV with its headers, FFmpeg, Xvfb (window tests), RabbitMQ (mq tests),
# Chromium (the web page test), GStreamer's RTSP server (RTSP tests) and its
# tools and x264enc/openh264dec (the Jetson encode and decode pipelines,
# tested with software elements), Python's
# OpenCV (the Python baseline of `conveyor bench`), the pyrealsense2 wheel
# that carries librealsense2.so (realsense tests), and Go when it is missing
# or older than go.mod asks.
#
# `install-deps.sh` installs what building and running need; `install-deps.sh
# --test` adds what the tests need (RabbitMQ, Xvfb, Chromium, the RTSP
# server, pyrealsense2, Python's OpenCV).
#
# Idempotent: a second run only checks. Run as root or with sudo available.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

apt_pkgs=(build-essential pkg-config curl ca-certificates unzip git libopencv-dev ffmpeg)
test_pkgs=(xvfb rabbitmq-server python3-opencv python3-pip chromium libpython3.11 systemd
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-rtsp
  gstreamer1.0-plugins-bad gstreamer1.0-tools)
tests=0
[ "${1:-}" = "--test" ] && tests=1
[ $tests = 1 ] && apt_pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # rabbitmq-server's package starts a system broker; the tests start their
  # own on free ports, so the system one is not needed.
  if command -v systemctl >/dev/null && systemctl is-active -q rabbitmq-server 2>/dev/null; then
    $sudo systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
  fi
fi

# Go: the version go.mod names, from the Go module proxy's toolchain module
# when the machine has none or an older one.
want=$(awk '/^go /{print $2; exit}' "$root/go.mod")
have=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
newer() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$2" ]; } # $1 >= $2
if [ -z "$have" ] || ! newer "$have" "$want"; then
  arch=$(dpkg --print-architecture)
  case "$arch" in amd64|arm64) ;; *) echo "install-deps: no Go toolchain for $arch" >&2; exit 1;; esac
  ver=$want
  [ "$(echo "$ver" | tr -cd . | wc -c)" -ge 2 ] || ver="$ver.0"
  echo "install-deps: installing Go $ver into /usr/local/go" >&2
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$ver.linux-$arch.zip"
  (cd "$tmp" && unzip -q go.zip)
  $sudo rm -rf /usr/local/go
  $sudo mv "$tmp/golang.org/toolchain@v0.0.1-go$ver.linux-$arch" /usr/local/go
  $sudo chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*
  rm -rf "$tmp"
  echo "install-deps: add /usr/local/go/bin to PATH" >&2
fi
echo "install-deps: ok" >&2
