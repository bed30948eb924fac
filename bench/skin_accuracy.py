"""Pixel accuracy of the skin filter against the ground-truth masks in ``../shared/data``.

For every dataset with skin masks (manifest.csv) and for the UCI skin/non-skin pixel list, this
computes pooled pixel precision, recall and F1 of

* ``fleck1996`` -- fleck.skin.skin_filter with FLECK_1996 (default working size),
* ``kapur``     -- the same with the KAPUR variant,
* ``fitted``    -- the same with the FITTED configuration (fitted colour table,
  Fleck's texture and growth; fleck.skin_model),
* ``fitted_strict`` -- the same table with the stricter FITTED_STRICT thresholds,
* ``chai_ngan`` -- the YCrCb box of Chai & Ngan (1999), on the full-resolution image,
* ``kovac``     -- the RGB daylight rule of Kovac et al. (2003), on the full-resolution image.

The Fleck masks are compared at the ground truth's resolution (``SkinMap.mask_at``). UCI pixels
have no neighbours, so for the Fleck configurations only the colour part is scored there (the
stage-1 boxes, and the lenient stage-2 colour test), with no zero response and no noise.

Per dataset it also gives each Fleck configuration's F1 difference to Kovac with a 95 %
interval from resampling images. On the dev split it analyses why the 1996 filter misses
ground-truth skin (one cause per missed pixel). On each split it measures recall per skin-tone
bin (ITA angle): over all skin pixels, and again over the pixels whose colour has a readable
tone (fleck.evaldata.skin_tone). With ``--working-sizes``, it gives F1 and time per image at
several working sizes (single-threaded OpenCV).

Usage (from the repository root)::

    python bench/skin_accuracy.py                       # all splits, default working size
    python bench/skin_accuracy.py --split dev --working-sizes 320,480,640,native

Writes ``bench/out/skin_accuracy.md`` (the tables, also printed) and ``skin_accuracy.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from a source checkout

from fleck.colour import log_opponent  # noqa: E402
from fleck.config import FITTED, FITTED_STRICT, FLECK_1996, KAPUR, FleckConfig, SkinConfig  # noqa: E402
from fleck.evaldata import (  # noqa: E402
    ITA_BINS,
    TONE_HUE_RANGE,
    TONE_MIN_CHROMA,
    ita_bin_index,
    load_pair,
    read_manifest,
    skin_tone,
)
from fleck.skin import scaled_radius, skin_filter  # noqa: E402
from fleck.skin_rules import chai_ngan_ycrcb, kovac_rgb  # noqa: E402

DATA = REPO.parent / "shared" / "data"
MASK_DATASETS = ("pratheepan", "abdomen", "fasseg_frontal02", "ecu_subset", "vdm")
FAILURE_DATASETS = ("pratheepan", "abdomen")  # their dev rows: the failure analysis set
METHODS = ("fleck1996", "kapur", "fitted", "fitted_strict", "chai_ngan", "kovac")
FLECK_CONFIGS = {"fleck1996": FLECK_1996, "kapur": KAPUR, "fitted": FITTED,
                 "fitted_strict": FITTED_STRICT}
UNDETERMINED = "undetermined colour"
CAUSES = {
    "lenient": "(e) fails the lenient stage-2 colour test (hue outside 110-180 or sat > 180)",
    "hue": "(b) hue outside the stage-1 boxes (110-170), passes stage 2, not grown",
    "sat_floor": "(a) hue in a box but saturation under its floor (20 / 30), not grown",
    "sat_ceiling": "(a') hue in a box but saturation over its ceiling (60 / 130), not grown",
    "texture": "(c) stage-1 colour OK but texture > 5, not grown",
    "not_grown": "(d) stage-1 pixel (colour and texture OK) but the density growth dropped it",
    "other": "other (should be empty)",
}


# --------------------------------------------------------------------------- counting


@dataclass
class Counts:
    """Pooled pixel confusion counts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
        """Add one image's counts; returns that image's (tp, fp, fn)."""
        tp = int(np.count_nonzero(predicted & truth))
        positives = int(np.count_nonzero(predicted))
        skin = int(np.count_nonzero(truth))
        self.tp += tp
        self.fp += positives - tp
        self.fn += skin - tp
        self.tn += truth.size - positives - skin + tp
        return tp, positives - tp, skin - tp

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def skin_share(self) -> float:
        """Share of ground-truth skin: the precision of marking every pixel skin."""
        return (self.tp + self.fn) / max(1, self.tp + self.fp + self.fn + self.tn)

    def to_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": self.precision, "recall": self.recall, "f1": self.f1,
                "skin_share": self.skin_share}


