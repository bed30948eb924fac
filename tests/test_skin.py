"""The skin filter against spec 1.13's sanity table and its invariances."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fleck.config import FLECK_1996, KAPUR, SkinConfig
from fleck.skin import (
    _disk_spectrum,
    disk_counts,
    disk_footprint,
    scale_of,
    skin_filter,
    skin_map,
    texture_amplitude,
    texture_at_most,
    texture_difference,
    working_shape,
)

# Spec 1.13: uniform patches, n = 0, no zero response. (RGB, hue, sat, stage 1, stage 2);
# stage 1 None = borderline (sat exactly 20.0), not asserted.
SANITY = {
    "pale skin": ((224, 172, 138), 143.1, 20.0, None, True),
    "light skin": ((233, 190, 160), 143.3, 15.5, False, True),
    "tan": ((176, 112, 80), 141.2, 32.6, True, True),
    "dark skin": ((141, 85, 56), 142.9, 37.9, True, True),
    "very dark": ((90, 56, 37), 143.8, 36.1, True, True),
    "pure red": ((220, 30, 30), 116.6, 100.1, False, True),
    "orange": ((240, 150, 20), 168.0, 102.9, True, True),
    "yellow": ((230, 220, 60), 178.1, 59.7, False, True),
    "pine wood": ((200, 150, 90), 156.2, 32.4, True, True),
    "bread crust": ((190, 120, 60), 153.4, 46.6, True, True),
    "pink": ((240, 170, 190), 100.1, 15.9, False, False),
    "grey": ((128, 128, 128), 0.0, 0.0, False, False),
    "white": ((255, 255, 255), 0.0, 0.0, False, False),
}
PLAIN = dataclasses.replace(FLECK_1996.skin, zero_response=False, noise=False)


def patch(rgb, shape=(90, 120)):
    return np.full((*shape, 3), rgb, np.uint8)


@pytest.mark.parametrize("name", SANITY)
def test_sanity_table(name):
    rgb, hue, sat, stage1, stage2 = SANITY[name]
    result = skin_map(patch(rgb), PLAIN, keep_maps=True)
    assert result.maps["hue"].mean() == pytest.approx(hue, abs=0.3)  # cartToPolar: ~0.3 deg
    assert result.maps["saturation"].mean() == pytest.approx(sat, abs=0.1)
    if stage1 is not None:
        marked = result.maps["stage1"]
        assert bool(marked.all()) is stage1 and bool(marked.any()) is stage1
    # A uniform patch passes stage 2 everywhere iff the density step keeps it (needs stage 1).
    expected_final = stage2 and bool(result.maps["stage1"].all())
    assert bool(result.mask.all()) is expected_final


@pytest.mark.parametrize("rgb", [(128, 128, 128), (255, 255, 255), (0, 0, 0), (40, 40, 40)])
def test_grey_and_white_give_no_skin(rgb):
    result = skin_map(patch(rgb))
    assert result.fraction == 0.0 and not result.passes


def test_flat_pale_skin_field_passes():
    result = skin_filter(patch((224, 172, 138), (480, 640)))
    assert result.passes and result.fraction > 0.99


def test_high_texture_skin_colour_is_rejected():
    rng = np.random.default_rng(1)
    base = patch((176, 112, 80), (120, 160)).astype(np.float32)
    noisy = np.clip(base * rng.uniform(0.4, 1.6, size=(120, 160, 1)), 0, 255).astype(np.uint8)
    assert skin_map(patch((176, 112, 80), (120, 160))).fraction == 1.0
    assert skin_map(noisy).fraction < 0.05


def test_density_growth_removes_isolated_specks_and_keeps_large_regions():
    image = patch((70, 110, 160), (160, 160))  # blue background: no skin
    image[70:73, 20:23] = (176, 112, 80)        # a 3x3 speck: under 1/8 of any disk
    image[40:140, 80:150] = (176, 112, 80)      # a large skin block
    mask = skin_map(image).mask
    assert not mask[70:73, 20:23].any()
    assert mask[60:120, 95:135].all()


def _exact_disk_counts(mask, radius):
    """Integer disk sums, row by row from prefix sums (no floating point)."""
    rows, cols = mask.shape
    prefix = np.zeros((rows + 2 * radius, cols + 2 * radius + 1), np.int64)
    prefix[radius:radius + rows, radius + 1:radius + 1 + cols] = np.cumsum(mask, axis=1)
    prefix[radius:radius + rows, radius + 1 + cols:] = prefix[radius:radius + rows,
                                                              radius + cols:radius + cols + 1]
    counts = np.zeros((rows, cols), np.int64)
    for offset, width in enumerate((disk_footprint(radius).sum(axis=1) // 2).astype(int)):
        band = prefix[offset:offset + rows]
        counts += band[:, radius + width + 1:radius + width + 1 + cols]
        counts -= band[:, radius - width:radius - width + cols]
    return counts


@pytest.mark.parametrize("shape, radius", [((137, 183), 24), ((20, 31), 7), ((9, 5), 12),
                                           ((600, 800), 90)])
def test_disk_counts_are_the_exact_integer_sums(shape, radius):
    rng = np.random.default_rng(radius)
    masks = [rng.random(shape) < p for p in (0.0, 0.02, 0.3, 0.9, 1.0)]
    masks.append(cv2.GaussianBlur(rng.random(shape), (0, 0), 4) > 0.5)  # blobs
    for mask in masks:
        assert np.array_equal(disk_counts(mask, radius), _exact_disk_counts(mask, radius))
    # The working size runs in float32; large maps with large disks need float64.
    expected = np.float64 if shape == (600, 800) else np.float32
    assert _disk_spectrum(*shape, radius).dtype == expected


def test_desaturated_highlight_next_to_skin_is_recovered_by_stage2():
    image = patch((176, 112, 80), (160, 160))
    image[70:90, 70:90] = (233, 190, 160)  # light, low-saturation "highlight": fails stage 1
    result = skin_map(image, keep_maps=True)
    assert not result.maps["stage1"][75:85, 75:85].any()
    assert result.mask[75:85, 75:85].all()


def test_texture_count_shortcut_equals_median_map():
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, (100, 130, 3), np.uint8), (0, 0), 2)
    for window in ("square", "disk"):
        skin = dataclasses.replace(FLECK_1996.skin, median_window=window)
        intensity = np.asarray(skin_map(image, skin, keep_maps=True).maps["intensity"])
        difference = texture_difference(intensity, 1.0, skin)
        texture = texture_amplitude(intensity, 1.0, skin)
        for limit in (2.0, 5.0, 10.0):
            assert np.array_equal(texture_at_most(difference, limit, 1.0, skin), texture <= limit)


def scene(size):
    """A figure-like scene: shaded skin ellipses on a dark-blue textured background."""
    rows, cols = size
    yy, xx = np.mgrid[0:rows, 0:cols] / np.array([rows, cols])[:, None, None]
    rng = np.random.default_rng(0)
    image = np.zeros((rows, cols, 3), np.float32)
    image[:] = (40, 60, 110)
    image += cv2.resize(rng.normal(0, 12, (24, 32)).astype(np.float32), (cols, rows))[..., None]
    for cy, cx, ry, rx in ((0.55, 0.5, 0.32, 0.14), (0.17, 0.5, 0.09, 0.07),
                           (0.5, 0.3, 0.25, 0.05), (0.5, 0.7, 0.25, 0.05)):
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        shade = np.clip(1.1 - 0.5 * inside, 0.6, 1.1)
        image[inside <= 1] = (np.array((176, 112, 80)) * shade[inside <= 1, None])
    return np.clip(image, 0, 255).astype(np.uint8)


def test_same_scene_at_half_and_double_size_gives_same_skin_fraction():
    base = scene((240, 320))
    half = cv2.resize(base, (160, 120), interpolation=cv2.INTER_AREA)
    double = cv2.resize(base, (640, 480), interpolation=cv2.INTER_CUBIC)
    native = FLECK_1996.replace(working_size=None)
    fractions = [skin_filter(image, native).fraction for image in (half, base, double)]
    assert 0.2 < fractions[1] < 0.6
    assert max(fractions) - min(fractions) <= 0.02
    default = [skin_filter(image).fraction for image in (half, base, double)]
    assert max(default) - min(default) <= 0.02


def test_deterministic_and_noise_local_to_each_pixel():
    image = scene((120, 160))
    first, second = skin_map(image, keep_maps=True), skin_map(image.copy(), keep_maps=True)
    assert np.array_equal(first.mask, second.mask)
    assert np.array_equal(first.maps["intensity"], second.maps["intensity"])
    # One changed value redraws the noise of that pixel and its four neighbours only.
    other = image.copy()
    other[50, 70, 1] ^= 1
    changed = skin_map(other, keep_maps=True).maps["intensity"] != first.maps["intensity"]
    assert changed[50, 70] and set(zip(*np.nonzero(changed), strict=True)) <= {
        (50, 70), (49, 70), (51, 70), (50, 69), (50, 71)}
    # A mirrored image gets the mirrored noise, so the mirrored maps.
    mirrored = skin_map(np.ascontiguousarray(image[:, ::-1]), keep_maps=True)
    assert np.array_equal(mirrored.maps["intensity"], first.maps["intensity"][:, ::-1])


def test_noise_is_uniform_in_unit_interval():
    from fleck.colour import local_noise as _local_noise

    rng = np.random.default_rng(3)
    noise = _local_noise(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))
    assert noise.dtype == np.float32 and noise.min() >= 0.0 and noise.max() < 1.0
    counts, _ = np.histogram(noise, bins=10, range=(0.0, 1.0))
    assert counts.min() > 0.9 * noise.size / 10 and counts.max() < 1.1 * noise.size / 10


def test_kapur_is_a_separate_configuration():
    assert KAPUR.skin != FLECK_1996.skin
    assert FLECK_1996.skin == SkinConfig()
    # Very dark skin fails Kapur's grey-level range (95-240), not the 1996 filter.
    dark = patch((90, 56, 37), (120, 160))
    assert skin_map(dark, FLECK_1996).passes and not skin_map(dark, KAPUR).passes


def test_working_size_and_scale():
    assert scale_of((128, 192)) == 1.0 and scale_of((480, 640)) == 3.5
    assert working_shape((3000, 2000), 320) == (192, 128)
    result = skin_filter(patch((176, 112, 80), (480, 640)))
    assert result.mask.shape == (137, 183) and result.scale == pytest.approx(1.0, abs=0.01)
    assert result.mask_at((480, 640)).shape == (480, 640)
    native = skin_filter(patch((176, 112, 80), (60, 80)), FLECK_1996.replace(working_size=None))
    assert native.mask.shape == (60, 80)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 10), np.uint8), "shape"),
    (np.zeros((10, 10, 4), np.uint8), "shape"),
    (np.zeros((10, 10, 3), np.float32), "uint8"),
    ([[1, 2, 3]], "numpy array"),
])
def test_bad_arrays_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        skin_map(bad)


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="growth"):
        SkinConfig(growth="dilate")


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(16, 90), st.integers(16, 90), st.just(3))))
def test_any_rgb_array_gives_a_boolean_mask_of_its_shape(image):
    native = skin_map(image)
    assert native.mask.dtype == bool and native.mask.shape == image.shape[:2]
    assert 0.0 <= native.fraction <= 1.0
    filtered = skin_filter(image)
    assert filtered.mask_at(image.shape[:2]).shape == image.shape[:2]
