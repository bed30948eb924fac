"""Synthetic scenes: reproducible, with ground truth that matches the pixels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from fleck import synth

SMALL = (120, 160)
SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"

# bones between joints: every point on them lies on the figure's skin
BONES = [("neck", "head"), ("neck", "pelvis"), ("shoulder_l", "elbow_l"), ("elbow_l", "wrist_l"),
         ("shoulder_r", "elbow_r"), ("elbow_r", "wrist_r"), ("hip_l", "knee_l"),
         ("knee_l", "ankle_l"), ("hip_r", "knee_r"), ("knee_r", "ankle_r")]


def test_same_seed_same_pixels_and_labels():
    a, b = synth.figure(7, size=SMALL), synth.figure(7, size=SMALL)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.mask, b.mask)
    assert a.to_dict() == b.to_dict()


def test_different_seed_different_image():
    assert not np.array_equal(synth.figure(1, size=SMALL).image, synth.figure(2, size=SMALL).image)
    assert not np.array_equal(synth.wood(1, size=SMALL).image, synth.wood(2, size=SMALL).image)


def test_generate_is_reproducible_and_mixes_kinds():
    first = list(synth.generate(18, seed=5, size=SMALL))
    again = list(synth.generate(18, seed=5, size=SMALL))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(first, again, strict=False))
    assert {s.category for s in first} == set(synth.KINDS)
    assert sum(s.label for s in first) == 9
    other = next(synth.generate(1, seed=6, size=SMALL))
    assert not np.array_equal(first[0].image, other.image)
    # a scene's stored seed regenerates it
    s = first[3]
    assert np.array_equal(synth.scene(s.category, s.seed, size=SMALL).image, s.image)


@pytest.mark.parametrize("pose", synth.POSES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_figure_ground_truth_is_consistent(pose, seed):
    s = synth.figure(seed, size=(240, 320), pose=pose)
    h, w = s.mask.shape
    assert s.image.shape == (h, w, 3) and s.image.dtype == np.uint8
    assert (s.label, s.category, s.pose) == (1, "figure", pose)
    assert s.tone in synth.TONES
    # the head, trunk and upper limbs always stay in the frame; only extremities may be cropped
    for name in ("head", "neck", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "pelvis",
                 "hip_l", "hip_r"):
        assert name in s.joints
    for name, (r, c) in s.joints.items():
        assert 0 <= r <= h - 1 and 0 <= c <= w - 1, name
        assert s.mask[int(round(r)), int(round(c))], f"{name} is not on the skin mask"
    for a, b in BONES:
        if a in s.joints and b in s.joints:
            pa, pb = np.array(s.joints[a]), np.array(s.joints[b])
            for t in np.linspace(0, 1, 9):
                r, c = np.round(pa + t * (pb - pa)).astype(int)
                assert s.mask[r, c], f"bone {a}-{b} leaves the skin at t={t:.2f}"
    # limbs are elongated and proportioned: upper arm ~ forearm, elbow bent at most 100 degrees
    for side in "lr":
        if f"wrist_{side}" in s.joints:
            sh, el, wr = (np.array(s.joints[f"{j}_{side}"]) for j in ("shoulder", "elbow", "wrist"))
            upper, fore = np.linalg.norm(el - sh), np.linalg.norm(wr - el)
            assert 0.9 < upper / fore < 1.3
            assert upper > 2 * s.limb_widths[f"upper_arm_{side}"]
            cos = np.dot(sh - el, wr - el) / (upper * fore)
            assert np.degrees(np.arccos(np.clip(cos, -1, 1))) >= 80 - 1e-6


def test_figure_skin_fraction_in_the_filter_range():
    fractions = [synth.figure(i, size=SMALL).skin_fraction for i in range(30)]
    assert min(fractions) > 0.2
    assert max(fractions) < 0.75
    assert np.median(fractions) >= 0.28
    # coverage is honoured where the pose allows it
    assert synth.figure(3, size=SMALL, coverage=0.12).skin_fraction < 0.16


def test_clothing_band_is_not_skin():
    bare = synth.figure(4, size=SMALL, pose="standing")
    dressed = synth.figure(4, size=SMALL, pose="standing", clothing=True)
    assert dressed.mask.sum() < 0.95 * bare.mask.sum()
    assert not dressed.mask[tuple(np.round(dressed.joints["pelvis"]).astype(int))]


def test_lighter_tones_are_brighter():
    means = []
    for tone in synth.TONES:   # same seed: same pose, light and background; only the tone differs
        s = synth.figure(11, size=SMALL, tone=tone, pose="standing")
        means.append(s.image[s.mask].astype(float).mean())
    assert means == sorted(means, reverse=True), means


def test_figure_is_shaded_like_a_cylinder():
    s = synth.figure(2, size=(240, 320), pose="standing", tone="tan", background="flat")
    lum = s.image.astype(float).mean(axis=2)
    # across the torso at the waist: the shading varies smoothly (not a flat cut-out)
    neck, pelvis = np.array(s.joints["neck"]), np.array(s.joints["pelvis"])
    r = int(round((neck[0] + 2 * pelvis[0]) / 3))
    row = lum[r][s.mask[r]]
    assert row.max() - row.min() > 25


@pytest.mark.parametrize("kind", list(synth.CONTROLS))
def test_controls_are_labelled_negative(kind):
    s = synth.scene(kind, 3, size=SMALL)
    assert (s.label, s.category) == (0, kind)
    assert s.image.shape == (*SMALL, 3) and s.image.dtype == np.uint8
    assert not s.joints
    if kind == "face_closeup":
        assert 0.1 < s.skin_fraction < 0.8
    else:
        assert not s.mask.any()


def test_grey_control_has_no_colour():
    img = synth.grey(1, size=SMALL, jpeg_quality=80).image
    assert (img == img[..., :1]).all()


def test_jpeg_option_changes_pixels_slightly():
    raw = synth.figure(5, size=SMALL).image.astype(int)
    jpg = synth.figure(5, size=SMALL, jpeg_quality=60).image.astype(int)
    diff = np.abs(raw - jpg)
    assert 0 < diff.mean() < 6


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="tone"):
        synth.figure(0, size=SMALL, tone="green")
    with pytest.raises(ValueError, match="pose"):
        synth.figure(0, size=SMALL, pose="flying")
    with pytest.raises(ValueError, match="kind"):
        synth.scene("sofa", 0)
    with pytest.raises(ValueError, match="size"):
        synth.figure(0, size=(8, 8))


def test_shipped_labels_list_existing_files():
    with open(SAMPLES / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"path", "label", "category"}
    for row in rows:
        assert (SAMPLES / row["path"]).is_file(), row["path"]
        assert row["label"] in ("0", "1")
        assert (row["label"] == "1") == (row["category"] == "figure")
    truth = json.loads((SAMPLES / "joints.json").read_text(encoding="utf-8"))
    assert set(truth) == {row["path"] for row in rows}
    figures = [r["path"] for r in rows if r["category"] == "figure"]
    assert len(figures) >= 20
    assert {truth[p]["tone"] for p in figures} == set(synth.TONES)
    assert {truth[p]["pose"] for p in figures} == set(synth.POSES)


def test_shipped_samples_match_the_generator():
    # the files are the generator's output (JPEG), so the code and the data cannot drift apart
    import cv2

    name = "figure_03_tan_sitting.jpg"
    truth = json.loads((SAMPLES / "joints.json").read_text(encoding="utf-8"))[name]
    s = synth.figure(truth["seed"], size=(truth["height"], truth["width"]), tone=truth["tone"],
                     pose=truth["pose"], background="flat")
    shipped = cv2.imread(str(SAMPLES / name))[..., ::-1].astype(int)
    assert shipped.shape == s.image.shape
    assert np.abs(shipped - s.image.astype(int)).mean() < 4
    assert {k: list(v) for k, v in s.to_dict()["joints"].items()} == truth["joints"]


def test_python_m_fleck_synth_works_from_an_installed_package(tmp_path):
    """`python -m fleck.synth OUT` needs only the package (a wheel has no tools/ folder)."""
    import os
    import shutil
    import subprocess
    import sys

    installed = tmp_path / "site"
    shutil.copytree(Path(synth.__file__).resolve().parents[1], installed / "fleck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(installed)}
    run = subprocess.run([sys.executable, "-m", "fleck.synth", "out"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert str(installed / "fleck") in subprocess.run(
        [sys.executable, "-c", "import fleck.synth; print(fleck.synth.__file__)"], cwd=tmp_path,
        env=env, capture_output=True, text=True).stdout  # the copy ran, not the checkout
    out = tmp_path / "out"
    assert (out / "labels.csv").read_text() == (SAMPLES / "labels.csv").read_text()
    written = json.loads((out / "joints.json").read_text())
    assert written == json.loads((SAMPLES / "joints.json").read_text())
