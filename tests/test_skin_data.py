"""The skin filter and the textbook rules on real dev images with ground-truth skin masks.

Reads ``../shared/data`` (not part of the repository); every test skips when it is absent.
Floors sit well under the values measured by bench/skin_accuracy.py on the same images
(noted beside each), so they catch a broken filter, not a small regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fleck.config import FLECK_1996
from fleck.evaldata import load_pair, read_manifest
from fleck.skin import skin_filter
from fleck.skin_rules import chai_ngan_ycrcb, kovac_rgb

DATA = Path(__file__).parents[1] / ".." / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not (DATA / "manifest.csv").is_file(),
    reason=f"evaluation data not found at {DATA.resolve()} (kept outside the repository)")

SUBSET = {"pratheepan": 10, "abdomen": 30}  # first dev images of each, manifest order


@pytest.fixture(scope="module")
def pairs():
    rows = [r for r in read_manifest(DATA) if r["split"] == "dev" and r["mask"]]
    return {name: [load_pair(DATA, r) for r in rows if r["dataset"] == name][:n]
            for name, n in SUBSET.items()}


def pooled(pairs, predict):
    """Pooled (precision, recall, skin share, marked share outside skin)."""
    tp = fp = skin = pixels = 0
    for image, truth in pairs:
        predicted = predict(image, truth)
        assert predicted.shape == truth.shape and predicted.dtype == bool
        tp += int(np.count_nonzero(predicted & truth))
        fp += int(np.count_nonzero(predicted & ~truth))
        skin += int(np.count_nonzero(truth))
        pixels += truth.size
    return tp / max(1, tp + fp), tp / skin, skin / pixels, fp / (pixels - skin)


def fleck(image, truth):
    return skin_filter(image, FLECK_1996).mask_at(truth.shape)


def test_subset_is_there(pairs):
    assert [len(pairs[name]) for name in SUBSET] == list(SUBSET.values())


@pytest.mark.parametrize("dataset, min_precision, min_recall", [
    ("pratheepan", 0.35, 0.6),  # measured 0.48, 0.89; skin share 0.29
    ("abdomen", 0.7, 0.5),      # measured 0.80, 0.72; skin share 0.59
])
def test_fleck1996_beats_marking_everything(pairs, dataset, min_precision, min_recall):
    precision, recall, skin_share, _ = pooled(pairs[dataset], fleck)
    assert precision > min_precision
    assert precision > skin_share + 0.1  # marking everything skin has precision = skin share
    assert recall > min_recall


@pytest.mark.parametrize("dataset", SUBSET)
def test_fleck1996_marks_skin_more_often_than_non_skin(pairs, dataset):
    # measured: 0.89 vs 0.40 (pratheepan), 0.72 vs 0.26 (abdomen)
    _, hit_rate, _, false_alarm_rate = pooled(pairs[dataset], fleck)
    assert hit_rate > 1.8 * false_alarm_rate


def test_fleck1996_finds_no_skin_in_the_grey_versions(pairs):
    # The filter is colour-only: the same photographs without chroma must lose all skin.
    for image, _truth in pairs["pratheepan"][:3]:
        grey = np.repeat(image.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
        assert skin_filter(grey, FLECK_1996).fraction == 0.0


@pytest.mark.parametrize("rule", [chai_ngan_ycrcb, kovac_rgb])
def test_textbook_rules_work_on_rgb_photographs(pairs, rule):
    # measured on pratheepan: Kovac P 0.55 R 0.95; Chai & Ngan P 0.44 R 0.88. Given BGR
    # arrays (the classic OpenCV slip) both collapse, so this checks the channel order too.
    precision, recall, skin_share, _ = pooled(pairs["pratheepan"], lambda im, _: rule(im))
    assert recall > 0.7 and precision > skin_share + 0.08
    _, swapped_recall, _, _ = pooled(pairs["pratheepan"], lambda im, _: rule(im[..., ::-1].copy()))
    assert swapped_recall < 0.5 * recall
