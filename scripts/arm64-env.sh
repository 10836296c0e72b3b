# Sourced by scripts/cross-arm64.sh and scripts/test-arm64.sh: the environment
# of a cgo cross build for linux/arm64 against the arm64 root that
# scripts/arm64-root.sh makes (ARM64_ROOT, default .cache/arm64-root), and the
# environment qemu-aarch64 needs to run what it builds.
#
# The root is the compiler's --sysroot (C library, C++ headers, crt files)
# and pkg-config's sysroot (opencv4.pc's -I and -L get the root prefixed);
# -rpath-link lets ld resolve the DT_NEEDED closure of OpenCV's libraries
# (Qt, GL, FFmpeg, ...) inside the root instead of on the host.
: "${ARM64_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/arm64-root}"
export ARM64_ROOT
arm64_lib=$ARM64_ROOT/usr/lib/aarch64-linux-gnu
export CGO_ENABLED=1 GOOS=linux GOARCH=arm64
export CC="aarch64-linux-gnu-gcc --sysroot=$ARM64_ROOT"
export CXX="aarch64-linux-gnu-g++ --sysroot=$ARM64_ROOT"
export PKG_CONFIG_SYSROOT_DIR=$ARM64_ROOT
export PKG_CONFIG_LIBDIR=$arm64_lib/pkgconfig:$ARM64_ROOT/usr/share/pkgconfig
export CGO_LDFLAGS="-Wl,-rpath-link,$arm64_lib -Wl,-rpath-link,$ARM64_ROOT/lib/aarch64-linux-gnu"

# qemu-aarch64 -L "$ARM64_ROOT" (QEMU_LD_PREFIX) makes the guest's file
# lookups try the root first, but qemu 7.2 does not apply the prefix to
# faccessat(), which Qt uses to test its plugin folder: QT_PLUGIN_PATH names
# the root's folder by its host path, which works for both. (GStreamer finds
# its plugins through the prefix; its arm64 plugin scanner cannot be exec'd
# without binfmt_misc, so it loads them in-process with one warning.) Host
# programs the tests start (python3's RTSP server, Xvfb, ffprobe) inherit
# this environment: set nothing here that a host x86-64 program would obey
# wrongly (GST_PLUGIN_SYSTEM_PATH did: the RTSP server lost its plugins).
export QEMU_LD_PREFIX=$ARM64_ROOT
export QT_PLUGIN_PATH=$arm64_lib/qt5/plugins
unset arm64_lib

# arm64_host_tools installs what the host needs: the cross compiler and
# qemu-user (statically linked, so LD_* variables meant for the guest never
# reach it), and the Debian keyring that arm64-root.sh verifies against.
arm64_host_tools() {
  local need=() p sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  for p in crossbuild-essential-arm64 qemu-user-static debian-archive-keyring pkg-config file; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "arm64: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
