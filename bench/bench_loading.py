"""Speed of fleck.loading relative to a bare OpenCV decode, measured in the same run.

    python bench/bench_loading.py [--runs 200]

Prints medians (ms) and ratios:
- load(path) of a 640x480 JPEG over cv2.imdecode(np.fromfile(path), IMREAD_COLOR)
  (target: < 1.15, i.e. < 15 % overhead);
- load(path_3000x2000, reduce_to=320) over the bare full-size decode of the same file
  (the reduced DCT decode should be far cheaper);
- a few other paths (PNG, a JPEG with EXIF orientation 6) for context.

Fixtures are synthetic photo-like images (smooth shading, edges, mild sensor noise), written to
a temporary folder. OpenCV runs single-threaded so the numbers are per-core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from fleck.loading import load  # noqa: E402


def photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth shading + a few hard-edged shapes + mild noise: JPEG sizes like real photos."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows /= height
    cols /= width
    image = np.stack([120 + 80 * np.sin(3 * cols + 1), 100 + 60 * rows,
                      140 - 70 * cols * rows], axis=-1)
    for _ in range(12):
        centre_r, centre_c = rng.uniform(0, 1, 2)
        radius = rng.uniform(0.05, 0.2)
        inside = (rows - centre_r) ** 2 + (cols - centre_c) ** 2 < radius ** 2
        image[inside] = rng.uniform(30, 230, 3)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def median_ms(function, runs: int) -> float:
    function()  # warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bare(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per case (median)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    runs, few = args.runs, max(5, args.runs // 10)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        small, large = folder / "640x480.jpg", folder / "3000x2000.jpg"
        Image.fromarray(photo_like(480, 640)).save(small, quality=90)
        Image.fromarray(photo_like(2000, 3000, seed=1)).save(large, quality=90)
        png = folder / "640x480.png"
        Image.fromarray(photo_like(480, 640)).save(png)
        rotated = folder / "640x480-exif6.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(photo_like(480, 640)).save(rotated, quality=90, exif=exif)

        print(f"cv2 {cv2.__version__}, single thread, median of {runs} runs "
              f"({few} for 3000x2000); sizes: {small.stat().st_size // 1024} KiB, "
              f"{large.stat().st_size // 1024} KiB")
        bare_small = median_ms(lambda: bare(small), runs)
        load_small = median_ms(lambda: load(small), runs)
        print(f"640x480 JPEG   bare cv2.imdecode          {bare_small:8.3f} ms")
        print(f"640x480 JPEG   load(path)                 {load_small:8.3f} ms"
              f"   ratio {load_small / bare_small:5.3f}  (target < 1.15)")
        reduced_small = median_ms(lambda: load(small, reduce_to=320), runs)
        print(f"640x480 JPEG   load(path, reduce_to=320)  {reduced_small:8.3f} ms"
              f"   ratio {reduced_small / bare_small:5.3f}  (decoded at 1/2)")
        load_rotated = median_ms(lambda: load(rotated), runs)
        print(f"640x480 JPEG   load(path), EXIF orient. 6 {load_rotated:8.3f} ms"
              f"   ratio {load_rotated / bare_small:5.3f}")
        bare_png = median_ms(lambda: cv2.imdecode(np.fromfile(png, np.uint8),
                                                  cv2.IMREAD_COLOR), runs)
        load_png = median_ms(lambda: load(png), runs)
        print(f"640x480 PNG    load(path) / bare cv2      {load_png:8.3f} ms"
              f"   ratio {load_png / bare_png:5.3f}  (bare {bare_png:.3f} ms)")

        bare_large = median_ms(lambda: bare(large), few)
        full_large = median_ms(lambda: load(large), few)
        reduced_large = median_ms(lambda: load(large, reduce_to=320), few)
        shape = load(large, reduce_to=320).rgb.shape
        print(f"3000x2000 JPEG bare cv2.imdecode          {bare_large:8.3f} ms")
        print(f"3000x2000 JPEG load(path)                 {full_large:8.3f} ms"
              f"   ratio {full_large / bare_large:5.3f}")
        print(f"3000x2000 JPEG load(path, reduce_to=320)  {reduced_large:8.3f} ms"
              f"   ratio {reduced_large / bare_large:5.3f}  (decoded {shape[1]}x{shape[0]})")


if __name__ == "__main__":
    main()
