#!/usr/bin/env bash
# Builds an arm64 (aarch64) Debian 12 root holding libopencv-dev and its whole
# run-time closure (Qt, libGL, FFmpeg, ...), for two uses:
#   - the sysroot of the arm64 cross build (scripts/cross-arm64.sh), and
#   - the library prefix of qemu-aarch64 (-L / QEMU_LD_PREFIX) that runs the
#     arm64 test binaries (scripts/test-arm64.sh).
#
# Why not multiarch (dpkg --add-architecture arm64; apt-get install
# libopencv-dev:arm64): libopencv-dev:arm64 and libopencv-dev:amd64 cannot be
# installed side by side (one removes the other), and the host would need the
# whole arm64 closure anyway for qemu. So this script resolves the closure with
# apt in a private configuration (its own sources, lists, cache and an empty
# dpkg status; APT::Architecture=arm64), downloads the .debs and unpacks each
# with dpkg -x. Nothing on the host changes: no foreign architecture, no
# maintainer scripts, no root needed beyond writing the folder.
#
# Debian's apt mirror is the only network use. Idempotent: a complete root
# (marked by its stamp file) is reused unless --force is given.
#
# Usage: scripts/arm64-root.sh [--force] [ROOT]   (ROOT: .cache/arm64-root)
# Env:   ARM64_MIRROR (http://deb.debian.org/debian), ARM64_SUITE (bookworm),
#        ARM64_EXTRA_PKGS (more arm64 packages to unpack into the root)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
root=${1:-$here/.cache/arm64-root}
mkdir -p "$root"
root=$(cd "$root" && pwd)
work=$root.apt # apt's private state, beside the root
mirror=${ARM64_MIRROR:-http://deb.debian.org/debian}
suite=${ARM64_SUITE:-bookworm}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# libopencv-dev: headers, .pc and every module gocv links; libc6-dev and
# libstdc++-12-dev: the C/C++ headers and crt files the cross compiler needs
# when it uses this root as --sysroot (the compiler itself is the host's
# crossbuild-essential-arm64). gstreamer1.0-plugins-base: videotestsrc,
# videoconvert and appsink for camera's gst:// capture-string test.
pkgs=(libopencv-dev libc6-dev libstdc++-12-dev gstreamer1.0-plugins-base ${ARM64_EXTRA_PKGS:-})
stamp=$root/.conveyor-arm64-root

want_stamp="suite=$suite pkgs=${pkgs[*]}"
if [ $force -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
  echo "arm64-root: $root is ready ($(du -sh "$root" | cut -f1)); --force rebuilds it" >&2
  exit 0
fi
[ -r "$keyring" ] || { echo "arm64-root: $keyring missing: apt-get install debian-archive-keyring" >&2; exit 1; }

t0=$(date +%s)
rm -rf "$root" "$work"
mkdir -p "$root" "$work"/etc/apt.conf.d "$work"/etc/preferences.d "$work"/etc/sources.list.d \
  "$work"/etc/trusted.gpg.d "$work"/state/lists/partial "$work"/cache/archives/partial
: >"$work/state/status"
cat >"$work/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$keyring] $mirror $suite main
deb [arch=arm64 signed-by=$keyring] $mirror $suite-updates main
deb [arch=arm64 signed-by=$keyring] http://deb.debian.org/debian-security $suite-security main
EOF
# APT_CONFIG is read before /etc/apt: with Dir::Etc pointing here, none of
# the host's apt configuration (its architectures, sources, pins) applies.
cat >"$work/apt.conf" <<EOF
Dir::Etc "$work/etc";
Dir::State "$work/state";
Dir::State::status "$work/state/status";
Dir::Cache "$work/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
Debug::NoLocking "true";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$work/apt.conf
apt-get -qq update
t1=$(date +%s)
# An empty dpkg status means apt downloads the full dependency closure.
apt-get -qq -y --download-only install "${pkgs[@]}" >/dev/null
debs=("$work"/cache/archives/*.deb)
dl=$(du -sh "$work/cache/archives" | cut -f1)
t2=$(date +%s)
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
t3=$(date +%s)

# Maintainer scripts did not run, so the alternatives that point the BLAS and
# LAPACK sonames at their implementation (update-alternatives in libblas3's
# postinst) are missing; make them by hand so both ld (-rpath-link) and
# the arm64 ld.so (under qemu) find them in the default directories.
lib=$root/usr/lib/aarch64-linux-gnu
for so in libblas.so.3 liblapack.so.3; do
  [ -e "$lib/$so" ] && continue
  for impl in "$lib"/openblas-pthread/"$so" "$lib"/blas/"$so" "$lib"/lapack/"$so" "$lib"/atlas/"$so"; do
    if [ -e "$impl" ]; then ln -s "${impl#$lib/}" "$lib/$so"; break; fi
  done
done
# Absolute symlinks inside the root (e.g. /etc/alternatives/... or
# /lib/aarch64-linux-gnu/libfoo.so.1) would point at the host; make them
# relative to the root so the cross linker and qemu follow them inside it.
find "$root" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
  target=$(readlink "$l")
  ln -sfn "$(realpath -sm --relative-to="$(dirname "$l")" "$root$target")" "$l"
done
# The cross linker (--sysroot) finds libc.so.6 and friends through
# libc.so's linker script, whose absolute paths it prefixes with the sysroot.
[ -e "$root/lib/ld-linux-aarch64.so.1" ] || { echo "arm64-root: no ld-linux-aarch64.so.1 in $root/lib" >&2; exit 1; }
[ -f "$lib/pkgconfig/opencv4.pc" ] || { echo "arm64-root: no opencv4.pc in $lib/pkgconfig" >&2; exit 1; }

echo "$want_stamp" >"$stamp"
ver=$(PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config --modversion opencv4)
echo "arm64-root: $root: OpenCV $ver, ${#debs[@]} packages ($dl downloaded), $(du -sh "$root" | cut -f1) unpacked;" \
  "apt update $((t1 - t0))s, download $((t2 - t1))s, unpack $((t3 - t2))s" >&2
