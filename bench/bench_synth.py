"""Speed of fleck.synth scene generation relative to a reference measured in the same run.

    python bench/bench_synth.py [--runs 40]

Target: a 480 x 640 figure in < ~30 ms. Because absolute times depend on the machine and its
load, the figure time is also printed as a ratio to a fixed reference workload of similar
kind (one 480 x 640 JPEG encode + decode at quality 90 with OpenCV), timed alternately with it.
Controls are listed for context. OpenCV runs single-threaded so the numbers are per-core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from fleck import synth  # noqa: E402


def _median_ms(fn, runs: int) -> float:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    size = (480, 640)
    photo = synth.figure(0, size=size).image
    reference = _median_ms(lambda i: cv2.imdecode(
        cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], cv2.IMREAD_COLOR),
        args.runs)
    synth.figure(1, size=size)  # warm-up
    fig = _median_ms(lambda i: synth.figure(i, size=size), args.runs)
    print(f"reference (JPEG q90 encode+decode 480x640): {reference:6.1f} ms")
    print(f"figure 480x640:                             {fig:6.1f} ms  "
          f"= {fig / reference:4.1f} x reference  (target < ~30 ms)")
    runs = max(5, args.runs // 4)
    for pose in synth.POSES:
        ms = _median_ms(lambda i, pose=pose: synth.figure(i, size=size, pose=pose), runs)
        print(f"  pose {pose:12s} {ms:6.1f} ms")
    for kind in synth.CONTROLS:
        ms = _median_ms(lambda i, kind=kind: synth.scene(kind, i, size=size), runs)
        print(f"control {kind:13s} {ms:6.1f} ms = {ms / reference:4.1f} x reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
