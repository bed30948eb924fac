"""Image-level safety and speed of the fitted skin model against the 1996 filter.

* Decision rate: ``fleck.detect`` on every image of ``../shared/data/controls`` and
  ``../shared/data/mmpose_people`` (all safe for work, so every positive decision is a false
  positive), for each configuration; also the share of images passing the skin filter.
* Speed: ``skin_filter`` per image on the dev photos (pratheepan and abdomen dev, decoded once),
  single-threaded OpenCV, best of ``--repeat`` runs per image, averaged; reported as a ratio
  to the 1996 filter measured in the same run (configurations interleaved per image).

Usage (from the repository root)::

    python bench/skin_model_eval.py            # writes bench/out/skin_model_eval.md and .json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages
import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import fleck  # noqa: E402
from fleck.evaldata import read_manifest  # noqa: E402
from fleck.skin import skin_filter  # noqa: E402

DATA = REPO.parent / "shared" / "data"
NAMES = ("fleck1996", "kapur", "fitted", "fitted_strict")


def control_rows(data: Path) -> dict[str, list[str]]:
    rows = read_manifest(data)
    groups: dict[str, list[str]] = {}
    for row in rows:
        if row["dataset"].startswith("controls/") or row["dataset"] == "mmpose_people":
            group = "controls" if row["dataset"].startswith("controls/") else "mmpose_people"
            groups.setdefault(group, []).append(row["image"])
    return groups


def decision_rates(data: Path) -> dict:
    out = {}
    for group, images in control_rows(data).items():
        for name in NAMES:
            detector = fleck.Detector(name)
            decided = passed = 0
            fired = []
            for rel in images:
                detection = detector.detect(str(data / rel))
                decided += detection.decision
                passed += detection.passes_skin
                if detection.decision:
                    fired.append(rel)
            out[f"{group}|{name}"] = {"images": len(images), "decided": decided,
                                      "passes_skin": passed, "fired": fired}
    return out


def speed(data: Path, repeat: int) -> dict:
    rows = [r for r in read_manifest(data)
            if r["split"] == "dev" and r["dataset"] in ("pratheepan", "abdomen")]
    images = [np.asarray(Image.open(data / r["image"]).convert("RGB")) for r in rows]
    for name in NAMES:  # warm-up: first-call allocations, the table load
        skin_filter(images[0], name)
    times = {name: [] for name in NAMES}
    for image in images:
        for name in NAMES:
            best = np.inf
            for _ in range(repeat):
                start = time.perf_counter()
                skin_filter(image, name)
                best = min(best, time.perf_counter() - start)
            times[name].append(best * 1e3)
    mean = {name: float(np.mean(t)) for name, t in times.items()}
    return {"images": len(images), "ms_per_image": mean,
            "ratio_to_fleck1996": {n: mean[n] / mean["fleck1996"] for n in NAMES}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/fitted-skin-model.md")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"no evaluation data at {args.data}", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    results = {"decisions": decision_rates(args.data), "speed": speed(args.data, args.repeat)}
    lines = ["## Decision rate on safe images (every positive is a false positive)", "",
             "| set | images | " + " | ".join(f"{n} decided | {n} passes skin" for n in NAMES)
             + " |", "|---|---:|" + "---:|---:|" * len(NAMES)]
    for group in ("controls", "mmpose_people"):
        first = results["decisions"].get(f"{group}|fleck1996")
        if not first:
            continue
        cells = []
        for name in NAMES:
            r = results["decisions"][f"{group}|{name}"]
            cells.append(f"{r['decided']} | {r['passes_skin']}")
        lines.append(f"| {group} | {first['images']} | " + " | ".join(cells) + " |")
    s = results["speed"]
    lines += ["", f"## Skin filter time ({s['images']} dev photos, single thread, best of "
              f"{args.repeat} per image)", "", "| configuration | ms / image | x fleck1996 |",
              "|---|---:|---:|"]
    for name in NAMES:
        lines.append(f"| {name} | {s['ms_per_image'][name]:.2f} | "
                     f"{s['ratio_to_fleck1996'][name]:.2f} |")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "skin_model_eval.md").write_text(text + "\n")
    (args.out / "skin_model_eval.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/skin_model_eval.py", "docs/reports/fitted-skin-model.md",
                         "The fitted skin model"))
