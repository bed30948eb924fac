"""How stable fleck's answers are: the same image through every input route, and under benign
changes that should not change whether a photo shows a body plan.

For every image of the evaluation data (``../shared/data``, beside the repository) and a set of
synthetic scenes (``fleck.synth`` figures, which are true positives, and controls), and for every
shipped configuration, the detector runs on the image *as given* (its path) and on:

* routes, which must give exactly the same answer: ``array`` (``fleck.load_image(path)``),
  ``bytes`` (the file's bytes), ``file`` (an open binary file), ``pil`` (``PIL.Image.open``);
* benign changes: ``jpeg_q85`` (the decoded pixels re-encoded as JPEG at quality 85),
  ``mirror`` (left-right), ``crop_2pct`` (1 % of the height and of the width cut from each side,
  so 98 % of each dimension is kept), ``rescale_90`` (resized to 90 % with area averaging).

Reported per configuration and data set: positives as given; *ever positive*, the images
positive as given or under any benign change; how many decisions each route or change flips
against the image as given; the share of ever-positive images whose decision changes under at
least one benign change; and the median absolute score change over all images and changes.
With the ``cnn`` extra installed, open_nsfw and NudeNet are measured on the same images and
changes, at threshold 0.5 and at the threshold giving as many positives as fleck1996 as given,
so the figures have an anchor beside them.

Dev sets (pratheepan, parsing_people/lip_hpa, abdomen dev, the dev controls) and the synthetic
scenes are for development; the held-out sets are reported once, at the end (``--split
heldout``), never tuned on.

Usage (from the repository root)::

    python bench/stability.py                      # dev sets + synthetic scenes, all configs
    python bench/stability.py --split heldout      # held-out sets (report once)
    python bench/stability.py --quick              # a few images per set, for a smoke run
    python bench/stability.py --cnn                # also open_nsfw / NudeNet (needs fleck[cnn])

Writes ``bench/out/stability_<split>.json`` and ``bench/out/stability_<split>.md``; with
``--report``, its block of ``docs/reports/stability.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from a source checkout

import _report  # noqa: E402  bench/_report.py: the documentation's report pages

import fleck  # noqa: E402
from fleck import synth  # noqa: E402
from fleck.config import CONFIGS  # noqa: E402
from fleck.evaldata import read_manifest  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "out"

ROUTES = ("array", "bytes", "file", "pil")
CHANGES = ("jpeg_q85", "mirror", "crop_2pct", "rescale_90")
# The array route also counts as a benign change: a user who decodes the file first must get
# the same answer.
BENIGN = ("array",) + CHANGES
SPLIT_SETS = {
    "dev": ("pratheepan", "parsing_people/lip_hpa", "abdomen", "controls/pypi_bundled",
            "controls/textures_efros_leung"),
    "heldout": ("fasseg_frontal02", "mmpose_people", "parsing_people/cihp_pgn",
                "parsing_people/cihp_unet", "abdomen", "controls/animals_mmpose", "ecu_subset",
                "vdm"),
}


@dataclass(frozen=True)
class Item:
    """One image to measure: its data set label and its file."""

    dataset: str
    path: str


# ------------------------------------------------------------------------------------------------
# the images


def real_items(split: str, limit: int | None) -> list[Item]:
    """The evaluation-data images of ``split`` (``mmpose_people`` has no manifest rows)."""
    items: list[Item] = []
    per_set: dict[str, int] = defaultdict(int)
    for row in read_manifest(DATA):
        if row["split"] != split or row["dataset"] not in SPLIT_SETS[split]:
            continue
        label = row["dataset"] if row["dataset"] != "abdomen" else f"abdomen_{split}"
        if limit is not None and per_set[label] >= limit:
            continue
        per_set[label] += 1
        items.append(Item(label, str(DATA / row["image"])))
    if split == "heldout" and "mmpose_people" in SPLIT_SETS[split]:
        people = sorted(p for p in (DATA / "mmpose_people").rglob("*")
                        if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not any(item.dataset == "mmpose_people" for item in items):
            items += [Item("mmpose_people", str(p)) for p in people[:limit]]
    return items


def synthetic_items(folder: Path, figures: int, controls: int) -> list[Item]:
    """Synthetic figures (every tone and pose in turn) and controls, written as JPEG q92."""
    items = []
    tones, poses = tuple(synth.TONES), tuple(synth.POSES)
    for seed in range(figures):
        scene = synth.figure(seed, tone=tones[seed % len(tones)], pose=poses[seed % len(poses)])
        path = folder / f"figure_{seed:03d}.jpg"
        path.write_bytes(synth.encode_jpeg(scene.image, 92))
        items.append(Item("synthetic_figures", str(path)))
    for kind in synth.CONTROLS:
        for seed in range(controls):
            path = folder / f"control_{kind}_{seed}.jpg"
            path.write_bytes(synth.encode_jpeg(synth.scene(kind, seed).image, 92))
            items.append(Item("synthetic_controls", str(path)))
    return items


# ------------------------------------------------------------------------------------------------
# the variants of one image


def variants(path: str):
    """``(name, source)`` pairs: the image as given, then every route and benign change."""
    data = Path(path).read_bytes()
    rgb = fleck.load_image(path)
    yield "given", path
    yield "array", rgb
    yield "bytes", data
    yield "file", io.BytesIO(data)
    yield "pil", Image.open(io.BytesIO(data))
    ok, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    yield "jpeg_q85", encoded.tobytes()
    yield "mirror", np.ascontiguousarray(rgb[:, ::-1])
    rows, cols = rgb.shape[:2]
    dr, dc = max(1, round(0.01 * rows)), max(1, round(0.01 * cols))
    yield "crop_2pct", np.ascontiguousarray(rgb[dr:rows - dr, dc:cols - dc])
    yield "rescale_90", cv2.resize(rgb, (round(0.9 * cols), round(0.9 * rows)),
                                   interpolation=cv2.INTER_AREA)


def measure(item: Item, configs: tuple[str, ...]) -> dict:
    """``{config: {variant: [decision, score]}}`` for one image (errors recorded, not raised)."""
    detectors = [fleck.Detector(name) for name in configs]
    out: dict = {name: {} for name in configs}
    try:
        for variant, source in variants(item.path):
            for name, detector in zip(configs, detectors, strict=True):
                if hasattr(source, "seek"):
                    source.seek(0)
                det = detector.detect(source)
                out[name][variant] = [bool(det.decision), float(det.score)]
    except fleck.ImageError as err:
        return {"error": str(err)}
    return out


def _measure_job(args):
    item, configs = args
    return item, measure(item, configs)


# ------------------------------------------------------------------------------------------------
# CNN anchors


def cnn_scores(items: list[Item], names: tuple[str, ...], cache_path: Path) -> dict:
    """``{cnn: {path: {variant: score}}}`` over the benign changes, cached across runs."""
    from fleck.cnn import CnnUnavailableError, get_cnn_scorer

    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    out: dict = {}
    for name in names:
        try:
            scorer = get_cnn_scorer(name, threads=1)
        except CnnUnavailableError as err:
            print(f"  {name}: skipped ({err})", file=sys.stderr)
            continue
        table = cache.setdefault(name, {})
        for item in items:
            key = os.path.relpath(item.path, DATA) if item.path.startswith(str(DATA)) else None
            entry = table.get(key) if key else None
            if entry is None:
                entry = {}
                for variant, source in variants(item.path):
                    if variant in ("given", *CHANGES):
                        entry[variant] = float(scorer(fleck.load_image(source)))
                if key:
                    table[key] = entry
            out.setdefault(name, {})[item.path] = entry
        cache_path.write_text(json.dumps(cache))
    return out


# ------------------------------------------------------------------------------------------------
# summaries


def summarise(decisions: dict[str, dict[str, list]], threshold: float | None = None) -> dict:
    """Counts for one detector over one data set.

    ``decisions`` maps image -> variant -> [decision, score] (or variant -> score for CNNs, with
    ``threshold`` giving the decision).
    """
    def decide(value):
        if threshold is None:
            return bool(value[0]), float(value[1])
        return value >= threshold, float(value)

    images = 0
    positives = 0
    ever = 0
    ever_changed = 0
    flips: dict[str, int] = defaultdict(int)
    deltas: list[float] = []
    for per_variant in decisions.values():
        images += 1
        given, given_score = decide(per_variant["given"])
        positives += given
        changed = False
        any_positive = given
        for variant, value in per_variant.items():
            if variant == "given":
                continue
            decision, score = decide(value)
            flip = decision != given
            flips[variant] += flip
            if variant in BENIGN:
                changed |= flip
                any_positive |= decision
                deltas.append(abs(score - given_score))
        ever += any_positive
        ever_changed += any_positive and changed
    return {"images": images, "positives": positives, "ever_positive": ever,
            "ever_positive_changed": ever_changed,
            "changed_share": ever_changed / ever if ever else None,
            "flips": dict(flips),
            "median_abs_score_change": statistics.median(deltas) if deltas else None,
            "max_route_score_change": None}


def route_score_change(decisions: dict[str, dict[str, list]]) -> float:
    """The largest |score(route) - score(given)| over all images and routes."""
    return max((abs(v[variant][1] - v["given"][1]) for v in decisions.values()
                for variant in ROUTES if variant in v), default=0.0)


def matched_threshold(scores: list[float], positives: int) -> float:
    """The threshold giving ``positives`` positives among ``scores`` (as close as ties allow)."""
    ranked = sorted(scores, reverse=True)
    if positives <= 0:
        return float(np.nextafter(ranked[0], np.inf)) if ranked else 1.0
    return ranked[min(positives, len(ranked)) - 1]


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def table(title: str, rows: dict[str, dict]) -> list[str]:
    head = ["detector", "images", "pos.", "ever pos.", "changed", "share",
            *ROUTES, *CHANGES, "median abs. score change"]
    lines = [f"#### {title}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for name, row in rows.items():
        flips = row["flips"]
        med = row["median_abs_score_change"]
        cells = [name, row["images"], row["positives"], row["ever_positive"],
                 row["ever_positive_changed"], _pct(row["changed_share"]),
                 *(flips.get(v, "–") for v in ROUTES + CHANGES),
                 "–" if med is None else f"{med:.3g}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/stability.md")
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated configuration names (default: all shipped)")
    parser.add_argument("--quick", action="store_true", help="8 images per set, 10 figures")
    parser.add_argument("--figures", type=int, default=30, help="synthetic figures (dev only)")
    parser.add_argument("--controls", type=int, default=2, help="synthetic controls per kind")
    parser.add_argument("--cnn", action="store_true", help="also open_nsfw and NudeNet")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    configs = tuple(args.configs.split(","))
    limit = 8 if args.quick else None
    OUT.mkdir(parents=True, exist_ok=True)

    items: list[Item] = []
    with tempfile.TemporaryDirectory() as scratch:
        if (DATA / "manifest.csv").is_file():
            items += real_items(args.split, limit)
        else:
            print(f"(evaluation data not found at {DATA}: synthetic scenes only)")
        if args.split == "dev":
            items += synthetic_items(Path(scratch), 10 if args.quick else args.figures,
                                     1 if args.quick else args.controls)
        start = time.perf_counter()
        results: dict[str, dict] = {}
        errors: dict[str, str] = {}
        with ProcessPoolExecutor(args.jobs) as pool:
            for item, result in pool.map(_measure_job, [(i, configs) for i in items],
                                         chunksize=4):
                if "error" in result:
                    errors[item.path] = result["error"]
                else:
                    results[item.path] = result
        seconds = time.perf_counter() - start
        cnn = cnn_scores(items, ("open_nsfw", "nudenet"),
                         OUT / "stability_cnn_cache.json") if args.cnn else {}

    by_set: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.path in results:
            by_set[item.dataset].append(item)
    report: dict = {"split": args.split, "configs": configs, "seconds": round(seconds, 1),
                    "errors": errors, "sets": {}}
    lines = [f"### Decision stability, {args.split} split", "",
             f"fleck {fleck.__version__}; {len(results)} images; {seconds:.0f} s for "
             f"{len(configs)} configurations x {1 + len(ROUTES) + len(CHANGES)} variants.", ""]
    pooled: dict[str, dict] = defaultdict(dict)
    for dataset, members in list(by_set.items()) + [("all", [i for s in by_set.values()
                                                               for i in s])]:
        rows: dict[str, dict] = {}
        for name in configs:
            decisions = {i.path: results[i.path][name] for i in members}
            rows[name] = summarise(decisions)
            rows[name]["max_route_score_change"] = route_score_change(decisions)
        reference_name = "fleck1996" if "fleck1996" in rows else next(iter(rows))
        reference = rows[reference_name]
        for cnn_name, per_path in cnn.items():
            scores = {i.path: per_path[i.path] for i in members if i.path in per_path}
            rows[f"{cnn_name} @0.5"] = summarise(scores, 0.5)
            given = [v["given"] for v in scores.values()]
            t = matched_threshold(given, reference["positives"])
            rows[f"{cnn_name} @{t:.3g} (as many positives as {reference_name})"] = \
                summarise(scores, t)
        report["sets"][dataset] = rows
        lines += table(f"{dataset} ({len(members)} images)", rows)
        pooled[dataset] = rows
    lines += ["Route columns (array, bytes, file, pil) must be 0; the largest route score change "
              "per configuration (all sets): " + ", ".join(
                  f"{name} {report['sets']['all'][name]['max_route_score_change']:.2g}"
                  for name in configs), ""]
    if errors:
        lines += [f"{len(errors)} images could not be read: " + "; ".join(errors.values()), ""]
    text = "\n".join(lines)
    print(text)
    (OUT / f"stability_{args.split}.md").write_text(text)
    (OUT / f"stability_{args.split}.json").write_text(json.dumps(
        {"report": report, "results": results}, indent=None))
    return 0


if __name__ == "__main__":
    # The held-out run writes its own block, so the dev tables stay on the page beside it.
    split = argparse.ArgumentParser(add_help=False)
    split.add_argument("--split", default="dev")
    held_out = split.parse_known_args()[0].split == "heldout"
    sys.exit(_report.run(main, "bench/stability.py", "docs/reports/stability.md",
                         "Stability: the same answer for the same image",
                         block="bench/stability.py --split heldout" if held_out else None))
