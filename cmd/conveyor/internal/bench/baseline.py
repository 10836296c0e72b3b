#!/usr/bin/env python3
"""Seed-style Python + OpenCV face-blur loop: the baseline `conveyor bench`
compares its modes against.

One loop, one frame at a time, the way the seed articles' Python apps work:

    frame -> cv2.dnn.blobFromImage -> net.forward -> decode YuNet 2022mar
    priors in numpy -> cv2.dnn.NMSBoxes -> Gaussian blur of each face
    (elliptical mask) -> cv2.VideoWriter

It does the same work as conveyor's sequential mode with the same model,
input size, thresholds and blur, on the same frames: the clip decoded once
into memory and replayed (--replay memory, the default), or read from the
file on every pass (--replay file). The first --warmup frames are not
measured.

It prints one JSON object on stdout (figures: FPS, latency percentiles,
per-stage busy time, CPU time, peak RSS, a timeline window) and writes the
detections of every frame to --detections, so the bench can check that
both loops found the same faces. On a failure it prints
{"ok": false, "error": "..."} and exits 1.

Usage (conveyor bench runs it for you):
    /usr/bin/python3 scripts/baseline.py --source clip.mp4 \
        --model face_detection_yunet_2022mar.onnx --frames 600 --warmup 30 \
        --input 480x270 --out python.mp4 --detections python-dets.json
"""

import argparse
import json
import math
import os
import resource
import sys
import time

STAGES = ["source", "preprocess", "infer", "decode", "blur", "sink"]


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


try:
    import cv2
    import numpy as np
except ImportError as e:  # the bench checks this first; say so anyway
    fail("baseline: %s (install python3-opencv)" % e)


def parse_size(s):
    try:
        w, h = s.lower().split("x")
        w, h = int(w), int(h)
    except ValueError:
        fail("baseline: --input %r: want WxH" % s)
    if w < 16 or h < 16:
        fail("baseline: --input %r: want at least 16x16" % s)
    return w, h


def yunet_priors(W, H):
    """YuNet 2022mar priors for a W x H input (DATA.md 1c): level, row,
    column, min size; centre and size normalised to the input."""
    steps = [8, 16, 32, 64]
    mins = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]

    def levels(side):
        f = (side + 1) // 2 // 2
        out = []
        for _ in range(4):
            f //= 2
            out.append(f)
        return out

    fw, fh = levels(W), levels(H)
    pri = []
    for lvl in range(4):
        step = steps[lvl]
        for r in range(fh[lvl]):
            for c in range(fw[lvl]):
                for m in mins[lvl]:
                    pri.append(((c + 0.5) * step / W, (r + 0.5) * step / H, m / W, m / H))
    return np.array(pri, dtype=np.float32).reshape(-1, 4)


def decode(loc, conf, iou, priors, W, H, sx, sy, score_th, nms_th):
    """Boxes (x, y, w, h, score) in frame coordinates, after NMS."""
    loc = loc.reshape(-1, 14)
    scores = np.sqrt(np.clip(conf.reshape(-1, 2)[:, 1], 0, 1) * np.clip(iou.reshape(-1), 0, 1))
    keep = scores >= score_th
    if not np.any(keep):
        return []
    p, l, s = priors[keep], loc[keep], scores[keep]
    cx = (p[:, 0] + l[:, 0] * 0.1 * p[:, 2]) * W
    cy = (p[:, 1] + l[:, 1] * 0.1 * p[:, 3]) * H
    w = p[:, 2] * np.exp(l[:, 2] * 0.1) * W
    h = p[:, 3] * np.exp(l[:, 3] * 0.2) * H
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    idx = cv2.dnn.NMSBoxes(boxes.tolist(), s.tolist(), score_th, nms_th)
    out = []
    for i in np.array(idx).reshape(-1):
        x, y, bw, bh = boxes[i]
        out.append([float(x / sx), float(y / sy), float(bw / sx), float(bh / sy), float(s[i])])
    return out


