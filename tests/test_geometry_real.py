"""The real-photo measurements of bench/geometry_eval.py on hand-built masks and segments (does a
segment on a labelled limb count, one off it not, ...), and the section on the evaluation data
(skipped when ../shared/data is absent)."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import numpy as np
import pytest

from fleck import synth
from fleck.config import FLECK_1996
from fleck.detector import Detection, Detector
from fleck.grouper import LIMB_SEGMENT_GIRDLE, Group, Limb
from fleck.segments import Segment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import _report  # noqa: E402
import geometry_eval as ge  # noqa: E402

DATA = REPO.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "manifest.csv").is_file(),
                                reason=f"evaluation data not found at {DATA}")

H, W = 100, 100          # 0.5 % of the image = 50 pixels
ARM, LEG, FACE = 14, 16, 13


def seg(index, p, q, width=6.0):
    return Segment(index, tuple(map(float, p)), tuple(map(float, q)), float(width),
                   2 * index, 2 * index + 1)


def detection(segments=(), limbs=(), groups=(), working=(H, W), mask=None):
    """A Detection of an H x W photo whose geometry ran on a ``working``-sized skin map."""
    mask = np.zeros(working, bool) if mask is None else mask
    return Detection(decision=False, score=0.0, threshold=0.5, rule=None, reason="",
                     skin_fraction=float(mask.mean()), passes_skin=True,
                     segments=tuple(segments), limbs=tuple(limbs), groups=tuple(groups),
                     image_size=(H, W), mask=mask)


def arm_labels():
    """An arm (class 14) in rows 20-79, columns 40-49; a face (13) in the corner."""
    labels = np.zeros((H, W), np.uint8)
    labels[20:80, 40:50] = ARM
    labels[0:10, 0:10] = FACE
    return labels


def test_a_segment_along_a_labelled_limb_counts_and_one_off_it_does_not():
    labels = arm_labels()
    on = seg(0, (25, 45), (75, 45))           # down the middle of the arm
    off = seg(1, (25, 80), (75, 80))          # 31 px to the right of it
    m = ge.real_photo_metrics(detection([on, off]), labels > 0, labels)
    assert m.segment_on_skin == (True, False)
    assert m.segments_on_skin == 1
    assert [(limb.part, limb.touched) for limb in m.limbs] == [(ARM, True)]


def test_on_bare_skin_needs_half_the_spine_near_labelled_skin():
    labels = arm_labels()
    # rows 18-81 lie within 2 px of the arm (rows 20-79)
    half = seg(0, (37, 45), (118, 45))        # samples rows 37..99: 45 of 82 near (55 %)
    less = seg(1, (57, 45), (138, 45))        # clipped at row 99: 25 of 82 near
    m = ge.real_photo_metrics(detection([half, less]), labels > 0, labels)
    assert m.segment_on_skin == (True, False)
    # ... but any sample near a limb touches it
    assert m.limbs[0].touched


def test_near_means_two_working_pixels_scaled_to_the_input_frame():
    labels = arm_labels()                     # arm's right edge: column 49
    at_2 = seg(0, (25, 51), (75, 51))
    at_3 = seg(1, (25, 52), (75, 52))
    at_4 = seg(2, (25, 53), (75, 53))
    at_5 = seg(3, (25, 54), (75, 54))
    same_size = ge.real_photo_metrics(detection([at_2, at_3, at_4, at_5]), labels > 0, labels)
    assert same_size.tolerance == 2.0
    assert same_size.segment_on_skin == (True, False, False, False)
    # geometry at half size: 2 working pixels are 4 input pixels
    half_size = ge.real_photo_metrics(detection([at_2, at_3, at_4, at_5], working=(50, 50)),
                                      labels > 0, labels)
    assert half_size.tolerance == 4.0
    assert half_size.segment_on_skin == (True, True, True, False)
    # a spine 3 px off the arm touches it only when near is 4 px
    lone = detection([at_3])
    assert not ge.real_photo_metrics(lone, labels > 0, labels).limbs[0].touched
    assert ge.real_photo_metrics(lone, labels > 0, labels, tolerance=3.0).limbs[0].touched


def test_small_limbs_are_not_counted_and_each_class_component_is_one_limb():
    labels = np.zeros((H, W), np.uint8)
    labels[10:20, 10:15] = ARM                # 50 px = 0.5 %: counted
    labels[30:37, 10:17] = ARM                # 49 px: below 0.5 %, ignored
    labels[50:60, 10:20] = ARM                # another arm
    labels[50:60, 20:30] = LEG                # touching it, but another class: another limb
    labels[80:90, 80:90] = FACE               # not a limb
    m = ge.real_photo_metrics(detection([seg(0, (55, 21), (55, 28))]), labels > 0, labels)
    assert sorted((limb.part, limb.area, limb.touched) for limb in m.limbs) == [
        (ARM, 50, False), (ARM, 100, True), (LEG, 100, True)]  # the spine is 2 px from the arm
    assert len(ge.limb_components(labels, min_fraction=0.0049)) == 4


def test_limb_joints_count_on_an_arm_or_leg_but_not_on_the_face():
    labels = arm_labels()
    segments = [seg(0, (25, 45), (50, 45)), seg(1, (50, 45), (75, 45)),
                seg(2, (2, 2), (5, 5)), seg(3, (5, 5), (8, 2))]
    limbs = [Limb(0, (0, 1), (50.0, 45.0), 180.0, 0, (25.0, 45.0)),
             Limb(1, (2, 3), (5.0, 5.0), 90.0, 2, (2.0, 2.0))]
    m = ge.real_photo_metrics(detection(segments, limbs), labels > 0, labels)
    assert m.joint_on_limb == (True, False)
    assert m.segment_on_skin == (True, True, True, True)   # the face is labelled skin


def test_a_group_is_on_bare_skin_only_when_every_segment_is():
    labels = arm_labels()
    segments = [seg(0, (25, 45), (50, 45)), seg(1, (50, 45), (75, 45)),
                seg(2, (25, 80), (75, 80)), seg(3, (25, 42), (75, 48))]
    groups = [Group(LIMB_SEGMENT_GIRDLE, (0, 1, 2), (0,), (50.0, 60.0), 0.1),
              Group(LIMB_SEGMENT_GIRDLE, (0, 1, 3), (0,), (50.0, 45.0), 0.1)]
    m = ge.real_photo_metrics(detection(segments, groups=groups), labels > 0, labels)
    assert m.group_on_skin == (False, True)


def test_skin_counts_compare_the_skin_map_at_input_size_with_labelled_skin():
    labels = arm_labels()
    working = np.zeros((50, 50), bool)
    working[10:40, 20:25] = True              # the arm, at half size: rows 20-79, cols 40-49
    working[0:5, 45:50] = True                # 100 input pixels of false skin
    m = ge.real_photo_metrics(detection(working=(50, 50), mask=working), labels > 0, labels)
    assert (m.skin_tp, m.skin_fp, m.skin_fn) == (600, 100, 100)   # the face is missed
    assert ge.prf(m.skin_tp, m.skin_fp, m.skin_fn)[:2] == (600 / 700, 600 / 700)


def test_mismatched_masks_are_refused():
    with pytest.raises(ValueError, match="input size"):
        ge.real_photo_metrics(detection(), np.zeros((H, W + 1), bool), arm_labels())


def test_each_limb_reads_its_own_tone_and_grey_limbs_are_unreadable():
    labels = np.zeros((H, W), np.uint8)
    labels[10:40, 10:20] = ARM
    labels[10:40, 60:70] = LEG
    image = np.zeros((H, W, 3), np.uint8)
    image[labels == ARM] = (236, 200, 180)    # pale skin
    image[labels == LEG] = (128, 128, 128)    # grey: no tone to read
    m = ge.real_photo_metrics(detection(), labels > 0, labels, image=image)
    assert {limb.part: limb.tone for limb in m.limbs} == {ARM: 0, LEG: None}
    assert ge.real_photo_metrics(detection(), labels > 0, labels).limbs[0].tone is None


def test_tally_pools_counts_and_rates_tones_over_bins_with_enough_limbs():
    def photo(tone, touched):
        return ge.PhotoMetrics(10, 5, 5, (True, False), (True,), (False,),
                               (ge.LabelledLimb(ARM, 100, touched, tone),), 2.0)

    tally = ge.RealTally()
    for _ in range(ge.MIN_TONE_LIMBS):
        tally.add(photo(0, True))
        tally.add(photo(4, False), flagged=True, name="x.jpg")
    tally.add(photo(4, True))
    tally.add(photo(2, False))                # one limb: left out of the ratio
    tally.add(photo(None, False))             # unreadable: left out of the ratio
    row = tally.row()
    assert row["images"] == 2 * ge.MIN_TONE_LIMBS + 3
    assert row["flagged_images"] == ["x.jpg"] * ge.MIN_TONE_LIMBS
    assert row["segments"] == 2 * row["segments_on_skin"] == 2 * row["images"]
    assert row["skin_precision"] == row["skin_recall"] == pytest.approx(10 / 15)
    assert row["tones"]["brown"] == {"limbs": ge.MIN_TONE_LIMBS + 1, "touched": 1}
    assert row["tones"]["unreadable"] == {"limbs": 1, "touched": 0}
    assert row["tone_ratio"] == pytest.approx(1 / (ge.MIN_TONE_LIMBS + 1))


def test_the_skin_gate_changes_nothing_but_whether_the_geometry_runs():
    # why real_photos runs the shipped detector only on photos its gate lets through
    shipped, ungated = Detector(FLECK_1996), Detector(ge.gate_off(FLECK_1996))
    decided = 0
    for seed in range(6):
        image = synth.figure(seed).image
        a, b = shipped.detect(image), ungated.detect(image)
        assert a.skin_fraction == b.skin_fraction and np.array_equal(a.mask, b.mask)
        if a.passes_skin:
            assert (a.decision, a.segments, a.groups) == (b.decision, b.segments, b.groups)
            decided += a.decision
        else:
            assert not a.decision and not a.segments
    assert decided, "no figure decided: the comparison of decisions was not exercised"


def test_the_bench_module_examples_run():
    assert doctest.testmod(ge, optionflags=doctest.ELLIPSIS).failed == 0


def test_report_blocks_are_named_whole_so_one_name_may_extend_another(tmp_path):
    page = tmp_path / "geometry.md"
    real = "bench/a.py --section real"
    _report.write_block(page, "bench/a.py", "| real 1 |", argv=[], block=real)
    _report.write_block(page, "bench/a.py", "| joints 1 |", argv=[])
    _report.write_block(page, "bench/a.py", "| real 2 |", argv=[], block=real)
    _report.write_block(page, "bench/a.py", "| joints 2 |", argv=[])
    text = page.read_text()
    assert "| real 2 |" in text and "| joints 2 |" in text
    assert "| real 1 |" not in text and "| joints 1 |" not in text
    assert text.index("| real 2 |") < text.index("| joints 2 |")


@needs_data
def test_parsing_labels_agree_with_their_skin_masks():
    for split, sets in (("dev", {"lip_hpa"}), ("heldout", {"cihp_pgn", "cihp_unet"})):
        photos = ge.parsing_photos(split, DATA)
        assert {name for name, _ in photos} == sets
        for _, rel in photos[:3]:
            image, truth = ge.load_parts(rel, DATA)
            assert truth.labels.shape == truth.skin.shape == image.shape[:2]
            assert truth.labels.max() <= 19
            # every arm, leg and face pixel is in the _skin mask
            assert truth.skin[np.isin(truth.labels, (*ge.LIMB_CLASSES, 13))].all()


@needs_data
def test_the_real_section_runs_alone_and_writes_its_own_block(tmp_path):
    page = tmp_path / "geometry.md"
    page.write_text("# Geometry\n\nProse.\n")
    argv = ["--section", "real", "--split", "dev", "--limit", "2", "--out", str(tmp_path),
            "--report", str(page)]
    assert ge.main(argv) == 0
    text = page.read_text()
    assert "Prose." in text and f"<!-- begin: {ge.REAL_BLOCK} (" in text
    assert "<!-- begin: bench/geometry_eval.py (" not in text     # the joints block
    assert "| fitted_strict |" in text and "Kovac RGB rule" in text
