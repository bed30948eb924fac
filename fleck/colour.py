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
import zlib

import numpy as np

from fleck.config import SkinConfig

__all__ = ["log_opponent", "content_noise"]

_NOISE_VALUES = 1 << 20


def log_opponent(image: np.ndarray, skin: SkinConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-response subtraction and the log-opponent transform (spec 1.1-1.2).

    With ``skin.noise`` the uniform [0, 1) noise is a slice of a fixed random buffer at an
    offset given by a CRC of the pixels, so equal inputs give bit-identical outputs (see
    :func:`content_noise`).

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
    rgb = image.astype(np.float32)
    if skin.zero_response:
        rgb -= min(_zero_response(image, skin.zero_response_border), skin.zero_response_max)
        np.maximum(rgb, 0.0, out=rgb)
    rgb += 1.0
    if skin.noise:
        rgb += content_noise(image)
    logs = np.log10(rgb)
    logs *= skin.log_gain
    log_r, log_g, log_b = logs[..., 0], logs[..., 1], logs[..., 2]
    rg = log_r - log_g
    by = log_b - (log_g + log_r) * 0.5
    intensity = log_g.copy() if skin.intensity == "green" else logs.mean(axis=2)
    return intensity, rg, by


@functools.lru_cache(maxsize=1)
def _noise_buffer() -> np.ndarray:
    buffer = np.random.default_rng(1996).random(_NOISE_VALUES, dtype=np.float32)
    buffer.setflags(write=False)
    return buffer


def content_noise(image: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) noise of ``image``'s shape, chosen by a CRC of its pixels.

    Seeding a fresh generator per image costs as much as the rest of the log transform, so the
    values come from one cached buffer, read from an offset set by the image content (wrapping
    around for images larger than the buffer).

    Parameters
    ----------
    image : ndarray
        Any array; its bytes choose the offset.

    Returns
    -------
    float32 ndarray
        Of ``image.shape``.

    Examples
    --------
    >>> a = content_noise(np.zeros((2, 3), np.uint8))
    >>> a.shape, bool((a >= 0).all() and (a < 1).all())
    ((2, 3), True)
    >>> bool((content_noise(np.zeros((2, 3), np.uint8)) == a).all())
    True
    """
    count = image.size
    start = zlib.crc32(np.ascontiguousarray(image).data) % _NOISE_VALUES
    buffer = _noise_buffer()
    if start + count <= _NOISE_VALUES:
        values = buffer[start:start + count]
    else:
        values = np.resize(np.roll(buffer, -start), count)
    return values.reshape(image.shape)


def _zero_response(image: np.ndarray, border: int) -> float:
    rows, cols = image.shape[:2]
    inner = image
    if rows > 2 * border and cols > 2 * border:
        inner = image[border:rows - border, border:cols - border]
    return float(inner.min())