def blur_faces(img, faces, pad, strength):
    """Elliptical Gaussian blur of each padded face box, in place (the same
    as conveyor's post.Blur with mode gaussian, shape ellipse)."""
    H, W = img.shape[:2]
    for x, y, w, h, _ in faces:
        px, py = w * pad, h * pad
        x1, y1 = max(int(x - px), 0), max(int(y - py), 0)
        x2, y2 = min(int(x + w + px + 0.5), W), min(int(y + h + py + 0.5), H)
        bw, bh = x2 - x1, y2 - y1
        if bw < 2 or bh < 2:
            continue
        roi = img[y1:y2, x1:x2]
        k = max(int(min(bw, bh) * strength) | 1, 3)
        blurred = cv2.GaussianBlur(roi, (k, k), 0)
        mask = np.zeros((bh, bw), np.uint8)
        cv2.ellipse(mask, (bw // 2, bh // 2), (bw // 2, bh // 2), 0, 0, 360, 255, -1)
        cv2.copyTo(blurred, mask, roi)


class Frames:
    """The same frames for every pass: the clip in memory, replayed, or the
    file read again on every pass."""

    def __init__(self, path, replay):
        self.path, self.replay = path, replay
        self.clip = []
        self.cap = None
        if replay == "memory":
            cap = cv2.VideoCapture(path)
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                self.clip.append(img)
            cap.release()
            if not self.clip:
                fail("baseline: %s: no frames" % path)
            self.fps = 25.0
            cap = cv2.VideoCapture(path)
            self.fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            cap.release()
        else:
            self.cap = cv2.VideoCapture(path)
            if not self.cap.isOpened():
                fail("baseline: %s: cannot open" % path)
            self.fps = self.cap.get(cv2.CAP_PROP_FPS) or 25.0

    def read(self, i):
        if self.replay == "memory":
            return self.clip[i % len(self.clip)].copy()
        ok, img = self.cap.read()
        if not ok:
            self.cap.release()
            self.cap = cv2.VideoCapture(self.path)
            ok, img = self.cap.read()
            if not ok:
                fail("baseline: %s: no frames" % self.path)
        return img

    def close(self):
        if self.cap is not None:
            self.cap.release()


def open_writer(path, fps, size):
    for codec in ("avc1", "mp4v"):
        w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), fps, size)
        if w.isOpened():
            return w, codec
        w.release()
    fail("baseline: %s: no video codec would open (tried avc1, mp4v)" % path)


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def peak_rss_kb():
    """This process's peak RSS: VmHWM (ru_maxrss can carry the parent's
    peak across fork and exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pct(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    i = min(len(sorted_vals) - 1, max(0, int(math.ceil(q / 100.0 * len(sorted_vals))) - 1))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--frames", type=int, default=600, help="measured frames")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--input", required=True, help="network input WxH (the frame is resized to it)")
    ap.add_argument("--score", type=float, default=0.8)
    ap.add_argument("--nms", type=float, default=0.3)
    ap.add_argument("--blur-pad", type=float, default=0.15)
    ap.add_argument("--strength", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0, help="cv2.setNumThreads (0: OpenCV's default)")
    ap.add_argument("--replay", choices=["memory", "file"], default="memory")
    ap.add_argument("--timeline-frames", type=int, default=30)
    ap.add_argument("--out", required=True, help="output video")
    ap.add_argument("--detections", required=True, help="JSON file for every frame's boxes")
    a = ap.parse_args()

    for p in (a.source, a.model):
        if not os.path.isfile(p):
            fail("baseline: %s: no such file" % p)
    if a.frames < 1 or a.warmup < 0:
        fail("baseline: --frames must be at least 1 and --warmup at least 0")
    if a.threads > 0:
        cv2.setNumThreads(a.threads)
    W, H = parse_size(a.input)
    try:
        net = cv2.dnn.readNet(a.model)
    except cv2.error as e:
        fail("baseline: model %s: %s" % (a.model, str(e).strip().splitlines()[-1]))
    names = ["loc", "conf", "iou"]
    priors = yunet_priors(W, H)
    frames = Frames(a.source, a.replay)
    first = frames.read(0)
    fh, fw = first.shape[:2]
    sx, sy = W / fw, H / fh
    writer, codec = open_writer(a.out, frames.fps, (fw, fh))
    if a.replay == "file":  # start again from frame 0
        frames.close()
        frames = Frames(a.source, a.replay)

    total = a.warmup + a.frames
    tl_first, tl_last = a.warmup, a.warmup + a.timeline_frames
    busy = {s: 0.0 for s in STAGES}
    lat, dets, timeline = [], [], []
    t_start = t_end = None
    cpu0 = cpu1 = None
    for i in range(total):
        if i == a.warmup:
            t_start = time.perf_counter()
            cpu0 = cpu_seconds()
        t = [time.perf_counter()]
        img = frames.read(i)
        t.append(time.perf_counter())
        net_in = img if (fw, fh) == (W, H) else cv2.resize(img, (W, H))
        blob = cv2.dnn.blobFromImage(net_in)
        t.append(time.perf_counter())
        net.setInput(blob)
        loc, conf, iou = net.forward(names)
        t.append(time.perf_counter())
        faces = decode(loc, conf, iou, priors, W, H, sx, sy, a.score, a.nms)
        t.append(time.perf_counter())
        blur_faces(img, faces, a.blur_pad, a.strength)
        t.append(time.perf_counter())
        writer.write(img)
        t.append(time.perf_counter())
        dets.append(faces)
        if i >= a.warmup:
            lat.append((t[-1] - t[0]) * 1000)
            for k, s in enumerate(STAGES):
                busy[s] += t[k + 1] - t[k]
            if tl_first <= i < tl_last:
                timeline.append({"frame": i, "spans": [
                    [s, (t[k] - t_start) * 1000, (t[k + 1] - t_start) * 1000] for k, s in enumerate(STAGES)]})
    t_end = time.perf_counter()
    cpu1 = cpu_seconds()
    writer.release()
    frames.close()

    with open(a.detections, "w") as f:
        json.dump(dets, f)
    wall = t_end - t_start
    s = sorted(lat)
    print(json.dumps({
        "ok": True,
        "python": sys.version.split()[0],
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "threads": cv2.getNumThreads(),
        "replay": a.replay,
        "codec": codec,
        "frame": [fw, fh],
        "input": [W, H],
        "frames": a.frames,
        "warmup": a.warmup,
        "wall_s": wall,
        "fps": a.frames / wall if wall > 0 else 0,
        "latency_ms": {"p50": pct(s, 50), "p95": pct(s, 95), "p99": pct(s, 99),
                       "mean": sum(s) / len(s), "max": s[-1]},
        "latencies_ms": lat,
        "busy_s": busy,
        "cpu_user_s": cpu1[0] - cpu0[0],
        "cpu_system_s": cpu1[1] - cpu0[1],
        "peak_rss_kb": peak_rss_kb(),
        "timeline": timeline,
    }))


if __name__ == "__main__":
    main()
