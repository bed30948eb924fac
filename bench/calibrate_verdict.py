"""Choose the default review threshold (the ``review`` band of the three-way label) on dev data.

    python bench/calibrate_verdict.py [--data ../shared/data] [--figures 200] [--budget 0.05]

Every image of the evaluation data's dev split is safe (no nudity), and the synthetic figures
of ``fleck.synth`` stand in for unsafe images. The rule: the review threshold is the lowest
value on a 0.01 grid, at most the decision threshold, at which the dev photos routed to review
or unsafe (score >= threshold) stay within ``--budget`` (5 %) pooled over the dev images. A
review queue must stay small to be looked at; within that, the band should catch as many of
the figures the rule misses as it can. The script reports, per dataset, the share of images at
or above the chosen value, the figures' recall there and at the decision threshold, and the
synthetic controls' share (reported only, not used by the rule).

It writes ``docs/reports/verdict-calibration.md`` and says whether the value in
``fleck.config.VerdictConfig`` still matches (re-run it when the detector's scores change).
Heldout data are never read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
from fleck import synth  # noqa: E402
from fleck.config import CONFIGS, VerdictConfig, get_config  # noqa: E402
from fleck.detector import Detector  # noqa: E402
from fleck.errors import ImageError  # noqa: E402
from fleck.evaldata import read_manifest  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GRID = 0.01


def dev_scores(detector: Detector, data: Path) -> dict[str, np.ndarray]:
    """Scores of every dev image, by dataset."""
    scores: dict[str, list[float]] = defaultdict(list)
    for row in read_manifest(data):
        if row.get("split") != "dev" or not row.get("image", "").lower().endswith(IMAGE_SUFFIXES):
            continue
        try:
            scores[row["dataset"]].append(detector.detect(str(data / row["image"])).score)
        except ImageError as err:
            print(f"skipped: {err}", file=sys.stderr)
    return {name: np.array(values) for name, values in sorted(scores.items())}


def synthetic_scores(detector: Detector, n: int, kinds) -> np.ndarray:
    return np.array([detector.detect(s.image).score
                     for s in synth.generate(n, kinds=kinds, size=(480, 640))])


def choose(negatives: np.ndarray, decision_threshold: float, budget: float) -> float:
    """The lowest grid value (<= the decision threshold) flagging at most ``budget`` of the
    negatives.

    >>> choose(np.array([0.1, 0.25, 0.25, 0.3, 0.6]), 0.5, 0.4)
    0.26
    """
    steps = int(round(decision_threshold / GRID))
    for k in range(steps + 1):
        value = round(k * GRID, 2)
        if np.mean(negatives >= value) <= budget:
            return value
    return decision_threshold


def share(values: np.ndarray, threshold: float) -> float:
    return float(np.mean(values >= threshold)) if len(values) else float("nan")


def report(dev: dict[str, np.ndarray], figures: np.ndarray, controls: np.ndarray, *,
           chosen: float, decision: float, budget: float, config: str) -> str:
    pooled = np.concatenate(list(dev.values()))
    current = VerdictConfig().review_threshold
    lines = [
        "# Choosing the review threshold",
        "",
        "Written by `python bench/calibrate_verdict.py` "
        f"(configuration `{config}`). Every image of the evaluation data's dev "
        "split is safe; synthetic figures (`fleck.synth`) stand in for unsafe images.",
        "",
        f"Rule: the lowest threshold on a {GRID:g} grid, at most the decision threshold "
        f"({decision:g}), that sends at most {100 * budget:g} % of the dev images (pooled) to "
        "review or unsafe.",
        "",
        f"**Chosen: {chosen:.2f}** (the configuration ships {current:.2f}"
        + (")." if abs(current - chosen) < 1e-9 else "; update `VerdictConfig.review_threshold`)."),
        "",
        "| images | n | score >= chosen | score >= decision |",
        "|---|---:|---:|---:|",
    ]
    for name, values in dev.items():
        lines.append(f"| dev: {name} | {len(values)} | {100 * share(values, chosen):.1f} % | "
                     f"{100 * share(values, decision):.1f} % |")
    lines += [
        f"| **dev, pooled** | {len(pooled)} | **{100 * share(pooled, chosen):.1f} %** | "
        f"{100 * share(pooled, decision):.1f} % |",
        f"| synthetic controls (not used) | {len(controls)} | "
        f"{100 * share(controls, chosen):.1f} % | {100 * share(controls, decision):.1f} % |",
        f"| **synthetic figures** (recall) | {len(figures)} | "
        f"**{100 * share(figures, chosen):.1f} %** | {100 * share(figures, decision):.1f} % |",
        "",
        "Share of images at or above each threshold. How the dev share and the figures' recall "
        "move with the threshold:",
        "",
        "| threshold | dev pooled | figures |",
        "|---:|---:|---:|",
    ]
    for value in sorted({0.1, 0.2, 0.25, 0.26, 0.3, 0.35, 0.4, 0.45, chosen, decision}):
        lines.append(f"| {value:.2f} | {100 * share(pooled, value):.1f} % | "
                     f"{100 * share(figures, value):.1f} % |")
    plateau = float(np.mean(np.isclose(pooled, 0.25)))
    lines += [
        "",
        "The score is coarse below the decision threshold: an image whose skin passes the "
        f"filter but which has no limb and no group scores exactly 0.25, and {100 * plateau:.0f} % "
        "of the dev images do (bare-midriff close-ups, faces). A review threshold at or below "
        "0.25 sends them all to review; the band above it holds the images with at least one "
        "limb or some group coverage.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--figures", type=int, default=200)
    parser.add_argument("--controls", type=int, default=100)
    parser.add_argument("--budget", type=float, default=0.05)
    parser.add_argument("--config", choices=tuple(CONFIGS), default="fleck1996")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reports" /
                        "verdict-calibration.md")
    args = parser.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"no evaluation data at {args.data} (manifest.csv)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    config = get_config(args.config)
    detector = Detector(config)
    dev = dev_scores(detector, args.data)
    figures = synthetic_scores(detector, args.figures, ["figure"])
    controls = synthetic_scores(detector, args.controls, list(synth.CONTROLS))
    decision = config.geometry.decision_threshold
    chosen = choose(np.concatenate(list(dev.values())), decision, args.budget)
    text = report(dev, figures, controls, chosen=chosen, decision=decision, budget=args.budget,
                  config=args.config)
    os.makedirs(args.out.parent, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
