#!/usr/bin/env bash
# Soak run (issue 7): four sources through one line for a long time, with the
# tracker, batching, video and event outputs and the web server; memory,
# goroutines and live Mats are read from /metrics every minute. A flat line
# means no leak. Not a test: it takes DURATION (default 10m). Set
# MALLOC_ARENA_MAX to see glibc's share of the resident memory.
#
# SOAK_CHURN=SECONDS adds source churn: the run gets --api, and SECONDS after
# the last removal a fifth source (the walking clip, looped) is added through
# POST /api/sources and removed again SECONDS/2 later, so that sources that
# come and go are soaked too (goroutines, Mats, memory, one finished video
# file per visit).
#
# At the end scripts/check-events.py checks the events file: one end line per
# source, and a `left` event for every track that appeared.
#
# Usage: [SOAK_CHURN=20] scripts/soak.sh [DURATION] [OUTDIR] [EXTRA conveyor run FLAGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10m}
out=${2:-out/soak}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$out"
go build -tags matprofile -o "$out/conveyor" ./cmd/conveyor
v=assets/media/video
port=$((20000 + RANDOM % 20000))
churn=${SOAK_CHURN:-0}
api=()
if ((churn > 0)); then api=(--api); fi
"$out/conveyor" run --progress never \
  -s "$v/head-pose-face-detection-female-and-male.mp4" -s "$v/face-demographics-walking-and-pause.mp4" \
  -s "$v/gocv_small_noface.mp4" -s "pattern://?width=640&height=480&fps=30&frames=-1" \
  --repeat 100000 --realtime --policy drop-oldest --input-size 320 --batch 4 --track --osd \
  --out "$out/soak.mp4" --jsonl "$out/events.jsonl" --http "127.0.0.1:$port" \
  --duration "$dur" --summary-json "$out/summary.json" "${api[@]}" "$@" 2> "$out/stderr.log" &
pid=$!
base="http://127.0.0.1:$port"
if ((churn > 0)); then
  clip="$PWD/$v/face-demographics-walking-and-pause.mp4"
  (
    while kill -0 "$pid" 2> /dev/null; do
      sleep "$churn"
      id=$(curl -fsS -H 'Content-Type: application/json' -d "{\"uri\":\"$clip\"}" \
        "$base/api/sources" 2> /dev/null |
        sed -n 's/.*"id":\([0-9]*\).*/\1/p') || continue
      sleep $((churn / 2))
      [ -n "$id" ] && curl -fsS -X DELETE "$base/api/sources/$id" > /dev/null 2>&1 || true
    done
  ) &
fi
scrape() {
  curl -fsS "$base/metrics" | awk -v when="$1" '
    /^process_resident_memory_bytes /{rss=$2} /^go_goroutines /{g=$2} /^conveyor_gocv_mats /{m=$2}
    /^go_memstats_heap_inuse_bytes /{h=$2} /^conveyor_line_frames_total /{f=$2}
    END {printf "%s: frames %d, RSS %.1f MiB, Go heap in use %.1f MiB, goroutines %d, live Mats %d", when, f, rss/1048576, h/1048576, g, m}'
  curl -fsS "$base/api/sources" | awk '{n = gsub(/"id":/, ""); r = gsub(/"state":"running"/, ""); printf ", sources %d running of %d", r, n}'
  # The resident size split: anonymous (C and Go heaps, stacks) and file-backed (code).
  awk '/^(RssAnon|RssFile|Threads):/{printf ", %s %s", $1, $2 ($3 == "kB" ? " kB" : "")} END {print ""}' "/proc/$pid/status"
}
secs=$(( $(date -d "1970-01-01 UTC + ${dur/m/ min}" +%s 2>/dev/null || echo 600) ))
: > "$out/report.txt"
for ((t = 60; t < secs; t += 60)); do
  sleep 60
  scrape "after $((t / 60)) min" | tee -a "$out/report.txt"
done
wait $pid
tail -n 20 "$out/stderr.log" >> "$out/report.txt"
# Every source ended once, and every tracked face that appeared has left.
scripts/check-events.py --complete "$out/events.jsonl" >> "$out/report.txt" || status=$?
cat "$out/report.txt"
exit "${status:-0}"