# --------------------------------------------------------------------------- data


def manifest_rows(data: Path, split: str) -> list[dict]:
    rows = [r for r in read_manifest(data) if r["mask"] and r["dataset"] in MASK_DATASETS]
    return [r for r in rows if split == "all" or r["split"] == split]


def row_label(row: dict) -> tuple[str, str]:
    return row["dataset"], row["split"]


def with_working_size(config: FleckConfig, size: str | int | None) -> FleckConfig:
    return config.replace(working_size=None if size in (None, "native") else int(size))


# --------------------------------------------------------------------------- analyses


def _up(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a working-resolution map to ``shape`` (as mask_at does)."""
    if array.shape == shape:
        return array
    source = array.view(np.uint8) if array.dtype == bool else array
    resized = cv2.resize(source, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool) if array.dtype == bool else resized


def _in_box(hue, sat, hue_range, sat_range) -> np.ndarray:
    return ((hue >= hue_range[0]) & (hue <= hue_range[1])
            & (sat >= sat_range[0]) & (sat <= sat_range[1]))


def failure_causes(maps: dict, final: np.ndarray, truth: np.ndarray,
                   skin: SkinConfig) -> dict[str, np.ndarray]:
    """One cause per missed ground-truth skin pixel of the density-growth filter.

    Maps are at working resolution and are brought to the ground truth's by nearest neighbour,
    exactly as ``SkinMap.mask_at`` brings the mask. Causes are checked in the order of
    ``CAUSES``: a pixel failing the lenient test could never be marked; otherwise it was not
    grown, and the cause is the first stage-1 test that the pixel itself fails.
    """
    shape = truth.shape
    hue, sat = _up(maps["hue"], shape), _up(maps["saturation"], shape)
    texture, stage1 = _up(maps["texture"], shape), _up(maps["stage1"], shape)
    missed = truth & ~final
    lenient = _in_box(hue, sat, skin.stage2_hue, skin.stage2_sat)
    in_hue = np.zeros(shape, bool)
    floor = np.full(shape, np.inf, np.float32)
    ceiling = np.full(shape, -np.inf, np.float32)
    colour = np.zeros(shape, bool)
    for hue_min, hue_max, sat_min, sat_max in skin.stage1_boxes:
        inside = (hue >= hue_min) & (hue <= hue_max)
        in_hue |= inside
        floor[inside] = np.minimum(floor[inside], sat_min)
        ceiling[inside] = np.maximum(ceiling[inside], sat_max)
        colour |= inside & (sat >= sat_min) & (sat <= sat_max)
    left = missed.copy()
    causes = {}
    for name, test in (("lenient", ~lenient), ("not_grown", stage1),
                       ("texture", colour & (texture > skin.texture_max)),
                       ("hue", ~in_hue), ("sat_floor", sat < floor),
                       ("sat_ceiling", sat > ceiling)):
        causes[name] = left & test
        left &= ~test
    causes["other"] = left
    return causes


def stage_coverage(maps: dict, final: np.ndarray, truth: np.ndarray,
                   skin: SkinConfig) -> dict[str, int]:
    """How many ground-truth skin pixels pass each test (not exclusive)."""
    shape = truth.shape
    hue, sat = _up(maps["hue"], shape), _up(maps["saturation"], shape)
    colour = np.zeros(shape, bool)
    for hue_min, hue_max, sat_min, sat_max in skin.stage1_boxes:
        colour |= _in_box(hue, sat, (hue_min, hue_max), (sat_min, sat_max))
    tests = {
        "stage-1 colour": colour,
        "texture <= 5": _up(maps["texture"], shape) <= skin.texture_max,
        "stage 1 (both)": _up(maps["stage1"], shape),
        "grown": _up(maps["grown"], shape),
        "lenient colour": _in_box(hue, sat, skin.stage2_hue, skin.stage2_sat),
        "final": final,
    }
    return {name: int(np.count_nonzero(test & truth)) for name, test in tests.items()}


def boundary_band(truth: np.ndarray, result, radius: float) -> np.ndarray:
    """Ground-truth skin pixels within ``radius`` SCALE (working resolution) of non-skin.

    That is where a median window of that radius straddles skin and background.
    """
    if truth.all():
        return np.zeros(truth.shape, bool)
    reach = scaled_radius(radius, result.scale) / result.factor  # in ground-truth pixels
    distance = cv2.distanceTransform(truth.view(np.uint8), cv2.DIST_L2, 3)
    return truth & (distance <= reach)


def uci_colour_only(data: Path) -> dict[str, Counts]:
    """Score every method on the UCI pixel list; the Fleck filters by their colour tests only."""
    table = np.loadtxt(data / "uci_skin_nonskin" / "Skin_NonSkin.txt", dtype=np.int64)
    rgb = np.ascontiguousarray(table[:, 2::-1].astype(np.uint8))
    truth = table[:, 3] == 1
    results: dict[str, Counts] = {}
    for config in (FLECK_1996, KAPUR):
        skin = dataclasses.replace(config.skin, zero_response=False, noise=False)
        intensity, rg, by = log_opponent(rgb.reshape(-1, 1, 3), skin)
        sat, hue = cv2.cartToPolar(by, rg, angleInDegrees=True)
        hue, sat, intensity = hue.ravel(), sat.ravel(), intensity.ravel()
        hue[hue > 180.0] -= 360.0
        stage1 = np.zeros(truth.shape, bool)
        for hue_min, hue_max, sat_min, sat_max in skin.stage1_boxes:
            stage1 |= _in_box(hue, sat, (hue_min, hue_max), (sat_min, sat_max))
        lenient = _in_box(hue, sat, skin.stage2_hue, skin.stage2_sat)
        if skin.intensity_range is not None:
            low, high = skin.intensity_range
            lenient &= (intensity >= low) & (intensity <= high)
        for label, predicted in (("stage-1 colour", stage1), ("lenient colour", lenient)):
            counts = results.setdefault(f"{config.name} {label}", Counts())
            counts.add(predicted, truth)
    from fleck.skin_model import colour_llr

    llr = colour_llr(rgb, FITTED)  # no zero response, no noise, no median
    for config in (FITTED, FITTED_STRICT):  # one table, two pairs of thresholds
        for label, threshold in (("stage-1 colour", config.skin.table_stage1_min),
                                 ("lenient colour", config.skin.table_stage2_min)):
            results.setdefault(f"{config.name} {label}", Counts()).add(llr >= threshold, truth)
    for name, rule in (("chai_ngan", chai_ngan_ycrcb), ("kovac", kovac_rgb)):
        results.setdefault(name, Counts()).add(rule(rgb), truth)
    return results


# --------------------------------------------------------------------------- runs


def accuracy_run(data: Path, rows: list[dict], *, limit: int | None) -> dict:
    """Main table at the default working size, plus the dev failure and skin-tone analyses."""
    counts: dict[tuple, Counts] = defaultdict(Counts)
    ms: dict[tuple, list[float]] = defaultdict(list)
    per_image: dict[tuple, list[tuple]] = defaultdict(list)  # (tp, fp, fn) per image
    images: dict[tuple, int] = defaultdict(int)
    # failure[dataset][table][name] -> pixel count; tables: missed, missed_but_kovac_hits,
    # near_boundary (missed pixels within the texture window of non-skin), coverage.
    failure: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    ita_pixel: dict[tuple, Counts] = defaultdict(Counts)  # (method, bin) -> counts on GT skin
    ita_image: dict[tuple, Counts] = defaultdict(Counts)
    ita_image_n: dict[tuple, int] = defaultdict(int)  # (split, bin) -> images
    for row in _limited(rows, limit):
        label = row_label(row)
        image, truth = load_pair(data, row)
        images[label] += 1
        analyse = row["split"] == "dev" and row["dataset"] in FAILURE_DATASETS
        predicted = {}
        for method in METHODS:
            start = time.perf_counter()
            if method in FLECK_CONFIGS:
                mask = skin_filter(image, FLECK_CONFIGS[method]).mask_at(truth.shape)
            else:
                mask = (chai_ngan_ycrcb if method == "chai_ngan" else kovac_rgb)(image)
            ms[(label, method)].append((time.perf_counter() - start) * 1e3)
            predicted[method] = mask
            per_image[(label, method)].append(counts[(label, method)].add(mask, truth))
        _add_skin_tones(row["split"], image, truth, predicted, ita_pixel, ita_image, ita_image_n)
        if not analyse:
            continue
        result = skin_filter(image, FLECK_1996, keep_maps=True)  # untimed: keeps its maps
        found = failure_causes(result.maps, predicted["fleck1996"], truth, FLECK_1996.skin)
        near = boundary_band(truth, result, FLECK_1996.skin.texture_radius)
        table = failure[row["dataset"]]
        for name, where in found.items():
            table["missed"][name] += int(np.count_nonzero(where))
            table["missed_but_kovac_hits"][name] += int(
                np.count_nonzero(where & predicted["kovac"]))
            table["near_boundary"][name] += int(np.count_nonzero(where & near))
        coverage = stage_coverage(result.maps, predicted["fleck1996"], truth, FLECK_1996.skin)
        for name, n in coverage.items():
            table["coverage"][name] += n
        table["coverage"]["skin pixels"] += int(np.count_nonzero(truth))
        table["coverage"]["near boundary"] += int(np.count_nonzero(truth & near))
    return {
        "images": {f"{d}|{s}": n for (d, s), n in images.items()},
        "versus_kovac": versus_kovac(per_image),
        "accuracy": {f"{d}|{s}|{m}": {**c.to_dict(),
                                      "ms_per_image": float(np.mean(ms[((d, s), m)]))}
                     for ((d, s), m), c in counts.items()},
        "failure": json.loads(json.dumps(failure)),
        "ita_pixel": {f"{sp}|{m}|{b}": {"recall": c.recall, "skin_pixels": c.tp + c.fn}
                      for (sp, m, b), c in ita_pixel.items()},
        "ita_image": {f"{sp}|{m}|{b}": {"recall": c.recall, "skin_pixels": c.tp + c.fn,
                                        "images": ita_image_n[(sp, b)]}
                      for (sp, m, b), c in ita_image.items()},
    }


def versus_kovac(per_image: dict, resamples: int = 2000, seed: int = 0) -> dict:
    """Pooled F1 difference of each Fleck model to Kovac per dataset, with a 95 % interval from
    resampling the dataset's images (paired: every method sees the same resample)."""
    rng = np.random.default_rng(seed)
    out = {}
    for (label, method), rows in per_image.items():
        if method not in FLECK_CONFIGS:
            continue
        ours, kovac = np.asarray(rows, float), np.asarray(per_image[(label, "kovac")], float)
        picks = rng.integers(0, len(rows), (resamples, len(rows)))

        def f1(c):  # c[..., (tp, fp, fn)] summed over images
            return 2 * c[..., 0] / np.maximum(2 * c[..., 0] + c[..., 1] + c[..., 2], 1)

        diffs = f1(ours[picks].sum(1)) - f1(kovac[picks].sum(1))
        low, high = np.percentile(diffs, [2.5, 97.5])
        out[f"{label[0]}|{label[1]}|{method}"] = {
            "f1_minus_kovac": float(f1(ours.sum(0)) - f1(kovac.sum(0))),
            "ci95": [float(low), float(high)], "images": len(rows)}
    return out


def _add_skin_tones(split, image, truth, predicted, ita_pixel, ita_image, ita_image_n) -> None:
    """Recall per ITA bin: each GT skin pixel by its own ITA, and each image by its median."""
    if not truth.any():
        return
    ita, defined = skin_tone(image)
    bins = ita_bin_index(ita)[truth]
    defined = defined[truth]
    image_bin = ITA_BINS[int(ita_bin_index(np.median(ita[truth])))][0]
    ita_image_n[(split, image_bin)] += 1
    for method, mask in predicted.items():
        hit = mask[truth]
        for i, (name, _, _) in enumerate(ITA_BINS):
            in_bin = bins == i
            ita_pixel[(split, method, name)].add(hit[in_bin], np.ones(int(in_bin.sum()), bool))
            in_bin &= defined
            ita_pixel[(split, method, f"{name}|defined")].add(
                hit[in_bin], np.ones(int(in_bin.sum()), bool))
        ita_pixel[(split, method, UNDETERMINED)].add(hit[~defined],
                                                     np.ones(int((~defined).sum()), bool))
        ita_image[(split, method, image_bin)].add(hit, np.ones(hit.size, bool))


def _best_of(repeats: int, call) -> tuple[object, float]:
    """``call()``'s result and its fastest wall time in ms over ``repeats`` runs.

    The minimum is the least disturbed by other processes on a shared machine (as timeit does).
    """
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, (time.perf_counter() - start) * 1e3)
    return result, best


