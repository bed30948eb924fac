"""Occlusion-map speed: 512 x 512 generated figure, window 64, stride 8, model fleck.

Target: under 30 s on 2 cores. Timings on a shared machine move with its load, so the
script also measures, in the same run, the reference cost of one fleck score on the same image
and reports each occlusion run as a ratio to ``positions x reference`` (1.0 = no overhead at
all on one core; 0.5 = perfect use of two cores).

Usage::

    python bench/bench_occlusion.py                  # jobs 1 and 2, stride 8
    python bench/bench_occlusion.py --stride 3       # the post's stride (22,500 windows)
    python bench/bench_occlusion.py --write-image figure.png   # the image, for `fleck occlude`
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import _report  # bench/_report.py: the documentation's report pages
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

TARGET_SECONDS = 30.0  # target: 512 x 512, window 64, stride 8, fleck, 2 cores


def generated_figure(size: int = 512, seed: int = 3) -> np.ndarray:
    """A synthetic skin-toned figure (fleck.synth), or a few cv2 ellipses if it is missing."""
    try:
        from fleck import synth

        return synth.figure(seed, size=(size, size)).image
    except ImportError:
        import cv2

        image = np.full((size, size, 3), (70, 90, 120), np.uint8)
        skin = (205, 150, 120)
        c = size // 2
        cv2.ellipse(image, (c, c), (size // 7, size // 4), 0, 0, 360, skin, -1)  # torso
        cv2.circle(image, (c, c - size // 3), size // 12, skin, -1)  # head
        for dx in (-1, 1):  # arms and legs as thick lines
            cv2.line(image, (c + dx * size // 8, c - size // 6),
                     (c + dx * size // 3, c + size // 10), skin, size // 18)
            cv2.line(image, (c + dx * size // 16, c + size // 5),
                     (c + dx * size // 8, size - size // 20), skin, size // 14)
        return image


def reference_ms(image: np.ndarray, repeats: int = 30) -> float:
    """Milliseconds per fleck score of ``image`` (one process, median of ``repeats``)."""
    import fleck

    detector = fleck.Detector()
    detector.score(image)  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        detector.score(image)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _report.add_report_option(parser, "docs/reports/occlusion.md")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="fleck")
    parser.add_argument("--working-size", type=int, default=None)
    parser.add_argument("--write-image", metavar="PATH",
                        help="only write the generated figure (PNG) and exit")
    args = parser.parse_args(argv)

    image = generated_figure(args.size)
    if args.write_image:
        import cv2

        cv2.imwrite(args.write_image, image[..., ::-1])
        print(f"wrote {args.write_image} ({args.size} x {args.size})")
        return 0

    from fleck.occlusion import occlusion_map

    ref = reference_ms(image) if args.model == "fleck" else None
    print(f"image {args.size} x {args.size}, window {args.window}, stride {args.stride}, "
          f"model {args.model}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if ref is not None:
        print(f"reference: one fleck score = {ref:.2f} ms")
    for jobs in args.jobs:
        result = occlusion_map(image, args.model, window=args.window, stride=args.stride,
                               jobs=jobs, working_size=args.working_size, progress=False)
        line = (f"jobs {jobs}: {result.positions} windows in {result.elapsed:.1f} s "
                f"({1e3 * result.elapsed / result.positions:.2f} ms/window)")
        if ref is not None:
            ratio = result.elapsed / (result.positions * ref / 1e3)
            line += f", ratio to positions x reference = {ratio:.2f}"
        if jobs == 2 and args.size == 512 and args.window == 64 and args.stride == 8:
            verdict = "meets" if result.elapsed < TARGET_SECONDS else "MISSES"
            line += f"; target < {TARGET_SECONDS:.0f} s on 2 cores: {verdict}"
        print(line, flush=True)
    print(f"(load after: {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_occlusion.py", "docs/reports/occlusion.md",
                         "Occlusion maps: speed", fence=True))
