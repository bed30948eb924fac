"""bench/stability.py's counting: ever-positive images, flips, the share that changes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stability():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import stability
    finally:
        sys.path.remove(str(REPO / "bench"))
    return stability


def test_summarise_counts_flips_against_the_image_as_given(stability):
    decisions = {
        "stable positive": {"given": [True, 0.8], "array": [True, 0.8], "mirror": [True, 0.8],
                            "jpeg_q85": [True, 0.7], "crop_2pct": [True, 0.9],
                            "rescale_90": [True, 0.8], "bytes": [True, 0.8]},
        "fluke": {"given": [False, 0.25], "array": [False, 0.25], "mirror": [False, 0.25],
                  "jpeg_q85": [True, 0.6], "crop_2pct": [False, 0.25],
                  "rescale_90": [False, 0.25], "bytes": [False, 0.25]},
        "negative": {"given": [False, 0.1], "array": [False, 0.1], "mirror": [False, 0.1],
                     "jpeg_q85": [False, 0.1], "crop_2pct": [False, 0.1],
                     "rescale_90": [False, 0.1], "bytes": [False, 0.1]},
    }
    row = stability.summarise(decisions)
    assert (row["images"], row["positives"], row["ever_positive"]) == (3, 1, 2)
    assert row["ever_positive_changed"] == 1 and row["changed_share"] == 0.5
    assert row["flips"]["jpeg_q85"] == 1 and row["flips"]["crop_2pct"] == 0
    assert stability.route_score_change(decisions) == 0.0
    decisions["fluke"]["bytes"] = [False, 0.2]
    assert stability.route_score_change(decisions) == pytest.approx(0.05)


def test_cnn_scores_are_thresholded(stability):
    scores = {"a": {"given": 0.9, "jpeg_q85": 0.4, "mirror": 0.9, "crop_2pct": 0.9,
                    "rescale_90": 0.9}}
    row = stability.summarise(scores, 0.5)
    assert row["ever_positive_changed"] == 1 and row["flips"]["jpeg_q85"] == 1


def test_matched_threshold_gives_the_asked_number_of_positives(stability):
    scores = list(np.linspace(0.0, 1.0, 11))
    t = stability.matched_threshold(scores, 3)
    assert sum(s >= t for s in scores) == 3
    assert sum(s >= stability.matched_threshold(scores, 0) for s in scores) == 0


def test_every_benign_change_keeps_an_image_the_detector_can_read(stability, tmp_path):
    import fleck
    from fleck import synth

    path = tmp_path / "figure.jpg"
    path.write_bytes(synth.encode_jpeg(synth.figure(3, size=(240, 320)).image, 92))
    names = []
    for name, source in stability.variants(str(path)):
        rgb = fleck.load_image(source)
        names.append(name)
        if name == "mirror":
            assert np.array_equal(rgb, fleck.load_image(path)[:, ::-1])
        if name == "crop_2pct":
            assert rgb.shape[:2] == (236, 314)
        if name == "rescale_90":
            assert rgb.shape[:2] == (216, 288)
    assert names == ["given", *stability.ROUTES, *stability.CHANGES]
