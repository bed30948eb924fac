"""Benchmark ``fleck scan``: images per second with 1 and 2 jobs against the bare detector.

Generates N (default 1,000) 640x480 JPEGs of synthetic scenes (half figures, half skin-coloured
controls: fleck.synth) in a temporary folder, then measures, in this one run:

* single  - ``Detector.detect(path)`` on every file in a loop, in this process (the reference);
* jobs=1  - ``fleck.scan.scan(folder, jobs=1)``: walking, sniffing, worker process, JSON writing;
* jobs=2  - the same with two worker processes;
* extras  - jobs=2 with an fsync after every record, and other chunk sizes (``--extras``).

Each measurement is repeated (``--repeat``, default 2) and the fastest kept, because other
processes on the machine add noise. Targets: jobs=2 at least 1.7x jobs=1, and
jobs=1 within 1.3x of the single-image detector's own time.

    python bench/bench_scan.py [--n 1000] [--repeat 2] [--extras] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fleck  # noqa: E402
import fleck.scan.settings as scan_settings  # noqa: E402
from fleck import synth  # noqa: E402
from fleck.scan import read_results, scan  # noqa: E402


def make_images(folder: Path, n: int) -> list[Path]:
    """N synthetic 640x480 JPEGs in 10 sub-folders (reused when already there)."""
    from PIL import Image

    paths = []
    for i, s in enumerate(synth.generate(n, seed=2024, size=(480, 640))):
        path = folder / f"set{i % 10}" / f"{s.category}_{i:04d}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(s.image).save(path, quality=90)
        paths.append(path)
    return paths


def time_single(paths: list[Path]) -> tuple[float, dict]:
    detector = fleck.Detector()
    results = {}
    start = time.perf_counter()
    for path in paths:
        results[str(path)] = detector.detect(str(path)).summary()
    return time.perf_counter() - start, results


def time_scan(folder: Path, out: Path, **options) -> float:
    summary = scan([folder], out, quiet=True, overwrite=True, **options)
    assert summary.failed == 0 and summary.images > 0, summary
    return summary.seconds


def best(repeat: int, measure) -> float:
    return min(measure() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/scan.md")
    parser.add_argument("--n", type=int, default=1000, help="images (default 1000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best kept)")
    parser.add_argument("--extras", action="store_true",
                        help="also fsync-every-record and chunk sizes 1 and 16")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fleck-bench-scan-") as tmp:
        folder = args.keep or Path(tmp) / "images"
        start = time.perf_counter()
        paths = make_images(folder, args.n)
        print(f"{len(paths)} images 640x480 JPEG in {folder} "
              f"({time.perf_counter() - start:.1f} s to generate/check)")
        out = Path(tmp) / "results.jsonl"
        for path in paths:  # warm the page cache so that no variant pays the first read
            path.read_bytes()

        rows = []
        single, reference = None, None
        for _ in range(args.repeat):
            seconds, reference = time_single(paths)
            single = seconds if single is None else min(single, seconds)
        rows.append(("single (Detector.detect loop)", single))
        one = best(args.repeat, lambda: time_scan(folder, out, jobs=1))
        rows.append(("scan jobs=1", one))
        two = best(args.repeat, lambda: time_scan(folder, out, jobs=2))
        rows.append(("scan jobs=2", two))

        # The scan's records are the detector's own.
        records = {r["path"]: r for r in read_results(out)}
        same = all(records[p]["score"] == reference[p]["score"]
                   and records[p]["decision"] == reference[p]["decision"] for p in reference)

        if args.extras:
            saved = scan_settings.SCAN
            scan_settings.SCAN = dataclasses.replace(saved, fsync_interval_s=0.0)
            try:
                rows.append(("scan jobs=2, fsync every task",
                             best(args.repeat, lambda: time_scan(folder, out, jobs=2))))
            finally:
                scan_settings.SCAN = saved
            for chunk in (1, 16):
                rows.append((f"scan jobs=2, chunk={chunk}",
                             best(args.repeat, lambda chunk=chunk: time_scan(
                                 folder, out, jobs=2, chunk=chunk))))

    n = len(paths)
    print(f"\n{'variant':34s} {'seconds':>8s} {'images/s':>9s}")
    for name, seconds in rows:
        print(f"{name:34s} {seconds:8.2f} {n / seconds:9.1f}")
    speedup = one / two
    overhead = one / single
    print(f"\njobs=2 / jobs=1 throughput: {speedup:.2f}x   (target >= 1.7x: "
          f"{'met' if speedup >= 1.7 else 'NOT met'})")
    print(f"scan jobs=1 time / single-image detector time: {overhead:.2f}   (target <= 1.3: "
          f"{'met' if overhead <= 1.3 else 'NOT met'})")
    print(f"scan records identical to Detector.detect: {same}")
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count())
    print(f"cores available: {cores}")
    print(json.dumps({"n": n, "seconds": dict(rows), "speedup_2_over_1": round(speedup, 3),
                      "jobs1_over_single": round(overhead, 3), "identical": same}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_scan.py", "docs/reports/scan.md",
                         "Scan benchmark", fence=True))
