"""What the CNNs look at: is R. Compton's 2016 finding (an NSFW CNN attends to navels and red
lips) true of today's public models? Measured on the evaluation data in ``../shared/data``.

Regions (ground truth, nothing tuned):

* ``abdomen/`` (bare midriffs): **navel** = disks of radius 18 px around the hand-marked navel
  centres of ``bench/data/navel_points.csv`` (see ``bench/data/README.md``); **bare abdomen** =
  the set's skin mask (> 127).
* ``fasseg_frontal02`` (frontal faces): **lips** = the mouth/lips label (0, 255, 0); **face** =
  skin, nose, lips and eyes labels (hair, eyebrows and background left out). Each label pixel is
  snapped to the nearest of the six label colours first (the edges are anti-aliased).

Per image and model (open_nsfw, NudeNet; fleck's own evidence as a reference):

* **attribution share** of a region: the map's mass inside it / the map's total mass, for the
  deconvnet, guided-backprop and Grad-CAM maps of ``fleck.saliency``; the **area share** is the
  region's fraction of the image. A model that ignores the region scores its area share.
* **occlusion**: the score drop when the region alone is painted grey (128), and the mean drop
  over 4 *random* occlusions of equal area and shape (the region's mask shifted by a random
  offset, wrapping round the borders). Scores are the continuous ones the maps explain:
  open_nsfw's nsfw probability, NudeNet's highest exposed-class probability over its anchors
  (its detections need >= 0.2, so its reported score is 0 on almost all of these images),
  fleck's score.

Every CNN map is made only after the PyTorch run of the ONNX graph has been checked against
onnxruntime (|delta| <= 1e-4 on probabilities and score); the largest delta is reported.
Means over images come with 95 % percentile bootstrap intervals (images resampled).

The speed section times each map on a 640 x 480 image with one thread (PyTorch and
onnxruntime), interleaved, against one onnxruntime forward pass of the same model.

Usage (from the repository root; needs ``pip install -e ".[saliency,cnn]"``)::

    nice -n 10 python bench/what_cnns_look_at.py             # 24 + 24 images, a few minutes
    nice -n 10 python bench/what_cnns_look_at.py --all --report

``--report [PAGE]`` writes the results (also printed) as this script's block of
``docs/reports/what-cnns-look-at.md`` (bench/_report.py: the block's header records the command,
commit, date, machine and load); ``--csv`` writes the per-image values.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import _report  # noqa: E402  (bench/_report.py: the documentation's report pages)

PAGE = "docs/reports/what-cnns-look-at.md"
SCRIPT = "bench/what_cnns_look_at.py"

DATA = REPO.parent / "shared" / "data"
NAVELS = REPO / "bench" / "data" / "navel_points.csv"
NAVEL_RADIUS = 18  # px in the 227 x 227 crops: about the annotation error plus a navel's size
FASSEG_COLOURS = {"skin": (255, 255, 0), "hair": (127, 0, 0), "background": (255, 0, 0),
                  "nose": (0, 255, 255), "lips": (0, 255, 0), "eyes": (0, 0, 255)}
FACE_PARTS = ("skin", "nose", "lips", "eyes")
MODELS = ("open_nsfw", "nudenet", "fleck")
EDGES = "image edges"  # reference "map": the image's gradient magnitude, no model at all
METHODS = ("deconvnet", "guided_backprop", "gradcam")
PARENT = {"navel": "bare abdomen", "lips": "face"}  # the small region lies inside the parent
FILL = 128
N_RANDOM = 4
TOLERANCE = 1e-4


# ------------------------------------------------------------------------------------ the data
def abdomen_items(root: Path) -> list[dict]:
    points: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with open(NAVELS, newline="") as fh:
        for row in csv.DictReader(fh):
            points[row["image"]].append((int(row["row"]), int(row["col"])))
    masks = {r["image"]: r["mask"] for r in _manifest(root) if r["dataset"] == "abdomen"}
    items = []
    for image, centres in points.items():
        items.append({"set": "abdomen", "image": image, "mask": masks[image], "navels": centres})
    return items


def fasseg_items(root: Path) -> list[dict]:
    return [{"set": "fasseg", "image": r["image"],
             "labels": r["image"].replace("/images/", "/labels/")}
            for r in _manifest(root) if r["dataset"] == "fasseg_frontal02"]


def _manifest(root: Path) -> list[dict]:
    with open(root / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def load_item(root: Path, item: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The RGB image and its regions {name: bool mask}."""
    image = np.asarray(Image.open(root / item["image"]).convert("RGB"))
    rows, cols = image.shape[:2]
    if item["set"] == "abdomen":
        mask = np.asarray(Image.open(root / item["mask"]))
        skin = (mask[..., 0] if mask.ndim == 3 else mask) > 127
        navel = np.zeros((rows, cols), np.uint8)
        for r, c in item["navels"]:
            cv2.circle(navel, (c, r), NAVEL_RADIUS, 1, -1)
        return image, {"navel": navel.astype(bool), "bare abdomen": skin}
    labels = np.asarray(Image.open(root / item["labels"]).convert("RGB")).astype(np.int32)
    palette = np.array(list(FASSEG_COLOURS.values()), np.int32)
    nearest = np.argmin(((labels[:, :, None, :] - palette) ** 2).sum(-1), axis=-1)
    names = list(FASSEG_COLOURS)
    lips = nearest == names.index("lips")
    face = np.isin(nearest, [names.index(p) for p in FACE_PARTS])
    return image, {"lips": lips, "face": face}


