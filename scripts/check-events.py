#!/usr/bin/env python3
"""Checks a conveyor --jsonl file (docs/MESSAGES.md) line by line: each
source has at most one end line and nothing after it, every `left` event is
for a track that had appeared, and, with --complete, every source ended and
every track that appeared has left. Prints counts; exits 1 on a violation.

Usage: scripts/check-events.py [--complete] EVENTS.jsonl
"""
import collections
import json
import sys


def main(argv):
    complete = "--complete" in argv
    paths = [a for a in argv if a != "--complete"]
    if len(paths) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    frames = collections.Counter()
    ends = {}
    open_tracks = collections.defaultdict(set)
    appeared = left = left_on_end = 0
    problems = []
    with open(paths[0], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(f"line {n}: not JSON ({err})")
                continue
            sid = ev["source_id"]
            if sid in ends:
                problems.append(f"line {n}: source {sid} after its end")
            if ev.get("end"):
                ends[sid] = ev
                left_on_end += len(ev.get("events", []))
            else:
                frames[sid] += 1
            for e in ev.get("events", []):
                if e["kind"] == "appeared":
                    appeared += 1
                    open_tracks[sid].add(e["track_id"])
                    continue
                left += 1
                if e["track_id"] not in open_tracks[sid]:
                    problems.append(f"line {n}: source {sid} track {e['track_id']} left without appearing")
                open_tracks[sid].discard(e["track_id"])
    sources = set(frames) | set(ends)
    for sid in sorted(sources):
        if sid in ends and open_tracks[sid]:
            problems.append(f"source {sid} ended with tracks that never left: {sorted(open_tracks[sid])}")
        if complete and sid not in ends:
            problems.append(f"source {sid} has no end line")
    states = collections.Counter(ev["end"]["state"] for ev in ends.values())
    print(f"{paths[0]}: {len(sources)} sources, {len(ends)} end lines {dict(states)}, "
          f"{sum(frames.values())} frame lines; {appeared} appeared, {left} left ({left_on_end} on end lines)")
    for p in problems[:20]:
        print("problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
