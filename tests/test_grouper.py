"""Each grouping rule (spec G4-G7) on hand-built segments: it fires when its conditions hold and
stops firing when any one of them is broken."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fleck
from fleck import synth
from fleck.config import GeometryConfig
from fleck.grouper import (
    LIMB_LIMB_GIRDLE,
    LIMB_SEGMENT_GIRDLE,
    SPINE_THIGH,
    find_limbs,
    group,
    limb_limb_girdles,
    limb_segment_girdles,
    spine_thigh_groups,
)
from fleck.segments import Segment

CONFIG = GeometryConfig()
SKIN = np.ones((400, 400), bool)


def seg(index, p, q, width, torso_only=False):
    return Segment(index, tuple(map(float, p)), tuple(map(float, q)), float(width),
                   2 * index, 2 * index + 1, torso_only)


def legs(spread=20.0, thigh_width=24.0, shin_width=20.0, gap=0.0):
    """Two legs hanging from hips at rows 100, knees at row 200, ankles at row 290."""
    left_hip, right_hip = (100.0, 180.0 - gap / 2), (100.0, 220.0 + gap / 2)
    left_knee = (200.0, left_hip[1] - spread)
    right_knee = (200.0, right_hip[1] + spread)
    return (seg(0, left_hip, left_knee, thigh_width),
            seg(1, left_knee, (290, left_knee[1]), shin_width),
            seg(2, right_hip, right_knee, thigh_width),
            seg(3, right_knee, (290, right_knee[1]), shin_width))


# --- G4 limbs -----------------------------------------------------------------------------

def test_limb_found_at_shared_joint_with_wider_segment_proximal():
    limbs = find_limbs(legs()[:2], SKIN)
    assert len(limbs) == 1
    limb = limbs[0]
    assert limb.segments == (0, 1) and limb.proximal == 0
    assert limb.joint == pytest.approx((200.0, 160.0))
    assert limb.proximal_end == pytest.approx((100.0, 180.0))
    assert 160 < limb.angle < 170


def test_limb_rejected_when_folded_back_on_itself():
    upper = seg(0, (100, 100), (200, 100), 20)
    folded = seg(1, (200, 100), (120, 130), 20)  # about 20 degrees from the upper segment
    assert find_limbs((upper, folded), SKIN) == []


def test_limb_rejected_for_mismatched_widths():
    upper, lower = seg(0, (100, 100), (200, 100), 45), seg(1, (200, 100), (280, 140), 20)
    assert find_limbs((upper, lower), SKIN) == []
    assert len(find_limbs((upper, dataclasses.replace(lower, width=23.0)), SKIN)) == 1


def test_limb_rejected_when_ends_are_too_far_apart():
    upper, lower = seg(0, (100, 100), (200, 100), 20), seg(1, (225, 100), (300, 140), 20)
    assert find_limbs((upper, lower), SKIN) == []
    assert len(find_limbs((upper, dataclasses.replace(lower, p=(215.0, 100.0))), SKIN)) == 1


def test_limb_rejected_without_skin_at_the_joint():
    upper, lower = seg(0, (100, 100), (200, 100), 20), seg(1, (200, 100), (280, 140), 20)
    holed = SKIN.copy()
    holed[185:216, 85:116] = False
    assert find_limbs((upper, lower), holed) == []


def test_torso_only_segments_do_not_form_limbs():
    upper, lower = seg(0, (100, 100), (200, 100), 20), seg(1, (200, 100), (280, 140), 20, True)
    assert find_limbs((upper, lower), SKIN) == []


# --- G5 limb-limb girdle ------------------------------------------------------------------

def girdles(segments):
    return list(limb_limb_girdles(segments, find_limbs(segments, SKIN), CONFIG))


def test_two_legs_at_the_hips_form_a_limb_limb_girdle():
    found = girdles(legs())
    assert len(found) == 1 and found[0].kind == LIMB_LIMB_GIRDLE
    assert found[0].point == pytest.approx((100.0, 200.0))
    assert set(found[0].segments) == {0, 1, 2, 3}


def test_limb_limb_girdle_needs_close_proximal_ends():
    # 2.5 x 24 = 60 px allowed between the hips; 40 px apart by default.
    assert len(girdles(legs(gap=15.0))) == 1
    assert girdles(legs(gap=30.0)) == []


def test_limb_limb_girdle_needs_similar_proximal_widths():
    left = legs()[:2]
    right = tuple(dataclasses.replace(s, width=s.width * 1.7) for s in legs()[2:])
    assert girdles(left + right) == []


def test_limb_limb_girdle_rejects_limbs_pointing_apart():
    # Arms stretched out sideways from the shoulders: 180 degrees between them.
    left = (seg(0, (100, 180), (100, 100), 20), seg(1, (100, 100), (160, 60), 18))
    right = (seg(2, (100, 220), (100, 300), 20), seg(3, (100, 300), (160, 340), 18))
    assert girdles(left + right) == []


# --- G6 limb-segment girdle ---------------------------------------------------------------

def arm_on_torso(torso_width=60.0, attach=(60.0, 160.0)):
    torso = seg(0, (60, 200), (200, 200), torso_width)
    upper = seg(1, attach, (60 + 90, attach[1] - 60), 20)
    lower = seg(2, (60 + 90, attach[1] - 60), (60 + 170, attach[1] - 60), 17)
    return torso, upper, lower


def limb_segment(segments):
    return list(limb_segment_girdles(segments, find_limbs(segments, SKIN), CONFIG))


def test_limb_meeting_a_torso_end_forms_a_limb_segment_girdle():
    found = limb_segment(arm_on_torso())
    assert len(found) == 1 and found[0].kind == LIMB_SEGMENT_GIRDLE
    assert found[0].segments == (1, 2, 0)


def test_limb_segment_girdle_needs_a_wider_torso():
    assert limb_segment(arm_on_torso(torso_width=22.0)) == []


def test_limb_segment_girdle_needs_the_limb_near_a_torso_end():
    assert limb_segment(arm_on_torso(attach=(130.0, 120.0))) == []


# --- G7 spine-thigh -----------------------------------------------------------------------

def torso_and_thighs(thigh_width=24.0, thigh_direction=1.0):
    torso = seg(0, (40, 200), (140, 200), 50)
    end_row = 140 + thigh_direction * 90
    return (torso, seg(1, (140, 185), (end_row, 170), thigh_width),
            seg(2, (140, 215), (end_row, 230), thigh_width))


def test_torso_with_two_thighs_forms_a_spine_thigh_group():
    found = list(spine_thigh_groups(torso_and_thighs(), [], CONFIG))
    assert [g.kind for g in found] == [SPINE_THIGH]
    assert found[0].segments == (0, 1, 2) and found[0].point == (140.0, 200.0)


def test_spine_thigh_needs_thighs_leaving_the_torso():
    assert list(spine_thigh_groups(torso_and_thighs(thigh_direction=-1.0), [], CONFIG)) == []


def test_spine_thigh_needs_thigh_widths_in_proportion():
    assert list(spine_thigh_groups(torso_and_thighs(thigh_width=48.0), [], CONFIG)) == []
    assert list(spine_thigh_groups(torso_and_thighs(thigh_width=12.0), [], CONFIG)) == []


# --- the whole grouper --------------------------------------------------------------------

def test_group_types_can_be_switched_off():
    segments = legs()
    assert {g.kind for g in group(segments, SKIN).groups} == {LIMB_LIMB_GIRDLE}
    off = dataclasses.replace(CONFIG, limb_limb_girdle=False)
    assert not any(g.kind == LIMB_LIMB_GIRDLE for g in group(segments, SKIN, off).groups)


def test_group_coverage_is_the_union_of_ribbons_over_the_image():
    found = group(legs(), SKIN).groups[0]
    ribbons = 2 * (100 * 24 + 90 * 20)  # two thighs and two shins, barely overlapping
    assert found.coverage == pytest.approx(ribbons / SKIN.size, rel=0.1)


def test_grouper_bails_out_on_a_lattice_of_limbs():
    # A grid of short bars joined end to end everywhere: limbs explode relative to segments.
    segments, index = [], 0
    for row in range(0, 400, 40):
        for col in range(0, 400, 40):
            for end in ((row + 40, col), (row, col + 40), (row + 40, col + 40),
                        (row + 40, col - 40)):
                segments.append(seg(index, (row, col), end, 12))
                index += 1
    result = group(tuple(segments), SKIN)
    assert len(result.limbs) == 0 or result.bailed_out
    assert result.bailed_out and "limbs" in result.bailed_out and result.groups == ()


def test_limb_limb_girdle_needs_the_hips_joined_through_skin():
    segments = legs()
    split = SKIN.copy()
    split[:, 190:211] = False  # background across half the line between the hip ends
    assert girdles(segments) and list(limb_limb_girdles(
        segments, find_limbs(segments, SKIN), CONFIG, split)) == []


def test_a_ribbon_widening_along_one_chain_is_not_a_limb_segment_girdle():
    # The "torso" continues the limb's proximal segment through a bend (node 3, not a branch):
    # one stripe or plank whose width changes, as in skin-hued stripes.
    torso = Segment(0, (40.0, 200.0), (140.0, 200.0), 60.0, 2, 3, branch_q=False)
    upper = Segment(1, (140.0, 200.0), (230.0, 140.0), 20.0, 3, 4)
    lower = Segment(2, (230.0, 140.0), (310.0, 140.0), 17.0, 4, 5)
    chain = (torso, upper, lower)
    assert limb_segment(chain) == []
    branched = (dataclasses.replace(torso, node_q=9, branch_q=True),
                dataclasses.replace(upper, node_p=9, branch_p=True), lower)
    assert len(limb_segment(branched)) == 1


def test_grouping_of_a_mirrored_skin_map_is_the_mirrored_grouping():
    from fleck.segments import find_segments

    for seed in range(40):  # the first figure with limbs and groups
        scene = synth.figure(seed, size=(240, 320), pose="standing", tone="tan")
        skin = fleck.skin_filter(scene.image)
        mask = skin.mask
        segments = find_segments(mask, skin.scale).segments
        grouping = group(segments, mask)
        if grouping.limbs and grouping.groups:
            break
    assert grouping.limbs and grouping.groups, "some figure should give limbs and groups"
    cols = mask.shape[1]

    def mirror(point):
        return (point[0], cols - 1 - point[1])

    mirrored = group(tuple(s.mapped(mirror) for s in segments),
                     np.ascontiguousarray(mask[:, ::-1]))
    expected_limbs = [limb.mapped(mirror) for limb in grouping.limbs]
    assert [dataclasses.replace(a, joint=b.joint, proximal_end=b.proximal_end)
            for a, b in zip(mirrored.limbs, expected_limbs, strict=True)] == expected_limbs
    assert np.allclose([a.joint + a.proximal_end for a in mirrored.limbs],
                       [b.joint + b.proximal_end for b in expected_limbs], rtol=0, atol=1e-9)
    expected_groups = [g.mapped(mirror) for g in grouping.groups]
    pairs = zip(mirrored.groups, expected_groups, strict=True)
    assert [dataclasses.replace(a, point=b.point) for a, b in pairs] == expected_groups
    assert np.allclose([a.point for a in mirrored.groups], [b.point for b in expected_groups],
                       rtol=0, atol=1e-9)
