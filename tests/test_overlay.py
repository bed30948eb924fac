"""The explained overlay: colours where the detector's parts are, round trips, odd sizes.

Most tests draw a hand-built Detection, so they check the drawing and not the grouper's current
behaviour; one test draws what ``fleck.detect`` finds on a drawn figure.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

import fleck
from fleck.detector import Detection
from fleck.grouper import Group, Limb
from fleck.overlay import STYLE, draw, headline
from fleck.segments import Segment

SKIN_RGB = (176, 112, 80)
BACKGROUND_RGB = (60, 90, 150)


def test_figure() -> np.ndarray:
    """The lead's drawn figure (280 x 220): head, torso, bent arms and legs."""
    m = np.zeros((280, 220), np.uint8)
    cx = 110

    def limb(a, b, t):
        cv2.line(m, a, b, 1, t)

    cv2.ellipse(m, (cx, 112), (36, 60), 0, 0, 360, 1, -1)
    cv2.circle(m, (cx, 32), 20, 1, -1)
    limb((cx - 22, 66), (cx - 62, 110), 20)
    limb((cx - 62, 110), (cx - 80, 165), 17)
    limb((cx + 22, 66), (cx + 62, 110), 20)
    limb((cx + 62, 110), (cx + 84, 160), 17)
    limb((cx - 18, 160), (cx - 30, 215), 30)
    limb((cx - 30, 215), (cx - 26, 272), 24)
    limb((cx + 18, 160), (cx + 34, 215), 30)
    limb((cx + 34, 215), (cx + 28, 272), 24)
    img = np.zeros((280, 220, 3), np.uint8)
    img[:] = BACKGROUND_RGB
    img[m > 0] = SKIN_RGB
    return cv2.GaussianBlur(img, (3, 3), 0)


test_figure.__test__ = False  # a fixture builder, not a test


def legs_scene():
    """A 240 x 200 image with two skin-coloured bent legs and a Detection that says so.

    Segments 0-1 (left leg) and 2-3 (right leg) meet at knees (row 130); the limbs' hips are
    joined by a limb-limb girdle whose point (row 60, col 100) lies between the hips.
    """
    image = np.full((240, 200, 3), BACKGROUND_RGB, np.uint8)
    segments = (Segment(0, (60.0, 70.0), (130.0, 50.0), 24.0, 0, 1),
                Segment(1, (130.0, 50.0), (220.0, 60.0), 20.0, 1, 2),
                Segment(2, (60.0, 130.0), (130.0, 150.0), 24.0, 3, 4),
                Segment(3, (130.0, 150.0), (220.0, 140.0), 20.0, 4, 5))
    skin = np.zeros((240, 200), np.uint8)
    for s in segments:
        cv2.fillPoly(skin, [np.round(s.ribbon()).astype(np.int32)], 1)
    image[skin > 0] = SKIN_RGB
    limbs = (Limb(0, (0, 1), (130.0, 50.0), 160.0, 0, (60.0, 70.0)),
             Limb(1, (2, 3), (130.0, 150.0), 160.0, 2, (60.0, 130.0)))
    groups = (Group("limb_limb_girdle", (0, 1, 2, 3), (0, 1), (60.0, 100.0), 0.12),)
    # The skin map at half resolution, as the detector keeps it at its working size.
    mask = cv2.resize(skin, (100, 120), interpolation=cv2.INTER_NEAREST).astype(bool)
    detection = Detection(
        decision=True, score=0.83, threshold=0.5, rule="limb_limb_girdle",
        reason="limb-limb girdle of segments [0, 1, 2, 3] covers 12.0 % of the image (>= 5 %); "
               "skin 18 %",
        skin_fraction=float(mask.mean()), passes_skin=True, segments=segments, limbs=limbs,
        groups=groups, image_size=(240, 200), mask=mask, deciding_group=0)
    return image, detection


def nothing_found(detection: Detection) -> Detection:
    return Detection(
        decision=False, score=0.1, threshold=0.5, rule=None, reason="nothing",
        skin_fraction=detection.skin_fraction, passes_skin=False, segments=(), limbs=(),
        groups=(), image_size=detection.image_size, mask=detection.mask)


def near(pixel, colour, tolerance=40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(colour)) <= tolerance))


