"""Speed of the skin filter and the whole detector, against a bare JPEG decode in the same run.

Single thread (cv2.setNumThreads(1)), median over repeated runs. Images are generated (never
committed): synthetic figures and controls from ``fleck.synth``, with camera-like noise so their
JPEGs cost what a photo costs to decode, at 640x480 and 3000x2000.

Targets:
* skin filter end to end (decode + filter) at the default working size <= 3x a bare 640x480 decode;
* a 3000x2000 JPEG end to end (skin) costs less than its own bare full-size decode;
* the whole detector (``fleck.detect`` on the JPEG bytes) <= 4x a bare 640x480 decode;
* adversarial images (skin-hued stripes, a fine checkerboard, random noise) cost at most a few
  times an ordinary image.

The synthetic set is a hard case: half of it is built to pass the skin filter, and smooth
renders decode faster than photographs. When ``../shared/data`` is present the same figures are
also measured on real dev photographs (pratheepan, the bundled PyPI photos and textures), cropped
to 4:3 and re-encoded as 640x480 JPEGs (never written to the repository).

Run: ``python bench/bench_speed.py [--repeat 30]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages
import cv2
import numpy as np

import fleck
from fleck import synth
from fleck.evaldata import read_manifest
from fleck.loading import load
from fleck.skin import skin_filter

cv2.setNumThreads(1)


def photo_like(scene_image: np.ndarray, size: tuple[int, int], seed: int) -> bytes:
    """Resize a scene to ``size`` (rows, cols), add sensor-like noise, encode as JPEG q=90."""
    rows, cols = size
    image = cv2.resize(scene_image, (cols, rows), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    image += np.random.default_rng(seed).normal(0, 4, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


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


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def per_image_ms(fn, items, repeat: int) -> float:
    """Median over repeats of the mean time per item."""
    return median_ms(lambda: [fn(item) for item in items], repeat) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _report.add_report_option(parser, "docs/reports/speed.md")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--photos", type=int, default=60,
                        help="real dev photos to measure when ../shared/data is present")
    args = parser.parse_args()

    scenes = [synth.figure(seed).image for seed in range(args.images // 2)] + [
        synth.scene(kind, seed).image
        for seed, kind in enumerate(["wood", "bread", "skin_wall", "landscape", "fur", "stripes"]
                                    [: args.images - args.images // 2])]
    small = [photo_like(img, (480, 640), i) for i, img in enumerate(scenes)]
    large = [photo_like(img, (2000, 3000), i) for i, img in enumerate(scenes[:4])]
    detector = fleck.Detector()
    working = detector.config.working_size

    def bare_decode(data):
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def skin_end_to_end(data):
        loaded = load(data, reduce_to=working)
        return skin_filter(loaded.rgb, detector.config, input_shape=loaded.original_size)

    rows = []
    decode_small = per_image_ms(bare_decode, small, args.repeat)
    skin_small = per_image_ms(skin_end_to_end, small, args.repeat)
    detect_small = per_image_ms(detector.detect, small, args.repeat)
    decode_large = per_image_ms(bare_decode, large, max(3, args.repeat // 3))
    skin_large = per_image_ms(skin_end_to_end, large, max(3, args.repeat // 3))
    detect_large = per_image_ms(detector.detect, large, max(3, args.repeat // 3))
    rows += [
        ("640x480 bare decode (cv2.imdecode)", decode_small, 1.0, ""),
        ("640x480 decode + skin filter", skin_small, skin_small / decode_small, "<= 3.0"),
        ("640x480 fleck.detect (whole detector)", detect_small, detect_small / decode_small,
         "<= 4.0"),
        ("3000x2000 bare full-size decode", decode_large, decode_large / decode_small, ""),
        ("3000x2000 decode + skin filter", skin_large, skin_large / decode_large,
         "< 1.0 (vs own decode)"),
        ("3000x2000 fleck.detect", detect_large, detect_large / decode_large, "(vs own decode)"),
    ]
    photos = real_photos(args.photos)
    if photos:
        decode_photo = per_image_ms(bare_decode, photos, args.repeat)
        skin_photo = per_image_ms(skin_end_to_end, photos, args.repeat)
        detect_photo = per_image_ms(detector.detect, photos, args.repeat)
        rows += [
            (f"real dev photos ({len(photos)}) at 640x480: bare decode", decode_photo,
             decode_photo / decode_small, ""),
            ("real dev photos: decode + skin filter", skin_photo, skin_photo / decode_photo,
             "<= 3.0 (vs photo decode)"),
            ("real dev photos: fleck.detect", detect_photo, detect_photo / decode_photo,
             "<= 4.0 (vs photo decode)"),
        ]
    stages: dict[str, list[float]] = {}
    for data in small:
        for stage, ms in detector.detect(data).times_ms.items():
            stages.setdefault(stage, []).append(ms)

    ordinary = detect_small
    print(f"fleck {fleck.__version__}, working size {working}, single thread, "
          f"median of {args.repeat} runs over {len(small)} images\n")
    print("| measurement | ms per image | ratio | target |")
    print("|---|---:|---:|---|")
    for name, ms, ratio, target in rows:
        print(f"| {name} | {ms:.2f} | {ratio:.2f}x | {target} |")
    print("\nper stage (640x480, mean ms): " + ", ".join(
        f"{stage} {statistics.mean(v):.2f}" for stage, v in stages.items()))
    print("\n| adversarial 640x480 array | ms | x ordinary image | outcome |")
    print("|---|---:|---:|---|")
    for kind in ("stripes", "checkerboard", "lattice", "noise", "skin_noise"):
        image = adversarial(kind)
        ms = median_ms(lambda image=image: detector.detect(image), args.repeat)
        result = detector.detect(image)
        outcome = f"skin {result.skin_fraction:.0%}, {len(result.segments)} segments: " + (
            result.bailed_out or result.reason)
        print(f"| {kind} | {ms:.2f} | {ms / ordinary:.2f}x | {outcome[:90]} |")


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/bench_speed.py", "docs/reports/speed.md", "Speed"))
