"""The medial-axis segment finder on drawn masks with known geometry."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from fleck.config import GeometryConfig
from fleck.segments import Segment, find_segments, scale_point


def canvas(shape=(137, 183)):
    return np.zeros(shape, np.uint8)


def test_a_straight_bar_is_one_segment_with_its_width_and_full_length():
    mask = canvas()
    mask[63:78, 30:151] = 1  # 15 rows wide, columns 30..150
    (segment,) = find_segments(mask.astype(bool), 1.0).segments
    assert segment.width == pytest.approx(15, abs=1)
    # Free ends are extended from where the skeleton stops to the ends of the bar.
    assert segment.length == pytest.approx(120, abs=4)
    assert min(segment.p[1], segment.q[1]) == pytest.approx(30, abs=3)
    assert not segment.torso_only and not segment.branch_p and not segment.branch_q


def test_a_bent_limb_gives_two_segments_meeting_at_the_bend():
    mask = canvas()
    cv2.line(mask, (30, 30), (90, 80), 1, 13)
    cv2.line(mask, (90, 80), (160, 60), 1, 11)
    segments = find_segments(mask.astype(bool), 1.0).segments
    assert len(segments) == 2
    first, second = segments
    shared = {first.node_p, first.node_q} & {second.node_p, second.node_q}
    assert len(shared) == 1
    ends = [first.p, first.q, second.p, second.q]
    near_bend = [e for e in ends if np.hypot(e[0] - 80, e[1] - 90) < 6]
    assert len(near_bend) == 2


def test_gentle_curves_are_not_cut_into_pieces():
    mask = canvas()
    points = np.array([(20 + t, 60 + 10 * np.sin(t / 60)) for t in range(0, 140, 4)], np.int32)
    cv2.polylines(mask, [points], False, 1, 13)
    assert len(find_segments(mask.astype(bool), 1.0).segments) == 1
    curved = find_segments(mask.astype(bool), 1.0, dataclasses.replace(GeometryConfig(),
                                                                       merge_angle=0.0))
    assert len(curved.segments) >= 1


def test_branches_are_marked_where_three_arms_meet():
    mask = canvas()
    cv2.line(mask, (90, 10), (90, 70), 1, 13)
    cv2.line(mask, (90, 70), (40, 125), 1, 13)
    cv2.line(mask, (90, 70), (140, 125), 1, 13)
    segments = find_segments(mask.astype(bool), 1.0).segments
    assert len(segments) == 3
    assert all(s.branch_p or s.branch_q for s in segments)
    assert len({s.node_p if s.branch_p else s.node_q for s in segments}) == 1


def test_too_thin_and_too_short_regions_give_no_segments():
    mask = canvas()
    mask[20:23, 20:160] = 1                     # 3 px wide < 4 SCALE
    cv2.circle(mask, (90, 90), 6, 1, -1)        # a small blob: short skeleton
    assert find_segments(mask.astype(bool), 1.0).segments == ()


def test_wide_stubby_regions_are_torso_candidates_only():
    mask = canvas()
    mask[40:88, 50:106] = 1  # 48 wide, 56 long: under 1.2 widths, width >= 15 SCALE
    stubby = dataclasses.replace(GeometryConfig(), min_elongation=1.2)
    (segment,) = find_segments(mask.astype(bool), 1.0, stubby).segments
    assert segment.torso_only and segment.width == pytest.approx(48, abs=2)
    # The default (1.0) keeps it: cut at their joints, a limb's pieces are short for their width.
    assert not find_segments(mask.astype(bool), 1.0).segments[0].torso_only
    mask[40:88, 50:140] = 1  # 90 long: an ordinary segment either way
    assert not find_segments(mask.astype(bool), 1.0, stubby).segments[0].torso_only


def test_widths_and_lengths_scale_with_the_image():
    small = canvas((137, 183))
    small[63:78, 30:151] = 1
    large = cv2.resize(small, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    (a,) = find_segments(small.astype(bool), 1.0).segments
    (b,) = find_segments(large.astype(bool), 2.0).segments
    assert b.width == pytest.approx(2 * a.width, rel=0.1)
    assert b.length == pytest.approx(2 * a.length, rel=0.05)


def test_segment_cap_bails_out():
    mask = canvas((400, 400))
    for row in range(5, 400, 20):
        cv2.line(mask, (5, row), (395, row), 1, 9)
    found = find_segments(mask.astype(bool), 1.0, dataclasses.replace(GeometryConfig(),
                                                                      max_segments=5))
    assert found.bailed_out and found.segments == ()


def test_empty_mask_and_round_trip():
    assert find_segments(np.zeros((50, 50), bool), 1.0).segments == ()
    segment = Segment(3, (1.0, 2.0), (30.0, 40.0), 9.5, 1, 2, False, True, False)
    assert Segment.from_dict(segment.to_dict()) == segment
    assert scale_point((0.0, 0.0), 4.0) == (1.5, 1.5)


def test_small_holes_are_filled_before_the_skeleton():
    mask = canvas()
    mask[30:110, 40:140] = 1
    mask[60:66, 70:78] = 0  # an "eye": 48 px, under 64 SCALE^2
    filled = find_segments(mask.astype(bool), 1.0)
    kept = find_segments(mask.astype(bool), 1.0, dataclasses.replace(GeometryConfig(),
                                                                     fill_holes=0.0))
    assert filled.skeleton_pixels < kept.skeleton_pixels  # no loop around the hole


def test_a_piece_with_skin_on_its_flanks_is_only_a_torso_candidate():
    # A 20-px bar is a limb segment on its own; inside a larger skin field (skin on both
    # sides beyond a thin cut) it is not a ribbon bounded by background.
    mask = canvas()
    mask[60:80, 20:160] = 1
    (alone,) = find_segments(mask.astype(bool), 1.0).segments
    assert not alone.torso_only
    field = canvas()
    field[40:100, 20:160] = 1
    field[58:60, 20:160] = 0
    field[80:82, 20:160] = 0
    inside = [s for s in find_segments(field.astype(bool), 1.0).segments
              if abs(s.midpoint[0] - 69.5) < 3]
    assert inside and all(s.torso_only for s in inside)
    off = dataclasses.replace(GeometryConfig(), flank_max_skin=1.0)
    assert any(not s.torso_only for s in find_segments(field.astype(bool), 1.0, off).segments
               if abs(s.midpoint[0] - 69.5) < 3)


def test_a_skin_strip_along_the_frame_is_not_a_limb():
    mask = canvas()
    mask[0:16, 20:160] = 1  # skin between the top edge of the frame and something else
    (strip,) = find_segments(mask.astype(bool), 1.0).segments
    assert strip.torso_only  # kept only as a torso candidate
    framed = find_segments(mask.astype(bool), 1.0,
                           dataclasses.replace(GeometryConfig(), frame_is_edge=True)).segments
    assert framed and not framed[0].torso_only
    moved = canvas()
    moved[30:46, 20:160] = 1  # the same strip away from the frame is a limb segment
    assert not find_segments(moved.astype(bool), 1.0).segments[0].torso_only



def _blobs(seed: int, shape=(120, 150)) -> np.ndarray:
    """A ragged skin-like mask: random thick strokes and discs, with noisy edges."""
    rng = np.random.default_rng(seed)
    mask = canvas(shape)
    for _ in range(rng.integers(3, 7)):
        a = tuple(int(v) for v in rng.integers(10, (shape[1] - 10, shape[0] - 10)))
        b = tuple(int(v) for v in rng.integers(10, (shape[1] - 10, shape[0] - 10)))
        cv2.line(mask, a, b, 1, int(rng.integers(8, 20)))
    cv2.circle(mask, (shape[1] // 2, shape[0] // 2), int(rng.integers(8, 25)), 1, -1)
    edge = cv2.dilate(mask, np.ones((3, 3), np.uint8)) != cv2.erode(mask, np.ones((3, 3), np.uint8))
    flip = edge & (rng.random(shape) < 0.3)
    return (mask > 0) ^ flip


def _mirror_segment(segment: Segment, cols: int) -> Segment:
    return segment.mapped(lambda point: (point[0], cols - 1 - point[1]))


def assert_same_segments(found, expected):
    """Equal up to float rounding of the mapped coordinates (1e-9 px)."""
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        assert dataclasses.replace(a, p=b.p, q=b.q) == b
        assert np.allclose(a.p + a.q, b.p + b.q, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_segments_of_a_mirrored_mask_are_the_mirrored_segments(seed):
    # Zhang-Suen thinning and scan-order tracing are not symmetric; the finder works in a
    # canonical orientation of the mask so its output is.
    mask = _blobs(seed)
    found = find_segments(mask, 1.0)
    assert found.segments, "the test mask should give segments"
    mirrored = find_segments(np.ascontiguousarray(mask[:, ::-1]), 1.0)
    assert_same_segments(mirrored.segments,
                         [_mirror_segment(s, mask.shape[1]) for s in found.segments])
    turned = find_segments(np.ascontiguousarray(mask.T), 1.0)
    assert_same_segments(turned.segments,
                         [s.mapped(lambda p: (p[1], p[0])) for s in found.segments])


def test_the_skeleton_is_returned_in_the_input_orientation():
    mask = _blobs(3)
    skeleton = find_segments(mask, 1.0, keep_skeleton=True).skeleton
    mirrored = find_segments(np.ascontiguousarray(mask[:, ::-1]), 1.0, keep_skeleton=True)
    assert skeleton[~mask].sum() == 0
    assert np.array_equal(mirrored.skeleton, skeleton[:, ::-1])


@pytest.mark.parametrize("seed", range(6))
def test_a_bent_limb_is_cut_at_its_joint_whatever_its_ragged_edges(seed):
    # The cut comes from the bend measured at the limb's own scale, so pixel noise on the
    # outline neither adds cuts nor moves the one at the elbow far (Douglas-Peucker at 2 px
    # did both, and a limb came and went with a JPEG re-save).
    rng = np.random.default_rng(seed)
    mask = canvas()
    cv2.line(mask, (20, 40), (90, 80), 1, 14)
    cv2.line(mask, (90, 80), (150, 50), 1, 12)
    edge = cv2.dilate(mask, np.ones((3, 3), np.uint8)) != cv2.erode(mask, np.ones((3, 3), np.uint8))
    ragged = (mask > 0) ^ (edge & (rng.random(mask.shape) < 0.3))
    segments = find_segments(ragged, 1.0).segments
    assert len(segments) == 2
    elbow = {segments[0].node_p, segments[0].node_q} & {segments[1].node_p, segments[1].node_q}
    assert len(elbow) == 1
    ends = [e for s in segments for e in (s.p, s.q)]
    assert min(np.hypot(e[0] - 80, e[1] - 90) for e in ends) < 8  # within about half a width


def test_the_douglas_peucker_splitter_stays_available():
    mask = canvas()
    cv2.line(mask, (30, 30), (90, 80), 1, 13)
    cv2.line(mask, (90, 80), (160, 60), 1, 11)
    config = dataclasses.replace(GeometryConfig(), splitter="dp")
    assert len(find_segments(mask.astype(bool), 1.0, config).segments) == 2
    with pytest.raises(ValueError, match="splitter"):
        dataclasses.replace(GeometryConfig(), splitter="edges")


def test_a_mask_without_background_finds_nothing_and_warns_nothing():
    """OpenCV gives no-background masks a huge distance; its float32 sums used to overflow."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # 99 x 108: a shape whose skeleton has chains (the overflow was in their widths)
        found = find_segments(np.ones((99, 108), bool), scale=1.0)
    assert len(found.segments) == 0
