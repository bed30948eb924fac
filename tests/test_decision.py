"""The decision rule (G8 plus the explained-skin mark) and its score."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fleck.config import GeometryConfig
from fleck.decision import decide
from fleck.grouper import LIMB_SEGMENT_GIRDLE, Group, group
from fleck.segments import Segment

GIRDLE = Group(LIMB_SEGMENT_GIRDLE, (0, 1, 2), (0,), (40.0, 40.0), 0.10)


def test_a_group_that_explains_too_little_skin_does_not_decide():
    kept = decide(0.5, True, n_limbs=1, groups=(GIRDLE,), bailed_out=None, explained=0.6)
    assert kept.decision and kept.rule == LIMB_SEGMENT_GIRDLE
    assert "60 % of it explained" in kept.reason
    lost = decide(0.5, True, n_limbs=1, groups=(GIRDLE,), bailed_out=None, explained=0.15)
    assert not lost.decision and lost.rule is None
    assert "explains only 15 % of the skin (< 25 %)" in lost.reason
    assert lost.score < lost.threshold <= kept.score


def test_the_score_rises_with_the_explained_share_on_both_sides_of_the_mark():
    scores = [decide(0.5, True, n_limbs=2, groups=(GIRDLE,), bailed_out=None,
                     explained=e).score for e in (0.05, 0.1, 0.2, 0.3, 0.6, 0.9)]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert scores[2] < 0.5 <= scores[3]


def test_the_mark_can_be_switched_off():
    off = GeometryConfig(min_explained_skin=0.0)
    assert decide(0.5, True, n_limbs=1, groups=(GIRDLE,), bailed_out=None, geometry=off,
                  explained=0.0).decision


def test_the_grouper_measures_the_share_of_skin_under_the_deciding_ribbons():
    # A torso with an arm at each shoulder inside a frame of skin that no group covers.
    skin = np.zeros((200, 200), bool)
    skin[20:180, 20:180] = True
    torso = Segment(0, (60.0, 100.0), (140.0, 100.0), 40.0, 0, 1, branch_p=True)
    upper = Segment(1, (60.0, 100.0), (60.0, 150.0), 14.0, 0, 2)
    lower = Segment(2, (60.0, 150.0), (100.0, 170.0), 12.0, 2, 3)
    found = group((torso, upper, lower), skin, GeometryConfig())
    deciding = [g for g in found.groups if g.coverage >= 0.05]
    assert deciding, "the arm and torso should make a limb-segment girdle"
    canvas = np.zeros(skin.shape, np.uint8)
    for s in (torso, upper, lower):
        cv2.fillConvexPoly(canvas, np.rint(s.ribbon()).astype(np.int32), 1)
    expected = np.count_nonzero(canvas.astype(bool) & skin) / np.count_nonzero(skin)
    assert found.explained == pytest.approx(expected, abs=0.01)
    assert 0.1 < found.explained < 0.25