def working_size_run(data: Path, rows: list[dict], sizes: list[str], *,
                     limit: int | None, repeats: int = 3) -> dict:
    """F1, time per image and failure causes of both Fleck variants at each working size (dev).

    Times are per image the best of ``repeats`` runs, averaged over the images.
    """
    rows = [r for r in rows if r["split"] == "dev"]
    loaded = [(row_label(r), *load_pair(data, r)) for r in _limited(rows, limit)]
    skin_filter(loaded[0][1], FLECK_1996)  # warm-up: first-call allocations
    out = {}
    for size in sizes:
        for base in (FLECK_1996, KAPUR):
            config = with_working_size(base, size)
            counts: dict[tuple, Counts] = defaultdict(Counts)
            ms: dict[tuple, list[float]] = defaultdict(list)
            causes: dict[tuple, dict] = defaultdict(lambda: {name: 0 for name in CAUSES})
            for label, image, truth in loaded:
                mask, elapsed = _best_of(repeats, lambda image=image, config=config, truth=truth:
                                           skin_filter(image, config).mask_at(truth.shape))
                ms[label].append(elapsed)
                counts[label].add(mask, truth)
                if base is FLECK_1996 and label[0] in FAILURE_DATASETS:
                    maps = skin_filter(image, config, keep_maps=True).maps
                    for name, where in failure_causes(maps, mask, truth, config.skin).items():
                        causes[label][name] += int(np.count_nonzero(where))
            for label, c in counts.items():
                out[f"{size}|{label[0]}|{base.name}"] = {
                    **c.to_dict(), "ms_per_image": float(np.mean(ms[label])),
                    "images": len(ms[label]),
                    **({"missed": causes[label]} if label in causes else {})}
        print(f"working size {size}: done", file=sys.stderr)
    # Reference for the speed ratio, measured in the same run: the Kovac rule at full size.
    ref = [_best_of(repeats, lambda image=image: kovac_rgb(image))[1] for _, image, _ in loaded]
    return {"sizes": out, "kovac_ms_per_image": float(np.mean(ref))}


