"""Calibrated thresholds (fleck.compare.thresholds, thresholds.json, --thresholds)."""

from __future__ import annotations

import csv
import doctest
import json

import numpy as np
import pytest
from PIL import Image

import fleck.compare.thresholds as T
from fleck import synth
from fleck.cli import main
from fleck.compare import CompareSettings, compare
from fleck.compare.thresholds import (
    ThresholdTargets,
    calibrate,
    prevalence_weights,
    rates_at,
    threshold_for_precision,
    threshold_for_recall,
)
from fleck.verdict import read_thresholds, verdict_label


def test_doctests():
    assert doctest.testmod(T).failed == 0


def _brute(y, s, w, kind, target):
    """Every distinct score tried as a threshold, the definition spelled out."""
    best = None
    for t in sorted(set(s.tolist())):
        p = s >= t
        tp, fp = np.sum(w[p & y]), np.sum(w[p & ~y])
        if kind == "precision" and tp + fp > 0 and tp / (tp + fp) >= target and best is None:
            best = t  # lowest qualifying
        if kind == "recall" and tp / np.sum(w[y]) >= target:
            best = t  # keep the highest qualifying
    return best


@pytest.mark.parametrize("seed", range(8))
def test_thresholds_match_the_definition(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    y = rng.random(n) < 0.4
    y[:2] = [True, False]
    s = np.round(rng.random(n) * 0.5 + 0.4 * y, 2)  # ties on purpose
    w = prevalence_weights(y, 0.1)
    for target in (0.6, 0.8, 0.95):
        assert threshold_for_precision(y, s, target, sample_weight=w) == \
            _brute(y, s, w, "precision", target)
        assert threshold_for_recall(y, s, target) == _brute(y, s, np.ones(n), "recall", target)


def test_prevalence_moves_precision_as_bayes_says():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    s = np.r_[rng.uniform(0.3, 1, 100), rng.uniform(0, 0.7, 100)]
    t = 0.5
    plain = rates_at(y, s, t, np.ones(200))
    rare = rates_at(y, s, t, prevalence_weights(y, 0.02))
    tpr, fpr = plain["recall"], plain["fpr"]
    assert rare["recall"] == pytest.approx(tpr) and rare["fpr"] == pytest.approx(fpr)
    assert rare["precision"] == pytest.approx(0.02 * tpr / (0.02 * tpr + 0.98 * fpr))
    assert rare["flagged"] == pytest.approx(0.02 * tpr + 0.98 * fpr)
    # A rarer positive class needs a higher threshold for the same precision.
    assert threshold_for_precision(y, s, 0.9, sample_weight=prevalence_weights(y, 0.02)) > \
        threshold_for_precision(y, s, 0.9)
    with pytest.raises(ValueError, match="strictly between"):
        prevalence_weights(y, 1.0)


def test_calibrate_document_intervals_and_caps():
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(60, bool), np.zeros(140, bool)]
    good = np.r_[rng.uniform(0.4, 1, 60), rng.uniform(0, 0.6, 140)]
    doc = calibrate(y, {"fleck": good, "flat": np.full(200, 0.5)}, n_bootstrap=200, seed=3)
    assert doc["sample"] == {"n": 200, "positives": 60, "negatives": 140}
    assert doc["prevalence"] == {"value": 0.3, "sample": 0.3, "given": False}
    unsafe, review = doc["detectors"]["fleck"]["unsafe"], doc["detectors"]["fleck"]["review"]
    assert unsafe["precision"] >= 0.9 and review["recall"] >= 0.95
    assert review["threshold"] <= unsafe["threshold"]
    for entry in (unsafe, review):
        assert entry["low"] <= entry["threshold"] <= entry["high"] and entry["n"] > 150
    band = (good >= review["threshold"]) & (good < unsafe["threshold"])
    assert doc["detectors"]["fleck"]["review_share"] == pytest.approx(band.mean())
    flat = doc["detectors"]["flat"]
    assert flat["unsafe"]["threshold"] is None and "precision 0.9" in flat["unsafe"]["note"]
    assert flat["review"]["threshold"] == 0.5
    again = calibrate(y, {"fleck": good}, n_bootstrap=200, seed=3)
    assert again["detectors"]["fleck"] == doc["detectors"]["fleck"]
    # Recall reached only above the unsafe threshold: the review band is empty, not inverted.
    y2 = np.array([1, 1, 0, 0])
    s2 = np.array([0.9, 0.8, 0.2, 0.1])
    capped = calibrate(y2, {"x": s2}, targets=ThresholdTargets(precision=0.5, recall=0.6),
                       n_bootstrap=0)["detectors"]["x"]
    assert capped["unsafe"]["threshold"] == 0.1 and capped["review"]["threshold"] == 0.1
    assert "no review band" in capped["review"]["note"] and capped["review_share"] == 0.0


# -- the round trip: compare -> thresholds.json -> detect / scan -------------------------------

