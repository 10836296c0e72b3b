#!/usr/bin/env bash
# Checks the service pieces without installing anything on this machine:
#  1. install-service.sh into a temporary DESTDIR, then `systemd-analyze
#     verify` on the unit (its ExecStart pointed at the temporary copy of
#     the binary, since verify wants the executable to exist);
#  2. the installed example config loads and runs (strict YAML: an unknown
#     key fails) with the installed model, with a test-pattern source;
#  3. SIGTERM drains and finalizes: `conveyor run` on an endless test pattern
#     with --out gets SIGTERM after 3 s, must exit 0, and the video must be
#     complete (ffprobe counts its frames; no temporary file left).
# Needs bin/conveyor (make build), assets (make assets), systemd and ffmpeg.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bin=${BIN:-bin/conveyor}
[ -x "$bin" ] || { echo "verify-service: $bin missing: make build" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "verify-service: systemd-analyze missing: apt-get install systemd" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The unit.
DESTDIR=$tmp/root BIN=$bin scripts/install-service.sh
mkdir -p "$tmp/unit"
sed "s#/usr/local/bin/conveyor#$tmp/root/usr/local/bin/conveyor#" scripts/systemd/conveyor.service >"$tmp/unit/conveyor.service"
if ! out=$(systemd-analyze verify "$tmp/unit/conveyor.service" 2>&1) || [ -n "$out" ]; then
  echo "verify-service: systemd-analyze verify:" >&2; echo "$out" >&2; exit 1
fi
echo "verify-service: systemd-analyze verify: clean" >&2

# 2. The example config, as installed.
CONVEYOR_ASSETS=$tmp/root/usr/local/share/conveyor "$tmp/root/usr/local/bin/conveyor" run \
  --config "$tmp/root/etc/conveyor/config.yaml" --source 'pattern://?width=320&height=240&fps=30&frames=10' \
  --jsonl "$tmp/events.jsonl" >"$tmp/example.log" 2>&1 || { cat "$tmp/example.log" >&2; exit 1; }
[ -e "$tmp/events.jsonl" ] || { echo "verify-service: the example config wrote no events file" >&2; exit 1; }
echo "verify-service: example config loads and runs (10 pattern frames)" >&2

# 3. SIGTERM drains and finalizes.
"$bin" run --source 'pattern://?fps=30&frames=-1' --out "$tmp/sigterm.mp4" --progress never >"$tmp/sigterm.log" 2>&1 &
pid=$!
sleep 3
kill -TERM $pid
s=$(date +%s%N)
rc=0; wait $pid || rc=$?
ms=$((($(date +%s%N) - s) / 1000000))
[ $rc -eq 0 ] || { echo "verify-service: conveyor exited $rc after SIGTERM" >&2; cat "$tmp/sigterm.log" >&2; exit 1; }
ls "$tmp" | grep -v -x -e root -e unit -e sigterm.mp4 -e sigterm.log -e events.jsonl -e example.log >&2 && { echo "verify-service: leftover files above" >&2; exit 1; }
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$tmp/sigterm.mp4")
[ "${frames:-0}" -gt 0 ] || { echo "verify-service: $tmp/sigterm.mp4 is not playable" >&2; exit 1; }
echo "verify-service: SIGTERM: exit 0 after ${ms} ms, sigterm.mp4 plays ($frames frames)" >&2
grep -a 'conveyor:' "$tmp/sigterm.log" | head -2 >&2 || true
