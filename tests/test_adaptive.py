"""Per-image adaptive skin colour (fleck.adaptive): mirror-equivariance, fallback, effect."""

from __future__ import annotations

import numpy as np
import pytest

from fleck.adaptive import adapt, fit_skin_colour
from fleck.config import FITTED_STRICT_SKIN, FLECK_PLUS_SKIN, SkinConfig
from fleck.skin import skin_colour, skin_map

TAN = (176, 112, 80)


def _scene(seed: int = 0) -> np.ndarray:
    """A noisy, asymmetric scene: a tan figure-like blob, a beige 'wall' strip, texture."""
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 90, (96, 128, 3)).astype(np.uint8)
    image[20:80, 30:60] = TAN
    image[40:60, 60:100] = (190, 130, 95)
    image[5:30, 100:125] = (205, 180, 140)  # beige
    noise = rng.integers(-6, 7, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("flip", ["lr", "ud", "rot90"])
def test_adaptive_skin_map_is_mirror_equivariant_bit_for_bit(seed, flip):
    image = _scene(seed)
    op = {"lr": np.fliplr, "ud": np.flipud, "rot90": np.rot90}[flip]
    plain = skin_map(image, FLECK_PLUS_SKIN, keep_maps=True)
    moved = skin_map(np.ascontiguousarray(op(image)), FLECK_PLUS_SKIN, keep_maps=True)
    assert plain.mask.any()  # the scene has skin: the comparison is not between empty maps
    np.testing.assert_array_equal(op(plain.mask), moved.mask)
    np.testing.assert_array_equal(op(plain.maps["adaptive"]), moved.maps["adaptive"])
    assert skin_colour(image) == skin_colour(np.ascontiguousarray(op(image)))


def test_skin_colour_is_found_and_shifts_the_score_towards_it():
    image = _scene()
    colour = skin_colour(image)
    assert colour is not None and colour.seed_pixels > 100
    result = skin_map(image, FLECK_PLUS_SKIN, keep_maps=True)
    adapted, llr = result.maps["adaptive"], result.maps["llr"]
    tan = np.zeros(image.shape[:2], bool)
    tan[25:75, 35:55] = True
    shift = adapted - llr
    assert shift[tan].mean() > 1.0  # the figure's own colour gains
    assert shift.min() >= -FLECK_PLUS_SKIN.adaptive_penalty_max - 1e-6  # the cap holds
    assert result.maps["seed"][tan].mean() > 0.5


def test_no_confident_skin_falls_back_to_the_fitted_table():
    grey = np.random.default_rng(0).integers(90, 110, (64, 80, 3)).astype(np.uint8)
    assert skin_colour(grey) is None
    adaptive = skin_map(grey, FLECK_PLUS_SKIN, keep_maps=True)
    fixed = skin_map(grey, FITTED_STRICT_SKIN, keep_maps=True)
    np.testing.assert_array_equal(adaptive.mask, fixed.mask)
    np.testing.assert_array_equal(adaptive.maps["adaptive"], fixed.maps["llr"])


def test_a_seed_below_the_minimum_falls_back():
    flat = np.zeros((50, 50), np.float32)
    llr = np.full((50, 50), 2.0, np.float32)
    stage1 = np.zeros((50, 50), bool)
    stage1[0, :5] = True  # 5 confident pixels: under MIN_SEED_PIXELS
    result = adapt(flat + 20, flat - 30, flat + 200, llr, stage1, FLECK_PLUS_SKIN)
    assert result.colour is None and result.score is llr
    stage1[0, :20] = True
    assert adapt(flat + 20, flat - 30, flat + 200, llr, stage1, FLECK_PLUS_SKIN).colour


def test_fit_is_independent_of_pixel_order():
    rng = np.random.default_rng(3)
    rg, by, i = (rng.normal(m, 4, (30, 30)).astype(np.float32) for m in (20, -30, 200))
    seed = rng.random((30, 30)) < 0.4
    perm = rng.permutation(900)
    shuffled = [a.ravel()[perm].reshape(30, 30) for a in (rg, by, i, seed)]
    assert fit_skin_colour(rg, by, i, seed, (1, 1, 1)) == fit_skin_colour(*shuffled, (1, 1, 1))


def test_adaptive_needs_the_table():
    with pytest.raises(ValueError, match="colour_model='table'"):
        SkinConfig(adaptive=True)