# ---------------------------------------------------------------------------- the measurement
def random_shifts(region: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    rows, cols = region.shape
    return [np.roll(region, (int(rng.integers(rows)), int(rng.integers(cols))), axis=(0, 1))
            for _ in range(n)]


def shifts_within(region: np.ndarray, parent: np.ndarray, rng: np.random.Generator, n: int,
                  attempts: int = 200) -> list[np.ndarray]:
    """Up to ``n`` shifts of ``region`` that fall inside ``parent`` (>= 95 % of the pixels)
    and overlap the original by < 5 %: hiding as much *other* skin (or face)."""
    rows, cols = region.shape
    area = max(1, int(region.sum()))
    found = []
    for _ in range(attempts):
        moved = np.roll(region, (int(rng.integers(rows)), int(rng.integers(cols))), axis=(0, 1))
        if (moved & parent).sum() >= 0.95 * area and (moved & region).sum() < 0.05 * area:
            found.append(moved)
            if len(found) == n:
                break
    return found


def occluded(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[region] = FILL
    return out


class Scorers:
    """The continuous score of each model (onnxruntime for the CNNs)."""

    def __init__(self, threads: int) -> None:
        import fleck
        from fleck.saliency.peers import get_peer

        self.peers = {m: get_peer(m, threads=threads) for m in ("open_nsfw", "nudenet")}
        self.detector = fleck.Detector()

    def __call__(self, model: str, image: np.ndarray) -> float:
        if model == "fleck":
            return float(self.detector.score(image))
        return float(self.peers[model].continuous_score(image))


def measure(root: Path, items: list[dict], threads: int, seed: int,
            progress: bool) -> tuple[list[dict], float]:
    from fleck.saliency import explain_all

    scorers = Scorers(threads)
    rows, worst = [], 0.0
    for n, item in enumerate(items):
        image, regions = load_item(root, item)
        rng = np.random.default_rng([seed, n])
        shifts = {name: random_shifts(mask, rng, N_RANDOM) for name, mask in regions.items()}
        inside = {name: shifts_within(mask, regions[PARENT[name]], rng, N_RANDOM)
                  for name, mask in regions.items() if name in PARENT}
        for model in MODELS:
            maps = explain_all(image, model=model, methods=METHODS, threads=threads)
            check = maps["gradcam"].check
            if check:
                worst = max(worst, check["max_delta"], check["score_delta"])
            base = scorers(model, image)
            for region, mask in regions.items():
                row = {"set": item["set"], "image": item["image"], "model": model,
                       "region": region, "area": float(mask.mean()), "score": base}
                for method in METHODS:
                    values = np.asarray(maps[method].map, np.float64)
                    total = values.sum()
                    row[method] = float(values[mask].sum() / total) if total > 0 else np.nan
                row["drop_targeted"] = base - scorers(model, occluded(image, mask))
                row["drop_random"] = float(np.mean(
                    [base - scorers(model, occluded(image, m)) for m in shifts[region]]))
                if region in PARENT:
                    drops = [base - scorers(model, occluded(image, m)) for m in inside[region]]
                    row["drop_within"] = float(np.mean(drops)) if drops else np.nan
                    parent = regions[PARENT[region]]
                    row["parent_area"] = float(parent.mean())
                    for method in METHODS:
                        values = np.asarray(maps[method].map, np.float64)
                        total = values.sum()
                        row[method + "_parent"] = (float(values[parent].sum() / total)
                                                   if total > 0 else np.nan)
                rows.append(row)
        rows += edge_rows(item, image, regions)
        if progress:
            print(f"\r{n + 1}/{len(items)} images", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return rows, worst


def edge_map(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the grey image: where any edge-following map would look."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def edge_rows(item: dict, image: np.ndarray, regions: dict[str, np.ndarray]) -> list[dict]:
    values = edge_map(image).astype(np.float64)
    total = values.sum()
    rows = []
    for region, mask in regions.items():
        share = float(values[mask].sum() / total) if total > 0 else np.nan
        row = {"set": item["set"], "image": item["image"], "model": EDGES, "region": region,
               "area": float(mask.mean()), "score": np.nan, "drop_targeted": np.nan,
               "drop_random": np.nan, **{m: share for m in METHODS}}
        if region in PARENT:
            parent = regions[PARENT[region]]
            row["parent_area"] = float(parent.mean())
            row["drop_within"] = np.nan
            parent_share = float(values[parent].sum() / total) if total > 0 else np.nan
            row.update({m + "_parent": parent_share for m in METHODS})
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------- the statistics
def bootstrap(values: np.ndarray, stat, n_boot: int, rng: np.random.Generator):
    """stat(values) and its 95 % percentile interval over resampled rows (images)."""
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN draws give NaN, not noise
        point = stat(values)
        index = rng.integers(0, len(values), (n_boot, len(values)))
        draws = np.array([stat(values[i]) for i in index])
        low, high = np.nanpercentile(draws, [2.5, 97.5]) if np.isfinite(draws).any() \
            else (np.nan, np.nan)
    return float(point), float(low), float(high)


def _mean(v):
    return float(np.nanmean(v, axis=0)) if np.ndim(v) == 1 else np.nanmean(v, axis=0)


def summarise(rows: list[dict], n_boot: int, seed: int) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    edges: dict[tuple, dict] = {}
    for row in rows:
        groups[(row["model"], row["set"], row["region"])].append(row)
        if row["model"] == EDGES:
            edges[(row["image"], row["region"])] = row
    out = []
    for (model, dataset, region), members in groups.items():
        rng = np.random.default_rng(seed)
        area = np.array([m["area"] for m in members])
        entry = {"model": model, "set": dataset, "region": region, "n": len(members),
                 "area": bootstrap(area, _mean, n_boot, rng)}
        for method in METHODS:
            share = np.array([m[method] for m in members])
            entry[method] = bootstrap(share, _mean, n_boot, rng)
            pair = np.stack([share, area], axis=1)
            entry[method + "_ratio"] = bootstrap(
                pair, lambda p: np.nanmean(p[:, 0]) / np.mean(p[:, 1]), n_boot, rng)
        targeted = np.array([m["drop_targeted"] for m in members])
        random = np.array([m["drop_random"] for m in members])
        entry["drop_targeted"] = bootstrap(targeted, _mean, n_boot, rng)
        entry["drop_random"] = bootstrap(random, _mean, n_boot, rng)
        entry["drop_difference"] = bootstrap(targeted - random, _mean, n_boot, rng)
        entry["score"] = float(np.mean([m["score"] for m in members]))
        if region in PARENT:
            parent_area = np.array([m["parent_area"] for m in members])
            for method in METHODS:
                quad = np.stack([[m[method] for m in members],
                                 [m[method + "_parent"] for m in members], area, parent_area], 1)
                entry[method + "_vs_parent"] = bootstrap(
                    quad, lambda q: (np.nanmean(q[:, 0]) / np.nanmean(q[:, 1]))
                    / (np.mean(q[:, 2]) / np.mean(q[:, 3])), n_boot, rng)
            for method in METHODS:  # the region's preference, relative to the edges'
                quad = np.stack([[m[method] for m in members],
                                 [m[method + "_parent"] for m in members],
                                 [edges[(m["image"], region)][method] for m in members],
                                 [edges[(m["image"], region)][method + "_parent"]
                                  for m in members]], 1)
                entry[method + "_vs_edges"] = bootstrap(
                    quad, lambda q: (np.nanmean(q[:, 0]) / np.nanmean(q[:, 1]))
                    / (np.nanmean(q[:, 2]) / np.nanmean(q[:, 3])), n_boot, rng)
            within = np.array([m["drop_within"] for m in members])
            ok = ~np.isnan(within)
            entry["n_within"] = int(ok.sum())
            entry["drop_targeted_within"] = bootstrap(targeted[ok], _mean, n_boot, rng)
            entry["drop_within"] = bootstrap(within[ok], _mean, n_boot, rng)
            entry["drop_vs_within"] = bootstrap(targeted[ok] - within[ok], _mean, n_boot, rng)
        out.append(entry)
    order = {m: i for i, m in enumerate((*MODELS, EDGES))}
    return sorted(out, key=lambda e: (order[e["model"]], e["set"], e["region"]))


# ------------------------------------------------------------------------------------- speed
def speed(threads: int, repeats: int) -> list[dict]:
    """Seconds per map on a 640 x 480 image, interleaved with one onnxruntime forward pass."""
    import torch

    from fleck.saliency import explain, peers
    from fleck.saliency.peers import get_peer

    torch.set_num_threads(threads)
    sample = REPO / "data_samples" / "figure_02_medium_arms_raised.jpg"
    image = cv2.resize(np.asarray(Image.open(sample).convert("RGB")), (640, 480),
                       interpolation=cv2.INTER_LINEAR)
    peers._PEERS.clear()  # so that the first call reads the graph and builds both sessions
    out = []
    for model in ("open_nsfw", "nudenet"):
        clock = time.perf_counter()
        explain(image, model=model, method="deconvnet", threads=threads)
        first = time.perf_counter() - clock
        inputs, _ = get_peer(model, threads=threads).prepare(image)
        times: dict[str, list[float]] = defaultdict(list)
        for _ in range(repeats):
            for method in ("forward", *METHODS):
                clock = time.perf_counter()
                if method == "forward":
                    get_peer(model, threads=threads).onnx_output(inputs)
                else:
                    explain(image, model=model, method=method, threads=threads)
                times[method].append(time.perf_counter() - clock)
        forward = statistics.median(times["forward"])
        for method in METHODS:
            seconds = statistics.median(times[method])
            out.append({"model": model, "method": method, "seconds": seconds,
                        "ratio": seconds / forward, "forward": forward,
                        "first": first if method == "deconvnet" else None})
    return out


# ------------------------------------------------------------------------------------ report
def _ci(cell, digits=3, percent=False) -> str:
    if cell is None or not np.isfinite(cell[0]):
        return "–"
    value, low, high = cell
    if percent:
        return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


_LABEL = {"deconvnet": "deconvnet", "guided_backprop": "guided backprop",
          "gradcam": "Grad-CAM"}


def verdict(summary: list[dict]) -> list[str]:
    """Plain sentences: for each CNN and Compton region, whether the finding holds."""
    lines: list[str] = []
    words: list[str] = []
    occluded_more: list[bool] = []
    for entry in summary:
        if entry["model"] not in ("open_nsfw", "nudenet") or entry["region"] not in PARENT:
            continue
        region = entry["region"]
        around = "the rest of the bare abdomen" if region == "navel" else "the rest of the face"
        # Pixel-level gradient maps must also beat the image's edges; Grad-CAM (7 x 7 to
        # 40 x 40 cells, no edge detector) is judged against the surroundings alone.
        enriched = [_LABEL[m] for m in METHODS if entry[m + "_vs_parent"][1] > 1
                    and (m == "gradcam" or entry[m + "_vs_edges"][1] > 1)]
        edge_like = [_LABEL[m] for m in METHODS if entry[m + "_vs_parent"][1] > 1
                     and m != "gradcam" and not entry[m + "_vs_edges"][1] > 1]
        depleted = [_LABEL[m] for m in METHODS if entry[m + "_vs_parent"][2] < 1]
        name = {"open_nsfw": "open_nsfw", "nudenet": "NudeNet"}[entry["model"]]
        if enriched:
            maps = (f"{' and '.join(enriched)} put more attribution per pixel on the {region} "
                    f"than on {around} (95 % lower bound above 1; for the pixel-level maps "
                    "also more than the image's own edges do)")
        else:
            maps = (f"no map puts significantly more attribution per pixel on the {region} "
                    f"than on {around}")
        if edge_like:
            verb = "favours" if len(edge_like) == 1 else "favour"
            maps += (f"; {' and '.join(edge_like)} {verb} the {region}, but no more than the "
                     "image's edges do (an edge detector would too)")
        if depleted:
            verb = "puts" if len(depleted) == 1 else "put"
            maps += f"; {' and '.join(depleted)} {verb} significantly less on it"
        diff = entry["drop_vs_within"]
        if diff[1] > 0:
            occ = (f"hiding the {region} lowers the score more than hiding as much of {around}"
                   f" (difference {_ci(diff)})")
        elif diff[2] < 0:
            occ = (f"hiding the {region} lowers the score *less* than hiding as much of "
                   f"{around} (difference {_ci(diff)})")
        else:
            occ = (f"hiding the {region} changes the score no more than hiding as much of "
                   f"{around} (difference {_ci(diff)})")
        anywhere = entry["drop_difference"]
        occ += (f"; against as much random area anywhere in the image the difference is "
                f"{_ci(anywhere)}")
        holds_maps, holds_occ = bool(enriched), diff[1] > 0
        word = ("holds" if holds_maps and holds_occ else
                "partly holds" if holds_maps or holds_occ else "does not hold")
        words.append(word)
        occluded_more.append(holds_occ)
        lines.append(f"- **{name}, {region}: the finding {word}.** {maps[0].upper() + maps[1:]}"
                     f"; {occ}. Mean score on these images {entry['score']:.3f}.")
    if words and not any(occluded_more):
        lines.insert(0, "**In short: the 2016 finding does not hold in full for today's public "
                        "models.** For neither open_nsfw nor NudeNet, and neither the navel nor "
                        "the lips, does hiding the region lower the score more than hiding as "
                        "much of the skin or face around it; where their gradient maps favour "
                        "the region, the score does not depend on it more than on its "
                        "surroundings.")
        lines.insert(1, "")
    elif words:
        lines.insert(0, f"**In short: the 2016 finding holds in {words.count('holds')} of "
                        f"{len(words)} model-region cases** (below).")
        lines.insert(1, "")
    return lines


def report(summary, speeds, worst, n_checked, meta) -> str:
    lines = [
        f"Images: bare midriffs (`abdomen/`, {meta['n_abdomen']} images with hand-marked "
        f"navels) and frontal faces (`fasseg_frontal02`, {meta['n_faces']} images with lip "
        f"labels); {meta['selection']}. PyTorch {meta['torch']}, onnxruntime "
        f"{meta['onnxruntime']}; "
        f"load average {meta['load_before']:.1f} at the start, {meta['load_after']:.1f} at the "
        "end (2 cores shared with other work: the timings are ratios to a forward pass "
        "measured in the same run; re-measure on an idle machine for absolute seconds).",
        "",
        f"Converted-model check: the PyTorch runs of both ONNX graphs matched onnxruntime on "
        f"every image used ({n_checked} images x 2 models): largest difference in a "
        f"probability or score {worst:.1e} (target <= 1e-4).",
        "",
        "## Verdict",
        "",
        *verdict(summary),
        "",
        "A finding *holds* when some map puts significantly more attribution per pixel on the "
        "navel (lips) than on the rest of the bare abdomen (face) **and** hiding the navel "
        "(lips) lowers the score significantly more than hiding as much of the surrounding "
        "skin (face); *partly* when one of the two is true. The comparison with the "
        "surroundings matters: both CNNs attend to skin in general, so a region of skin gets "
        "more than its share of the whole image anyway.",
        "",
        "## The navel and the lips against their surroundings",
        "",
        "*x around*: attribution per pixel in the region / attribution per pixel in the "
        "surrounding region (bare abdomen for the navel, face for the lips), from the means "
        "over images (1 = no preference). Occlusion: score drop when the region is painted "
        f"grey vs the mean drop over up to {N_RANDOM} shifts of the same mask that fall inside "
        "the surrounding region (images where no such shift exists are left out: *n occl.*).",
        "",
        "*x edges*: that preference divided by the preference of the image's own edges (Sobel "
        "gradient magnitude, no model): above 1, the map favours the region more than an edge "
        "detector would. Gradient maps follow edges, and navels and lips are edgy, so this is "
        "the fair baseline for deconvnet and guided backprop.",
        "",
        "| model | region | n | deconvnet x around | x edges | guided backprop x around | "
        "x edges | Grad-CAM x around | x edges | n occl. | drop, region | drop, surroundings | "
        "difference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {e['model']} | {e['region']} | {e['n']} | "
          + " | ".join(f"{_ci(e[m + '_vs_parent'], 2)} | {_ci(e.get(m + '_vs_edges'), 2)}"
                       for m in METHODS)
          + f" | {e['n_within']} | {_ci(e['drop_targeted_within'])} | "
            f"{_ci(e['drop_within'])} | {_ci(e['drop_vs_within'])} |"
          for e in summary if e["region"] in PARENT and e["model"] != EDGES],
        *[f"| {e['model']} (reference) | {e['region']} | {e['n']} | "
          + " | ".join(f"{_ci(e[m + '_vs_parent'], 2)} | 1" for m in METHODS)
          + " | – | – | – | – |"
          for e in summary if e["region"] in PARENT and e["model"] == EDGES],
        "",
        "## Attribution share vs area share",
        "",
        "Mean over images, in %, with 95 % bootstrap intervals. *x area*: mean attribution "
        "share / mean area share (1 = the region gets what its size alone would give). "
        "*image edges*: the Sobel gradient magnitude of the image, the same in every column.",
        "",
        "| model | set | region | n | area % | deconvnet % | x area | guided backprop % | "
        "x area | Grad-CAM % | x area |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        cells = [e["model"], e["set"], e["region"], str(e["n"]), _ci(e["area"], percent=True)]
        for method in METHODS:
            cells += [_ci(e[method], percent=True), _ci(e[method + "_ratio"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Occlusion: the region vs as much random area anywhere",
        "",
        f"Score drop when the region is painted grey ({FILL}) vs the mean drop over "
        f"{N_RANDOM} random shifts of the same mask; mean over images with 95 % intervals. "
        "Scores: open_nsfw's nsfw probability, NudeNet's highest exposed-class probability, "
        "fleck's score.",
        "",
        "| model | set | region | mean score | drop, region | drop, random | difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        if e["model"] == EDGES:
            continue
        lines.append(f"| {e['model']} | {e['set']} | {e['region']} | {e['score']:.3f} | "
                     f"{_ci(e['drop_targeted'])} | {_ci(e['drop_random'])} | "
                     f"{_ci(e['drop_difference'])} |")
    if speeds:
        lines += [
            "",
            "## Speed: one map of a 640 x 480 image, one CPU thread",
            "",
            f"Median of {meta['repeats']} interleaved runs of `fleck.explain` (preparation, "
            "PyTorch forward and backward, mapping back, and the onnxruntime check), against "
            "one onnxruntime forward pass of the same model. Target: <= 2 s per map. *first "
            "call*: the first map of a model in the process (a deconvnet map), which also reads "
            "the ONNX file and builds the onnxruntime session and the PyTorch graph.",
            "",
            "| model | method | seconds | x forward pass | forward pass s | first call s |",
            "|---|---|---|---|---|---|",
        ]
        for s in speeds:
            first = "–" if s["first"] is None else f"{s['first']:.2f}"
            lines.append(f"| {s['model']} | {s['method']} | {s['seconds']:.2f} | "
                         f"{s['ratio']:.1f} | {s['forward']:.3f} | {first} |")
    lines += [
        "",
        "## Method",
        "",
        f"- Navel region: disks of radius {NAVEL_RADIUS} px around the navel centres marked by "
        "hand in `bench/data/navel_points.csv` (first 64 images of each abdomen split; 8 "
        "without a clear navel left out). Bare abdomen: the set's skin mask.",
        "- Lips: FASSEG's mouth/lips label; face: its skin, nose, lips and eyes labels.",
        "- Maps: `fleck.explain_all(image, model, ['deconvnet', 'guided_backprop', 'gradcam'])`"
        ". Deconvnet and guided backprop are summed absolute gradients over colour channels "
        "of the model's log-odds target, Grad-CAM is at open_nsfw's last residual block and "
        "at the NudeNet neck output feeding the strongest exposed-class anchor.",
        f"- Random occlusion: the region's mask rolled by a random (row, col) offset, wrapping "
        f"round, {N_RANDOM} draws per image (seeded); same area and shape.",
        f"- Intervals: {meta['bootstrap']} bootstrap resamples of the images, percentile, "
        f"seed {meta['seed']}. Images: {meta['selection']}.",
        "- The abdomen split `val` and FASSEG are held-out data: nothing here is tuned, "
        "so reporting on them is fine.",
        "",
    ]
    return "\n".join(lines)


def _meta(args, n_abdomen, n_faces) -> dict:
    import onnxruntime
    import torch
    return {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
            "all": args.all, "n_abdomen": n_abdomen, "n_faces": n_faces,
            "bootstrap": args.bootstrap, "seed": args.seed, "repeats": args.repeats,
            "load_before": os.getloadavg()[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--abdomen", type=int, default=24, help="abdomen images (default 24)")
    parser.add_argument("--faces", type=int, default=24, help="FASSEG images (default 24)")
    parser.add_argument("--all", action="store_true",
                        help="every annotated abdomen image and every FASSEG image")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="speed runs per map (0 = skip)")
    _report.add_report_option(parser, PAGE)
    parser.add_argument("--csv", type=Path, help="write the per-image values here")
    args = parser.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"evaluation data not found at {args.data} (kept outside the repository); "
              "give --data", file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    abdomen, faces = abdomen_items(args.data), fasseg_items(args.data)
    rng = np.random.default_rng(args.seed)
    if not args.all:
        abdomen = [abdomen[i] for i in sorted(rng.choice(len(abdomen), min(args.abdomen,
                                                                          len(abdomen)), False))]
        faces = [faces[i] for i in sorted(rng.choice(len(faces), min(args.faces, len(faces)),
                                                     False))]
        selection = (f"{len(abdomen)} of the annotated abdomen images and {len(faces)} of the "
                     f"FASSEG images drawn at random (seed {args.seed})")
    else:
        selection = "all annotated abdomen images and all FASSEG images"
    meta = _meta(args, len(abdomen), len(faces))
    meta["selection"] = selection
    started = time.perf_counter()
    rows, worst = measure(args.data, abdomen + faces, args.threads, args.seed,
                          progress=sys.stderr.isatty())
    measured = time.perf_counter() - started
    if worst > TOLERANCE:
        print(f"converted-model check failed: {worst:.2e} > {TOLERANCE}", file=sys.stderr)
        return 1
    summary = summarise(rows, args.bootstrap, args.seed)
    speeds = speed(args.threads, args.repeats) if args.repeats else []
    meta["load_after"] = os.getloadavg()[0]
    text = report(summary, speeds, worst, len(abdomen) + len(faces), meta)
    print(text)
    print(f"(measured {len(abdomen) + len(faces)} images in {measured:.0f} s)", file=sys.stderr)
    if args.report:
        _report.write_block(args.report, SCRIPT, text, title="What the CNNs look at",
                            argv=sys.argv[1:] if argv is None else argv)
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