@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Twelve synthetic scenes (figures unsafe, controls safe) and their fleck results."""
    root = tmp_path_factory.mktemp("labelled")
    rows = []
    for i, scene in enumerate(synth.generate(12, size=(120, 160))):
        name = f"{i:02d}_{scene.category}.png"
        Image.fromarray(scene.image).save(root / name)
        rows.append((name, scene.label))
    with open(root / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("path", "label"), *rows])
    assert main(["scan", str(root), "-o", str(root / "results.jsonl"), "-j", "1", "-q"]) == 0
    return root


def _compare(labelled, out, *options) -> dict:
    """``fleck compare`` on the labelled set; the thresholds.json it wrote."""
    code = main(["compare", "--labels", str(labelled / "labels.csv"), "--fleck",
                 str(labelled / "results.jsonl"), "-o", str(out), *options])
    assert code == 0
    return json.loads((out / "thresholds.json").read_text())


def test_compare_writes_thresholds_and_detect_applies_them(labelled, tmp_path, capsys):
    out = tmp_path / "report"
    document = _compare(labelled, out, "--bootstrap", "50", "--target-precision", "0.8",
                        "--target-recall", "0.9")
    assert "fleck thresholds at prevalence" in capsys.readouterr().out
    assert document["targets"] == {"unsafe": {"precision": 0.8}, "review": {"recall": 0.9}}
    assert document["detectors"]["fleck"]["config"] == "fleck1996"
    assert "Calibrated thresholds" in (out / "index.html").read_text()
    thresholds = read_thresholds(out / "thresholds.json")
    records = {}
    for line in (labelled / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        records[record["path"]] = record["score"]
    paths = sorted(records)
    assert main(["detect", *paths, "--json", "--thresholds", str(out / "thresholds.json")]) == 0
    for line in capsys.readouterr().out.splitlines():
        record = json.loads(line)
        assert record["score"] == pytest.approx(records[record["path"]])
        expected = verdict_label(record["score"], thresholds.unsafe, thresholds.review)
        assert record["label"] == expected
        assert record["decision"] == (expected == "unsafe")
        assert record["threshold"] == thresholds.unsafe


def test_compare_with_a_prevalence_and_an_unreachable_target(labelled, tmp_path, capsys):
    out = tmp_path / "report"
    document = _compare(labelled, out, "--bootstrap", "20", "--prevalence", "0.001",
                        "--target-precision", "1")
    assert document["prevalence"]["value"] == 0.001 and document["prevalence"]["given"]
    fleck_entry = document["detectors"]["fleck"]
    if fleck_entry["unsafe"]["threshold"] is None:
        assert "note" in capsys.readouterr().err
        assert main(["detect", str(next(labelled.glob("*.png"))), "--thresholds",
                     str(out / "thresholds.json")]) == 2
        assert "no unsafe threshold" in capsys.readouterr().err
    else:  # every flagged image on this tiny sample is a figure: precision 1 is reachable
        assert fleck_entry["unsafe"]["precision"] == 1.0


def test_compare_api_settings_reach_the_document(labelled, tmp_path):
    settings = CompareSettings(n_bootstrap=10, target_precision=0.7, target_recall=0.5,
                               prevalence=0.2)
    result = compare(labelled / "labels.csv", labelled / "results.jsonl", {},
                     outdir=tmp_path / "r", settings=settings, overlays=False)
    document = json.loads(open(result.files["thresholds.json"]).read())
    assert document["targets"]["review"] == {"recall": 0.5}
    assert document["prevalence"]["value"] == 0.2
    assert document["inputs"]["fleck"].endswith("results.jsonl")


def test_round_trip_compare_thresholds_scan(labelled, tmp_path):
    """compare -> thresholds.json -> scan --thresholds: labels follow the scores."""
    document = _compare(labelled, tmp_path / "report", "--bootstrap", "30",
                        "--target-precision", "0.75", "--target-recall", "0.9")
    unsafe = document["detectors"]["fleck"]["unsafe"]["threshold"]
    review = document["detectors"]["fleck"]["review"]["threshold"]
    assert unsafe is not None and review is not None and review <= unsafe
    out = tmp_path / "calibrated.jsonl"
    csv_path = tmp_path / "calibrated.csv"
    assert main(["scan", str(labelled), "-o", str(out), "-j", "1", "-q", "--csv", str(csv_path),
                 "--thresholds", str(tmp_path / "report" / "thresholds.json")]) == 0
    before = {}
    for line in (labelled / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        before[record["path"]] = record
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(before) == 12
    labels = set()
    for record in records:
        assert record["score"] == before[record["path"]]["score"]  # the score does not move
        assert record["threshold"] == unsafe and record["review_threshold"] == review
        assert record["label"] == verdict_label(record["score"], unsafe, review)
        assert record["decision"] == (record["score"] >= unsafe)
        labels.add(record["label"])
    assert len(labels) >= 2
    with open(csv_path, newline="") as f:
        rows = {row["path"]: row for row in csv.DictReader(f)}
    assert all(rows[r["path"]]["label"] == r["label"] for r in records)