def _limited(rows: list[dict], limit: int | None) -> list[dict]:
    if limit is None:
        return rows
    seen: dict[tuple, int] = defaultdict(int)
    kept = []
    for row in rows:
        if seen[row_label(row)] < limit:
            seen[row_label(row)] += 1
            kept.append(row)
    return kept


# --------------------------------------------------------------------------- report


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def report(results: dict) -> str:
    lines = []
    acc = results.get("accuracy")
    if acc:
        lines += ["## Pixel accuracy (pooled over each dataset's images)", "",
                  f"Fleck filters at the default working size (H + W = {FLECK_1996.working_size}, "
                  "SCALE 1), masks compared at the ground truth's resolution; textbook rules on "
                  "the full image. P, R, F1 in %. *skin* = share of ground-truth skin pixels "
                  "(the precision of marking everything skin). Heldout rows are reported, "
                  "never tuned on.", "",
                  "| dataset | split | images | skin | method | P | R | F1 |",
                  "|---|---|---:|---:|---|---:|---:|---:|"]
        for key, n in acc["images"].items():
            dataset, split = key.split("|")
            for method in METHODS:
                c = acc["accuracy"][f"{dataset}|{split}|{method}"]
                split_mark = "**heldout**" if split == "heldout" else split
                lines.append(f"| {dataset} | {split_mark} | {n} | {_pct(c['skin_share'])} | "
                             f"{method} | {_pct(c['precision'])} | {_pct(c['recall'])} | "
                             f"{_pct(c['f1'])} |")
        lines.append("")
    versus = (acc or {}).get("versus_kovac")
    if versus:
        lines += ["## F1 difference to Kovac (points), 95 % interval over images", "",
                  "Pooled F1 of each Fleck configuration minus Kovac's, and the 2.5-97.5 % "
                  "range of that difference over 2,000 resamples of the dataset's images "
                  "(paired, seed 0): a small set cannot tell a margin inside the interval "
                  "from zero.", "",
                  "| dataset | split | images | " + " | ".join(FLECK_CONFIGS) + " |",
                  "|---|---|---:|" + "---:|" * len(FLECK_CONFIGS)]
        for key in acc["images"]:
            dataset, split = key.split("|")
            cells = [versus[f"{dataset}|{split}|{m}"] for m in FLECK_CONFIGS]
            lines.append(f"| {dataset} | {split} | {cells[0]['images']} | " + " | ".join(
                f"{100 * c['f1_minus_kovac']:+.1f} [{100 * c['ci95'][0]:+.1f}, "
                f"{100 * c['ci95'][1]:+.1f}]" for c in cells) + " |")
        lines.append("")
    uci = results.get("uci")
    if uci:
        lines += ["## UCI Skin Segmentation pixels (dev, colour only)", "",
                  "Single pixels have no neighbours: the Fleck rows score the colour tests alone "
                  "(no texture, no growth, no zero response, no noise). *stage-1 colour* = inside "
                  "the stage-1 hue/saturation boxes (what an isolated pixel needs); *lenient "
                  "colour* = the stage-2 test (an upper bound on what growth can add; Kapur's "
                  "includes its grey-level range).", "",
                  "| method | P | R | F1 |", "|---|---:|---:|---:|"]
        for name, c in uci.items():
            lines.append(f"| {name} | {_pct(c['precision'])} | {_pct(c['recall'])} | "
                         f"{_pct(c['f1'])} |")
        share = next(iter(uci.values()))["skin_share"]
        lines.append(f"\nSkin share of the UCI pixels: {_pct(share)} %.\n")
    failure = (acc or {}).get("failure")
    if failure:
        lines += failure_report(failure)
    ita_pixel, ita_image = (acc or {}).get("ita_pixel"), (acc or {}).get("ita_image")
    if ita_pixel:
        lines += ita_report(ita_pixel, ita_image or {})
    study = results.get("working_sizes")
    if study:
        ref = study["kovac_ms_per_image"]
        lines += ["## Working-size study (dev, single-threaded OpenCV)", "",
                  f"ms = wall time of skin_filter per image (resize included; best of 3 runs, "
                  f"mean over images); ×Kovac = that "
                  f"time over the Kovac rule's on the full image in the same run ({ref:.2f} ms). "
                  "abdomen images are 227×227 (H + W = 454), so every size >= 480 is native "
                  "for them.", "",
                  "| working size | dataset | fleck1996 P | R | F1 | ms | ×Kovac | kapur F1 | ms |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for key, c in study["sizes"].items():
            size, dataset, name = key.split("|")
            if name != "fleck1996":
                continue
            k = study["sizes"][f"{size}|{dataset}|kapur"]
            lines.append(f"| {size} | {dataset} | {_pct(c['precision'])} | {_pct(c['recall'])} | "
                         f"{_pct(c['f1'])} | {c['ms_per_image']:.1f} | "
                         f"{c['ms_per_image'] / ref:.1f} | {_pct(k['f1'])} | "
                         f"{k['ms_per_image']:.1f} |")
        lines += ["", "Causes of fleck1996's misses per working size (share of missed GT skin, %):",
                  "", "| working size | dataset | missed | " + " | ".join(CAUSES) + " |",
                  "|---|---|---:|" + "---:|" * len(CAUSES)]
        for key, c in study["sizes"].items():
            size, dataset, name = key.split("|")
            if name != "fleck1996" or "missed" not in c:
                continue
            total = max(1, sum(c["missed"].values()))
            lines.append(f"| {size} | {dataset} | {_pct(total / max(1, c['tp'] + c['fn']))} | "
                         + " | ".join(_pct(c["missed"][n] / total) for n in CAUSES) + " |")
        lines.append("")
    return "\n".join(lines)


def ita_report(ita_pixel: dict, ita_image: dict) -> list[str]:
    """Recall per skin-tone bin, one table per split, with each method's worst/best ratio."""
    lines = []
    for split in ("dev", "heldout"):
        if not any(key.startswith(split + "|") for key in ita_pixel):
            continue
        lines += [f"## Recall per skin tone ({split}: all masked datasets pooled)", "",
                  "ITA = arctan((L* - 50) / b*) in degrees. *pixels*: each ground-truth skin "
                  "pixel binned by its own ITA (shading moves pixels between bins); *images*: "
                  "each image binned by the median ITA of its skin, recall pooled. Last row: "
                  "worst bin / best bin (bins with >= 1 % of the skin pixels).", "",
                  "| ITA bin | GT px | " + " | ".join(METHODS) + " | images | GT px | "
                  + " | ".join(METHODS) + " |",
                  "|---|---:|" + "---:|" * len(METHODS) + "---:|---:|" + "---:|" * len(METHODS)]
        names = [name for name, _, _ in ITA_BINS]
        cells, ratios = _pixel_recalls(split, ita_pixel, names)
        for name in names:
            row = cells[name]
            im = ita_image.get(f"{split}|fleck1996|{name}")
            if im:
                row += f" | {im['images']} | {im['skin_pixels']:,} | " + " | ".join(
                    _pct(ita_image[f"{split}|{m}|{name}"]["recall"]) for m in METHODS) + " |"
            else:
                row += " | 0 | 0 |" + " - |" * len(METHODS)
            lines.append(row)
        lines.append("| worst / best (pixels) | | " + ratios + " | | |" + " |" * len(METHODS))
        lines.append("")
        lines += _tone_defined_report(split, ita_pixel)
    return lines


def _pixel_recalls(split: str, ita_pixel: dict, keys: list[str]) -> tuple[dict[str, str], str]:
    """Per key, the start of its table row (key, GT pixels, recall per method), and the cells of
    each method's worst / best recall over the keys holding >= 1 % of those pixels."""
    pixels = {k: ita_pixel.get(f"{split}|fleck1996|{k}", {}).get("skin_pixels", 0) for k in keys}
    total = sum(pixels.values())
    cells = {k: f"| {k.split('|')[0]} | {pixels[k]:,} | " + " | ".join(
        _pct(ita_pixel[f"{split}|{m}|{k}"]["recall"]) if pixels[k] else "-" for m in METHODS)
        for k in keys}
    kept = [k for k in keys if pixels[k] >= 0.01 * total]
    ratios = []
    for m in METHODS:
        recalls = [ita_pixel[f"{split}|{m}|{k}"]["recall"] for k in kept]
        ratios.append(f"{min(recalls) / max(max(recalls), 1e-9):.2f}" if recalls else "-")
    return cells, " | ".join(ratios)


def _tone_defined_report(split: str, ita_pixel: dict) -> list[str]:
    """The pixel table again with undetermined-colour pixels in a row of their own."""
    if f"{split}|fleck1996|{UNDETERMINED}" not in ita_pixel:
        return []
    lines = [f"### {split}: skin tone only where the colour has one",
             "", f"A ground-truth pixel has a readable tone when its chroma C*ab >= "
             f"{TONE_MIN_CHROMA:g} and its hue angle is {TONE_HUE_RANGE[0]:g}-"
             f"{TONE_HUE_RANGE[1]:g} degrees; the rest (colour casts, tattoo ink, deep shadow) "
             "form the last row and are left out of the ratio.", "",
             "| ITA bin | GT px | " + " | ".join(METHODS) + " |",
             "|---|---:|" + "---:|" * len(METHODS)]
    keys = [f"{name}|defined" for name, _, _ in ITA_BINS]
    cells, ratios = _pixel_recalls(split, ita_pixel, keys)
    undetermined, _ = _pixel_recalls(split, ita_pixel, [UNDETERMINED])
    lines += [cells[k] + " |" for k in keys] + [undetermined[UNDETERMINED] + " |"]
    lines += ["| worst / best (tone-defined pixels) | | " + ratios + " |", ""]
    return lines


def failure_report(failure: dict) -> list[str]:
    """Tables of the dev failure analysis: one column per dataset and one pooled."""
    names = list(failure)
    pooled: dict = defaultdict(lambda: defaultdict(int))
    for dataset in names:
        for table, counts in failure[dataset].items():
            for name, n in counts.items():
                pooled[table][name] += n
    columns = [(name, failure[name]) for name in names] + [("pooled", pooled)]
    header = "| " + " | ".join(name for name, _ in columns) + " |"
    rule = "|---:" * len(columns) + "|"

    def total(table, key):
        return max(1, sum(table[key].values()))

    lines = [f"## Why fleck1996 misses skin (dev split, working size {FLECK_1996.working_size})",
             "", "One cause per missed ground-truth skin pixel, tested in this order (in % of the "
             "missed pixels; after the slash: % of the missed pixels that the Kovac rule finds):",
             "", "| cause " + header, "|---" + rule]
    for name, text in CAUSES.items():
        lines.append(f"| {text} | " + " | ".join(
            f"{_pct(t['missed'][name] / total(t, 'missed'))} / "
            f"{_pct(t['missed_but_kovac_hits'][name] / total(t, 'missed_but_kovac_hits'))}"
            for _, t in columns) + " |")
    lines.append("| missed, % of GT skin | " + " | ".join(
        _pct(sum(t["missed"].values()) / max(1, t["coverage"]["skin pixels"]))
        for _, t in columns) + " |")
    lines += ["", "Share of each cause lying within the texture window (6 SCALE) of non-skin, "
              "i.e. where the window straddles a skin boundary (%; first row: all GT skin):", "",
              "| pixels " + header, "|---" + rule,
              "| all GT skin | " + " | ".join(
                  _pct(t["coverage"]["near boundary"] / max(1, t["coverage"]["skin pixels"]))
                  for _, t in columns) + " |"]
    for name in ("sat_floor", "texture", "not_grown"):
        lines.append(f"| missed: {name} | " + " | ".join(
            _pct(t["near_boundary"][name] / max(1, t["missed"][name])) for _, t in columns) + " |")
    lines += ["", "Share of all ground-truth skin pixels passing each test (not exclusive, %):",
              "", "| test " + header, "|---" + rule]
    for name in ("stage-1 colour", "texture <= 5", "stage 1 (both)", "grown", "lenient colour",
                 "final"):
        lines.append(f"| {name} | " + " | ".join(
            _pct(t["coverage"][name] / max(1, t["coverage"]["skin pixels"]))
            for _, t in columns) + " |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/skin-accuracy.md")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--working-sizes", default="",
                        help="comma-separated sizes (H + W) or 'native' for the dev-split study, "
                             "e.g. 320,480,640,native")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many images per dataset and split (quick runs)")
    parser.add_argument("--skip-accuracy", action="store_true",
                        help="only the working-size study")
    args = parser.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"no evaluation data at {args.data} (manifest.csv missing)", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)  # timings comparable across runs and machines
    rows = manifest_rows(args.data, args.split)
    results: dict = {"split": args.split, "default_working_size": FLECK_1996.working_size,
                     "limit": args.limit}
    if not args.skip_accuracy:
        results["accuracy"] = accuracy_run(args.data, rows, limit=args.limit)
        if args.split in ("dev", "all"):
            results["uci"] = {k: c.to_dict() for k, c in uci_colour_only(args.data).items()}
    sizes = [s.strip() for s in args.working_sizes.split(",") if s.strip()]
    if sizes:
        dev_rows = manifest_rows(args.data, "dev")
        results["working_sizes"] = working_size_run(args.data, dev_rows, sizes, limit=args.limit)
    text = report(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if not args.skip_accuracy else "_sizes"
    (args.out / f"skin_accuracy{suffix}.md").write_text(text + "\n")
    (args.out / f"skin_accuracy{suffix}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/skin_accuracy.py", "docs/reports/skin-accuracy.md",
                         "Skin filter accuracy"))
