"""Cost of censoring relative to detection alone, measured in the same run, and what it covers.

    python bench/bench_censor.py [--images 24] [--rounds 3] [--mode blur] [--what groups]

Speed (target: ``fleck censor`` costs <= 1.3x ``fleck detect`` on 640 x 480 images, one
process, one thread): synthetic 640 x 480 scenes (half figures, half controls) are written as
JPEG (quality 90; ``--format png`` for PNG) to a temporary folder; each image is then processed
by what ``fleck detect`` does per image (``Detector.detect(path)``) and by what ``fleck censor``
does per image (``fleck.censoring.censor_file``: decode, detection, cover, obscure, encode,
write), alternately, ``--rounds`` times. The ratio of the summed times is the figure to quote;
absolute times depend on the machine and its load (printed with ``os.getloadavg``).

Coverage (``--coverage``): on the synthetic figures that fleck decides positive, the share of
the deciding group's ribbon pixels that ``--what groups`` changes and of the background (pixels
off the figure's skin mask) it changes; the share of skin-map pixels ``--what skin`` changes;
per mode.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from fleck import synth  # noqa: E402
from fleck.censoring import MODES, censor, censor_file  # noqa: E402
from fleck.detector import Detector  # noqa: E402
from fleck.regions import cover_polygons  # noqa: E402


def speed(n_images: int, rounds: int, mode: str, what: str, fmt: str = "jpg") -> dict:
    detector = Detector()
    with tempfile.TemporaryDirectory() as folder:
        inputs, outputs = Path(folder, "in"), Path(folder, "out")
        inputs.mkdir()
        outputs.mkdir()
        paths = []
        for i, scene in enumerate(synth.generate(n_images, size=(480, 640))):
            path = inputs / f"{i:03d}.{fmt}"
            if fmt == "jpg":
                path.write_bytes(synth.encode_jpeg(scene.image, 90))
            else:
                Image.fromarray(scene.image).save(path)
            paths.append(str(path))
        detector.detect(paths[0])  # warm-up: imports, tables
        censor_file(paths[0], outputs / f"warm.{fmt}", detector=detector, overwrite=True)
        detect_s, censor_s, flags = [], [], []
        for round_ in range(rounds):
            target = outputs / str(round_)  # new files, as in use (replacing costs more)
            target.mkdir()
            for path in paths:
                start = time.perf_counter()
                detector.detect(path)
                middle = time.perf_counter()
                done = censor_file(path, target / Path(path).name, detector=detector,
                                   mode=mode, what=what)
                end = time.perf_counter()
                detect_s.append(middle - start)
                censor_s.append(end - middle)
                flags.append(bool(done.detection.decision))
    flagged = [i for i, flag in enumerate(flags) if flag]
    return {"images": n_images, "rounds": rounds, "flagged": len(flagged) // rounds,
            "detect_ms": 1e3 * statistics.median(detect_s),
            "censor_ms": 1e3 * statistics.median(censor_s),
            "ratio": sum(censor_s) / sum(detect_s),
            "ratio_flagged": (sum(censor_s[i] for i in flagged) / sum(detect_s[i] for i in flagged)
                              if flagged else float("nan"))}


def coverage(n_figures: int) -> dict:
    detector = Detector()
    rows: dict[str, dict[str, list[float]]] = {m: {"ribbons": [], "background": [], "skin": [],
                                                   "skin_background": []} for m in MODES}
    decided = 0
    for scene in synth.generate(n_figures, kinds=["figure"], size=(480, 640)):
        detection = detector.detect(scene.image)
        if not detection.decision:
            continue
        decided += 1
        ribbons = _deciding_ribbons(detection, scene.image.shape[:2])
        background = ~scene.mask
        skin = detection.mask_at()
        for mode in MODES:
            changed = (censor(scene.image, detection, mode=mode, what="groups")
                       != scene.image).any(axis=2)
            rows[mode]["ribbons"].append(changed[ribbons].mean())
            rows[mode]["background"].append(changed[background].mean())
            changed = (censor(scene.image, detection, mode=mode, what="skin")
                       != scene.image).any(axis=2)
            rows[mode]["skin"].append(changed[skin].mean())
            rows[mode]["skin_background"].append(changed[background].mean())
    return {"figures": n_figures, "decided": decided, "modes": rows}


def _deciding_ribbons(detection, shape) -> np.ndarray:
    """The deciding group's ribbons alone, rasterised as the censor does (no margin)."""
    group = detection.groups[detection.deciding_group]
    segments = {s.index: s for s in detection.segments}
    mask = np.zeros(shape, np.uint8)
    for index in group.segments:
        cv2.fillConvexPoly(mask, np.round(segments[index].ribbon() * 16).astype(np.int32), 1,
                           cv2.LINE_8, 4)
    assert all(any(np.allclose(r, segments[i].ribbon()) for r in cover_polygons(detection))
               for i in group.segments)
    return mask.astype(bool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=MODES, default="blur")
    parser.add_argument("--what", choices=("groups", "limbs", "skin"), default="groups")
    parser.add_argument("--format", choices=("jpg", "png"), default="jpg",
                        help="how the test images are stored (JPEG quality 90 or PNG)")
    parser.add_argument("--coverage", type=int, default=0, metavar="N",
                        help="also measure coverage on N synthetic figures")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load}")
    result = speed(args.images, args.rounds, args.mode, args.what, args.format)
    print(f"{result['images']} {args.format.upper()} images 640x480 ({result['flagged']} "
          f"flagged) x {result['rounds']} rounds, --mode {args.mode} --what {args.what}")
    print(f"  detect (Detector.detect(path)):    median {result['detect_ms']:6.1f} ms")
    print(f"  censor (censor_file, incl. detect): median {result['censor_ms']:6.1f} ms")
    print(f"  censor / detect: {result['ratio']:.2f}x all images, "
          f"{result['ratio_flagged']:.2f}x flagged images  (target <= 1.3x)")
    if args.coverage:
        cov = coverage(args.coverage)
        print(f"coverage on {cov['decided']} of {cov['figures']} figures decided positive "
              "(mean, worst):")
        for mode, r in cov["modes"].items():
            print(f"  {mode:9s} groups: ribbons changed {100 * np.mean(r['ribbons']):5.1f} % "
                  f"(min {100 * np.min(r['ribbons']):5.1f}), background changed "
                  f"{100 * np.mean(r['background']):5.1f} % (max "
                  f"{100 * np.max(r['background']):5.1f}); skin: skin-map pixels changed "
                  f"{100 * np.mean(r['skin']):5.1f} % (min {100 * np.min(r['skin']):5.1f}), "
                  f"background {100 * np.mean(r['skin_background']):5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