def colour_fraction(image: np.ndarray, colour, tolerance=40) -> float:
    return float(np.all(np.abs(image.astype(int) - np.array(colour)) <= tolerance, axis=2).mean())


def test_shape_and_dtype_follow_the_image_and_width():
    image, detection = legs_scene()
    overlay = draw(detection, image)
    assert overlay.shape == image.shape and overlay.dtype == np.uint8
    assert draw(detection, image, width=100).shape == (120, 100, 3)
    assert draw(detection, image, width=500).shape == (600, 500, 3)
    assert image[0, 0].tolist() == list(BACKGROUND_RGB), "the input must not be drawn on"


def test_spines_are_red_joints_blue_and_the_deciding_group_green():
    image, detection = legs_scene()
    overlay = draw(detection, image, legend=False)
    bare = draw(nothing_found(detection), image, legend=False)
    for s in detection.segments:
        for t in (0.3, 0.5, 0.7):  # along the spine, away from the joints
            row = int(round(s.p[0] + t * (s.q[0] - s.p[0])))
            col = int(round(s.p[1] + t * (s.q[1] - s.p[1])))
            assert near(overlay[row, col], STYLE.spine), (s.index, t, overlay[row, col])
            assert not near(bare[row, col], STYLE.spine)
    for limb in detection.limbs:
        row, col = (int(v) for v in limb.joint)
        assert near(overlay[row, col], STYLE.limb)
        assert not near(bare[row, col], STYLE.limb)
    # The girdle's point, and the filled ribbon of a deciding segment beside its spine.
    assert near(overlay[60, 100], STYLE.group)
    beside_spine = overlay[95, 68]  # inside segment 0's ribbon, clear of the spine and band
    assert beside_spine[1] > image[95, 68][1] + 30, "deciding ribbons are filled green"
    assert colour_fraction(bare, STYLE.group) < colour_fraction(overlay, STYLE.group)


def test_limbs_draw_a_blue_band_along_both_segments():
    image, detection = legs_scene()
    overlay = draw(detection, image, legend=False)
    without_limbs = draw(Detection(**{**detection.__dict__, "limbs": ()}), image, legend=False)
    blue = colour_fraction(overlay, STYLE.limb)
    assert blue > 3 * colour_fraction(without_limbs, STYLE.limb) and blue > 0.01


def test_skin_is_shown_in_colour_and_the_rest_dimmed():
    image, detection = legs_scene()
    overlay = draw(detection, image, legend=False)
    background = image[200, 100].astype(int)
    assert overlay[200, 100].astype(int).sum() < 0.7 * background.sum()
    assert overlay[200, 100, 2] - overlay[200, 100, 0] < background[2] - background[0], \
        "non-skin is desaturated"
    # Skin away from every mark keeps its colour.
    skin_only = Detection(**{**nothing_found(detection).__dict__,
                             "mask": np.ones((120, 100), bool)})
    assert draw(skin_only, image, legend=False)[200, 100].tolist() == image[200, 100].tolist()
    plain = draw(detection, image, legend=False, show_skin=False)
    assert plain[200, 100].tolist() == image[200, 100].tolist()


def test_banner_states_decision_score_and_rule():
    image, detection = legs_scene()
    overlay = draw(detection, image)
    banner = overlay[:14].astype(int)
    assert banner.mean() < image[:14].astype(int).mean(), "dark banner at the top"
    assert (np.all(banner > 200, axis=2) | near_any(banner, STYLE.positive)).any(), "text"
    first, second = headline(detection)
    assert first == "NUDE body plan 0.83 (limb-limb girdle)"
    assert second == "limb-limb girdle covers 12.0 % >= 5 %; skin 18 %"


def near_any(block: np.ndarray, colour, tolerance=60) -> np.ndarray:
    return np.all(np.abs(block - np.array(colour)) <= tolerance, axis=2)


def test_headline_for_a_refusal_is_short():
    class Refused:
        decision, score, rule = False, 0.14, None
        reason = "skin covers 16.0 % of the image (< 30 %)"

    assert headline(Refused()) == ("no body plan 0.14: skin 16.0 % < 30 %", "")


