"""The textbook skin rules on hand-computed pixels on both sides of every bound."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from fleck.errors import ImageError
from fleck.skin_rules import chai_ngan_ycrcb, kovac_rgb


def jpeg_chroma(rgb):
    """Cr, Cb by the JPEG formulas OpenCV documents, before rounding."""
    r, g, b = (float(v) for v in rgb)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return (r - y) * 0.713 + 128, (b - y) * 0.564 + 128


# (RGB, Cr, Cb before rounding, skin?) -- each pair straddles one bound, the other chroma
# value well inside its range. Worked example, first row: Y = 0.299*167 + 0.587*138 +
# 0.114*44 = 136.04; Cb = (44 - 136.04) * 0.564 + 128 = 76.09 -> 76 < 77.
CHAI_NGAN_CASES = [
    ((167, 138, 44), 150.14, 76.09, False),   # Cb 76: under the Cb floor 77
    ((166, 137, 45), 149.97, 77.14, True),    # Cb 77: on the floor
    ((186, 140, 153), 149.93, 126.74, True),  # Cb 127: on the ceiling
    ((185, 139, 154), 149.77, 127.74, False),  # Cb 128: over the ceiling
    ((121, 122, 66), 132.05, 100.19, False),  # Cr 132: under the Cr floor 133
    ((123, 122, 66), 133.05, 99.85, True),    # Cr 133: on the floor
    ((160, 74, 47), 173.18, 100.01, True),    # Cr 173: on the ceiling
    ((161, 73, 47), 174.10, 100.17, False),   # Cr 174: over the ceiling
]


@pytest.mark.parametrize("rgb, cr, cb, skin", CHAI_NGAN_CASES)
def test_chai_ngan_bounds(rgb, cr, cb, skin):
    assert jpeg_chroma(rgb) == pytest.approx((cr, cb), abs=0.06)
    # OpenCV's fixed-point conversion rounds these to the nearest integer.
    ycrcb = cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2YCrCb)[0, 0]
    assert (int(ycrcb[1]), int(ycrcb[2])) == (round(cr), round(cb))
    assert bool(chai_ngan_ycrcb(np.array(rgb, np.uint8))) is skin


# Base (150, 100, 80) passes; each pair changes one value across one bound.
KOVAC_CASES = [
    ((96, 60, 40), True), ((95, 60, 40), False),        # R > 95
    ((150, 41, 30), True), ((150, 40, 30), False),      # G > 40
    ((150, 100, 21), True), ((150, 100, 20), False),    # B > 20
    ((150, 134, 100), True), ((150, 135, 100), False),  # |R - G| > 15 (16 vs 15)
    ((134, 150, 100), False),                           # |R - G| = 16 but R < G
    ((150, 100, 149), True), ((150, 100, 150), False),  # R > B
    ((150, 100, 80), True),
]


@pytest.mark.parametrize("rgb, skin", KOVAC_CASES)
def test_kovac_bounds(rgb, skin):
    assert bool(kovac_rgb(np.array(rgb, np.uint8))) is skin


def test_kovac_spread_is_implied_by_the_other_tests():
    # max - min > 15 cannot fail alone: R is the maximum and R - G > 15 already. So check the
    # rule on every grey-ish pixel with a small spread instead: none may pass.
    rng = np.random.default_rng(0)
    base = rng.integers(96, 240, size=(2000, 1))
    pixels = np.clip(base + rng.integers(0, 16, size=(2000, 3)), 0, 255).astype(np.uint8)
    assert not kovac_rgb(pixels).any()


@pytest.mark.parametrize("rule", [chai_ngan_ycrcb, kovac_rgb])
def test_shapes_follow_the_input(rule):
    image = np.zeros((7, 5, 3), np.uint8)
    image[2, 3] = (176, 112, 80)  # tan skin, passes both rules
    mask = rule(image)
    assert mask.shape == (7, 5) and mask.dtype == bool
    assert mask.sum() == 1 and mask[2, 3]
    assert rule(image.reshape(-1, 3)).tolist() == mask.ravel().tolist()
    assert rule(np.asfortranarray(image)).tolist() == mask.tolist()


@pytest.mark.parametrize("rule", [chai_ngan_ycrcb, kovac_rgb])
@pytest.mark.parametrize("bad, words", [
    (np.zeros((4, 4, 3), np.float32), "uint8"),
    (np.zeros((4, 4), np.uint8), "(..., 3)"),
    ([[1, 2, 3]], "numpy array"),
])
def test_bad_input_raises_image_error(rule, bad, words):
    with pytest.raises(ImageError, match=re.escape(words)):
        rule(bad)
