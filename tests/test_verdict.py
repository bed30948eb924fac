"""The three-way label and calibrated thresholds (fleck.verdict, FleckConfig.verdict)."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

import fleck
import fleck.verdict
from fleck import synth
from fleck.config import FLECK_1996, VerdictConfig, describe, provenance
from fleck.verdict import Thresholds, apply_thresholds, cut, read_thresholds, verdict_label


def test_doctests():
    assert doctest.testmod(fleck.verdict).failed == 0


@pytest.mark.parametrize("score, expected", [(0.0, "safe"), (0.2599, "safe"), (0.26, "review"),
                                             (0.4999, "review"), (0.5, "unsafe"), (1.0, "unsafe")])
def test_label_bands(score, expected):
    assert verdict_label(score, 0.5, 0.26) == expected


def test_no_review_band_without_or_above_the_unsafe_threshold():
    assert verdict_label(0.4, 0.5) == "safe"
    assert verdict_label(0.4, 0.5, 0.6) == "safe"


def test_cut_keeps_the_rule_without_calibration_and_caps_the_review_band():
    plain = cut(0.3, False, 0.5, "why")
    assert (plain.decision, plain.threshold, plain.reason) == (False, 0.5, "why")
    assert plain.review_threshold == VerdictConfig().review_threshold
    low = cut(0.3, False, 0.5, "why", VerdictConfig(unsafe_threshold=0.28, review_threshold=0.4))
    assert low.decision and low.threshold == 0.28 and low.review_threshold == 0.28
    assert "0.300 >= calibrated threshold 0.280" in low.reason
    with pytest.raises(ValueError, match="review_threshold"):
        VerdictConfig(review_threshold=1.5)


def test_calibrated_threshold_changes_the_cut_not_the_score():
    image = synth.figure(1, size=(240, 320)).image
    plain = fleck.detect(image)
    assert plain.decision and plain.label == "unsafe"
    above = plain.score + 0.01
    strict = fleck.Detector(FLECK_1996.replace(verdict={"unsafe_threshold": above,
                                                        "review_threshold": 0.3})).detect(image)
    assert strict.score == plain.score and strict.threshold == above
    assert not strict.decision and strict.label == "review"
    assert strict.summary()["label"] == "review" and strict.summary()["review_threshold"] == 0.3
    assert "calibrated threshold" in strict.reason


def test_labels_of_a_batch_follow_score_and_thresholds():
    detector = fleck.Detector()
    review = FLECK_1996.verdict.review_threshold
    for scene in synth.generate(12, size=(120, 160)):
        d = detector.detect(scene.image)
        assert d.decision == (d.score >= d.threshold) == (d.label == "unsafe")
        assert (d.label == "review") == (review <= d.score < d.threshold)


def _write(tmp_path, document) -> str:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_read_thresholds_and_apply(tmp_path):
    path = _write(tmp_path, {
        "schema": 1, "prevalence": {"value": 0.02},
        "targets": {"unsafe": {"precision": 0.9}, "review": {"recall": 0.95}},
        "detectors": {"fleck": {"config": "fleck1996", "unsafe": {"threshold": 0.62},
                                "review": {"threshold": 0.71}},
                      "open_nsfw": {"unsafe": {"threshold": 0.8}, "review": {"threshold": 0.1}}}})
    t = read_thresholds(path)
    assert (t.unsafe, t.review, t.config, t.prevalence) == (0.62, 0.62, "fleck1996", 0.02)
    assert read_thresholds(path, detector="open_nsfw").unsafe == 0.8
    config = apply_thresholds(FLECK_1996, t)
    assert config.verdict.unsafe_threshold == 0.62 and config.skin == FLECK_1996.skin
    why = provenance(config.verdict, "unsafe_threshold")
    assert path in why and "precision 0.9" in why and "prevalence 0.02" in why
    rows = {name: value for name, value, _ in describe(config)}
    assert rows["verdict.unsafe_threshold"] == 0.62


@pytest.mark.parametrize("document, message", [
    ({"detectors": {"fleck": {"unsafe": {"threshold": None, "note": "precision 0.9 not reached"},
                              "review": {"threshold": 0.2}}}}, "precision 0.9 not reached"),
    ({"detectors": {"open_nsfw": {}}}, "no thresholds for 'fleck'"),
    ({"rows": []}, "not a thresholds file"),
    ({"schema": 99, "detectors": {}}, "newer"),
])
def test_read_thresholds_refuses_clearly(tmp_path, document, message):
    path = _write(tmp_path, document)
    with pytest.raises(ValueError, match=message) as caught:
        read_thresholds(path)
    assert str(caught.value).startswith(path)


def test_read_thresholds_not_json(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text("{nope")
    with pytest.raises(ValueError, match="not JSON"):
        read_thresholds(path)


def test_thresholds_dataclass_is_what_apply_reads():
    t = Thresholds("fleck", unsafe=0.4, review=0.2, source="x.json")
    detector = fleck.Detector(apply_thresholds(FLECK_1996, t))
    d = detector.detect(synth.figure(2, size=(120, 160)).image)
    assert d.threshold == 0.4 and d.review_threshold == 0.2


def test_overlay_headline_follows_a_calibrated_cut():
    from fleck.overlay import headline

    image = synth.figure(1, size=(240, 320)).image
    plain = fleck.detect(image)
    high = fleck.Detector(FLECK_1996.replace(verdict={"unsafe_threshold": 0.99})).detect(image)
    assert headline(high)[0] == f"body plan {plain.score:.2f} < 0.99 (review)"
    blue = np.full((120, 160, 3), (40, 70, 150), np.uint8)
    low = fleck.Detector(FLECK_1996.replace(verdict={"unsafe_threshold": 0.0})).detect(blue)
    assert low.decision and low.rule is None
    assert headline(low)[0] == f"NUDE {low.score:.2f} (score >= 0.00)"