def test_legend_can_be_left_out():
    image, detection = legs_scene()
    with_legend = draw(detection, image, width=600)
    without = draw(detection, image, width=600, legend=False)
    differs = np.any(with_legend != without, axis=2)
    rows, cols = np.nonzero(differs)
    assert differs.any() and rows.min() > 40, "the legend is a box below the banner"
    assert (rows.max() - rows.min()) < 0.4 * 720 and (cols.max() - cols.min()) < 0.5 * 600


def test_from_dict_round_trip_draws_the_same_image():
    image, detection = legs_scene()
    rebuilt = Detection.from_dict(detection.to_dict())
    np.testing.assert_array_equal(draw(rebuilt, image), draw(detection, image))


def test_detected_figure_overlay_and_round_trip():
    image = test_figure()
    detection = fleck.detect(image)
    overlay = draw(detection, image)
    assert overlay.shape == image.shape
    spines = [s for s in detection.segments if s.length > 12]
    assert spines, "the figure has elongated skin regions"
    # An anti-aliased line of a few pixels: look for its core within one pixel of the midpoint.
    red = sum(near_any(overlay[int(round(s.midpoint[0])) - 1:int(round(s.midpoint[0])) + 2,
                               int(round(s.midpoint[1])) - 1:int(round(s.midpoint[1])) + 2]
                       .astype(int), STYLE.spine, 40).any() for s in spines)
    assert red >= 0.7 * len(spines)
    if detection.deciding_group is not None:
        assert colour_fraction(overlay, STYLE.group) > 0.005
    rebuilt = draw(Detection.from_dict(detection.to_dict()), image)
    np.testing.assert_array_equal(rebuilt, overlay)  # to_dict is lossless: no coordinate moves


def test_overlays_redrawn_from_json_are_pixel_identical_on_the_samples():
    """Detection.to_dict is lossless: JSON -> from_dict -> draw gives the same pixels."""
    import json
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "data_samples"
    checked = 0
    for path in sorted(samples.glob("figure_*.jpg"))[:8]:
        image = fleck.load_image(path)
        detection = fleck.detect(image)
        back = Detection.from_dict(json.loads(json.dumps(detection.to_dict())))
        assert back == detection and back.skin_fraction == detection.skin_fraction
        np.testing.assert_array_equal(draw(back, image), draw(detection, image), str(path))
        checked += bool(detection.segments)
    assert checked >= 4


def test_no_skin_image_draws_a_banner_and_no_marks():
    image = np.full((120, 160, 3), BACKGROUND_RGB, np.uint8)
    detection = fleck.detect(image)
    overlay = draw(detection, image)
    assert overlay[:10].mean() < image[:10].mean()
    for colour in (STYLE.spine, STYLE.limb, STYLE.group):
        assert colour_fraction(overlay[30:], colour, 20) == 0


@pytest.mark.parametrize("size", [(64, 64), (48, 300), (2000, 3000)])
def test_any_size(size):
    image = cv2.resize(test_figure(), size[::-1], interpolation=cv2.INTER_LINEAR)
    detection = fleck.detect(image)
    overlay = draw(detection, image, width=600 if size[1] > 1000 else None)
    expected = (400, 600) if size[1] > 1000 else size
    assert overlay.shape == (*expected, 3)


def test_accepts_what_load_image_accepts(tmp_path):
    image, detection = legs_scene()
    expected = draw(detection, image)
    path = tmp_path / "legs.png"
    Image.fromarray(image).save(path)
    np.testing.assert_array_equal(draw(detection, str(path)), expected)
    np.testing.assert_array_equal(draw(detection, Image.fromarray(image)), expected)
    np.testing.assert_array_equal(draw(detection, io.BytesIO(path.read_bytes())), expected)


def test_a_resized_copy_is_drawn_in_its_own_frame_and_a_wrong_image_refused():
    image, detection = legs_scene()
    half = cv2.resize(image, (100, 120), interpolation=cv2.INTER_AREA)
    overlay = draw(detection, half, legend=False)
    assert near(overlay[65, 25], STYLE.limb), "the knee at (130, 50) maps to (65, 25)"
    with pytest.raises(ValueError, match="240x200"):
        draw(detection, np.zeros((240, 400, 3), np.uint8))
    with pytest.raises(fleck.ImageError):
        draw(detection, b"not an image")


def test_fleck_draw_stays_a_function_after_the_module_is_imported():
    import importlib

    import fleck

    importlib.import_module("fleck.overlay")
    assert callable(fleck.draw) and fleck.draw is draw
