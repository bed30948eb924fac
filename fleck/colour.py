"""Colour transforms shared by the skin filter and the fitted skin model (spec 1.1-1.2).

:func:`log_opponent` turns RGB into the log-opponent intensity ``I`` and chroma ``Rg``, ``By``
of Fleck, Forsyth and Bregler. It lives here, not in :mod:`fleck.skin`, so that the skin filter
and :mod:`fleck.skin_model` (which the filter uses) both import it without importing each other.

>>> import numpy as np
>>> from fleck.config import FLECK_1996
>>> i, rg, by = log_opponent(np.full((2, 2, 3), (176, 112, 80), np.uint8), FLECK_1996.skin)
>>> i.shape, i.dtype, bool((rg > 0).all())
((2, 2), dtype('float32'), True)
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from fleck.config import SkinConfig

__all__ = ["log_opponent", "local_noise"]


def log_opponent(image: np.ndarray, skin: SkinConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-response subtraction and the log-opponent transform (spec 1.1-1.2).

    With ``skin.noise`` the uniform [0, 1) noise is a hash of each value's neighbourhood (see
    :func:`local_noise`), so equal inputs give bit-identical outputs and a mirrored input the
    mirrored output.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray
        RGB image.
    skin : SkinConfig
        Zero response, noise, log gain and intensity definition.

    Returns
    -------
    intensity, rg, by : (M, N) float32 ndarrays
        ``I``, ``Rg`` and ``By`` in ``skin.log_gain`` log10 units (105 in the paper).

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> grey = np.full((1, 1, 3), 128, np.uint8)
    >>> _, rg, by = log_opponent(grey, FLECK_1996.skin)  # grey has no chroma (up to the noise)
    >>> bool(abs(rg[0, 0]) < 1 and abs(by[0, 0]) < 1)
    True
    """
    zero = None
    if skin.zero_response:
        zero = min(_zero_response(image, skin.zero_response_border), skin.zero_response_max)
    # max(value - zero, 0) + 1 of every uint8 value, looked up (the same float32 operations).
    table = _base_values(zero)
    rgb = cv2.LUT(image, table) if image.shape[2] in (3, 4) else table[image]
    if skin.noise:
        rgb += local_noise(image)
    logs = np.log10(rgb, out=rgb)
    logs *= skin.log_gain
    log_r, log_g, log_b = logs[..., 0], logs[..., 1], logs[..., 2]
    rg = log_r - log_g
    by = log_g + log_r
    by *= 0.5
    np.subtract(log_b, by, out=by)
    intensity = log_g.copy() if skin.intensity == "green" else logs.mean(axis=2)
    return intensity, rg, by


@functools.lru_cache(maxsize=64)
def _base_values(zero: float | None) -> np.ndarray:
    """``max(v - zero, 0) + 1`` in float32 for v = 0..255 (``v + 1`` when ``zero`` is None)."""
    table = np.arange(256, dtype=np.float32)
    if zero is not None:
        table -= zero
        np.maximum(table, 0.0, out=table)
    table += 1.0
    table.setflags(write=False)
    return table


def local_noise(image: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) noise of ``image``'s shape, a hash of each value and its surroundings.

    The spec's noise term only breaks up banding in dark areas; any fixed pseudo-random choice
    does that. Each value's noise is a hash of the value, its channel and the sum of the same
    channel over its four neighbours (borders replicated), so it depends on the pixel's own
    neighbourhood only: a mirrored, rotated or cropped image gets the mirrored, rotated or
    cropped noise, and changing one pixel redraws the noise of five pixels, not of the whole
    image. (A seed taken from a checksum of all pixels, as before, redrew every value on any
    change and flipped decisions under a mirror or a JPEG re-save.)

    Parameters
    ----------
    image : (M, N, C) uint8 ndarray

    Returns
    -------
    (M, N, C) float32 ndarray
        Values in [0, 1).

    Examples
    --------
    >>> a = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    >>> noise = local_noise(a)
    >>> bool(noise.min() >= 0 and noise.max() < 1)
    True
    >>> bool(np.array_equal(noise[:, ::-1], local_noise(a[:, ::-1].copy())))
    True
    """
    padded = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    if padded.ndim == 2:  # OpenCV drops a single channel's axis
        padded = padded[..., None]
    key = padded[:-2, 1:-1].astype(np.uint32)
    key += padded[2:, 1:-1]
    key += padded[1:-1, :-2]
    key += padded[1:-1, 2:]
    key <<= np.uint32(8)
    key |= image
    key |= np.arange(image.shape[2], dtype=np.uint32) << np.uint32(18)
    # The 32-bit finaliser of MurmurHash3: every input bit affects every output bit. (In place:
    # the image is small, so allocating temporaries costs as much as the arithmetic.)
    shifted = np.empty_like(key)
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35), (16, None)):
        np.right_shift(key, np.uint32(shift), out=shifted)
        key ^= shifted
        if factor is not None:
            key *= np.uint32(factor)
    key >>= np.uint32(8)
    noise = key.astype(np.float32)
    noise *= np.float32(2.0 ** -24)
    return noise


def _zero_response(image: np.ndarray, border: int) -> float:
    rows, cols = image.shape[:2]
    inner = image
    if rows > 2 * border and cols > 2 * border:
        inner = image[border:rows - border, border:cols - border]
    return float(inner.min())
