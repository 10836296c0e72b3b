#!/usr/bin/env bash
# Throughput of one line with 1, 2, 4 and 8 sources and inference batches of
# 1 to 8 (issue 7). Each source is the two-person clip, read as fast as the
# line takes it; the detector runs at input size 320. Prints a Markdown
# table of frames per second (all sources together) for docs/BENCHMARKS.md.
#
# Usage: scripts/throughput.sh [REPEAT]   (REPEAT: passes over the 56-frame clip per source, default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-4}
bin=bin/conveyor
go build -o "$bin" ./cmd/conveyor
clip=assets/media/video/head-pose-face-detection-female-and-male.mp4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '| sources | batch 1 | batch 2 | batch 4 | batch 8 |\n|---|---|---|---|---|\n'
for n in 1 2 4 8; do
  row="| $n |"
  for b in 1 2 4 8; do
    args=()
    for ((i = 0; i < n; i++)); do args+=(-s "$clip"); done
    "$bin" run "${args[@]}" --repeat "$repeat" --input-size 320 --batch "$b" --blur gaussian \
      --progress never --summary-json "$tmp/s.json" 2>/dev/null
    fps=$(python3 -c "import json;print('%.1f' % json.load(open('$tmp/s.json'))['stats']['fps'])")
    row="$row $fps |"
  done
  echo "$row"
done
