#!/usr/bin/env bash
# Soak run (issue 7): four sources through one line for a long time, with the
# tracker, batching, video and event outputs and the web server; memory,
# goroutines and live Mats are read from /metrics every minute. A flat line
# means no leak. Not a test: it takes DURATION (default 10m). Set
# MALLOC_ARENA_MAX to see glibc's share of the resident memory.
#
# Usage: scripts/soak.sh [DURATION] [OUTDIR] [EXTRA conveyor run FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10m}
out=${2:-out/soak}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$out"
go build -tags matprofile -o "$out/conveyor" ./cmd/conveyor
v=assets/media/video
port=$((20000 + RANDOM % 20000))
"$out/conveyor" run --progress never \
  -s "$v/head-pose-face-detection-female-and-male.mp4" -s "$v/face-demographics-walking-and-pause.mp4" \
  -s "$v/gocv_small_noface.mp4" -s "pattern://?width=640&height=480&fps=30&frames=-1" \
  --repeat 100000 --realtime --policy drop-oldest --input-size 320 --batch 4 --track --osd \
  --out "$out/soak.mp4" --events "$out/events.jsonl" --http "127.0.0.1:$port" \
  --duration "$dur" --summary-json "$out/summary.json" "$@" 2> "$out/stderr.log" &
pid=$!
scrape() {
  curl -fsS "http://127.0.0.1:$port/metrics" | awk -v when="$1" '
    /^process_resident_memory_bytes /{rss=$2} /^go_goroutines /{g=$2} /^conveyor_gocv_mats /{m=$2}
    /^go_memstats_heap_inuse_bytes /{h=$2} /^conveyor_line_frames_total /{f=$2}
    END {printf "%s: frames %d, RSS %.1f MiB, Go heap in use %.1f MiB, goroutines %d, live Mats %d\n", when, f, rss/1048576, h/1048576, g, m}'
}
secs=$(( $(date -d "1970-01-01 UTC + ${dur/m/ min}" +%s 2>/dev/null || echo 600) ))
: > "$out/report.txt"
for ((t = 60; t < secs; t += 60)); do
  sleep 60
  scrape "after $((t / 60)) min" | tee -a "$out/report.txt"
done
wait $pid
tail -n 20 "$out/stderr.log" >> "$out/report.txt"
cat "$out/report.txt"
