"""What the loader works with: :class:`LoadedImage`, the :data:`Source` types, its constants.

>>> LOADING.sniff_bytes, LOADING.reduce_factors
(64, (8, 4, 2))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO, Union

import numpy as np
from PIL import Image

from fleck.errors import ImageError

__all__ = ["LoadedImage", "Source", "LoadingConstants", "LOADING"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, Image.Image,
               np.ndarray]


@dataclass(frozen=True)
class LoadingConstants:
    """Constants of the loader that are engineering choices, not detector thresholds.

    Examples
    --------
    >>> LoadingConstants(sniff_bytes=32).sniff_bytes
    32
    """

    sniff_bytes: int = 64
    """Bytes read by :func:`sniff_image`: every signature we know lies within them."""
    eoi_window: int = 64
    """A JPEG whose end-of-image marker (FF D9) is not within this many final bytes (trailer
    data, truncation) is decoded by Pillow, which reports truncation instead of grey-filling."""
    reduce_factors: tuple[int, ...] = (8, 4, 2)
    """The DCT scaling factors libjpeg offers through OpenCV and ``Image.draft``."""
    float_scale_max: float = 2.0
    """Float arrays are read on a [0, 1] scale and clipped (resampling overshoot is harmless);
    a maximum above this means the caller passed 0-255 data, which would silently turn white."""


LOADING = LoadingConstants()


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image with what the caller needs to relate it to the file.

    Attributes
    ----------
    rgb : (M, N, 3) uint8 ndarray
        RGB pixels, C-contiguous, EXIF orientation applied. Smaller than ``original_size`` when
        a JPEG was decoded at reduced size (``reduce_to``). For an RGB uint8 array source this
        may be the caller's own array (not copied).
    original_size : (int, int)
        ``(height, width)`` of the full image after EXIF orientation.
    name : str
        How messages refer to the source: the path, or ``"<bytes>"``, ``"<file object>"``,
        ``"<PIL image>"``, ``"<array>"`` unless ``name=`` was given.
    reduction : int
        The DCT scaling factor used when decoding (1, 2, 4 or 8).

    Examples
    --------
    >>> from fleck.loading import load
    >>> loaded = load(np.zeros((16, 20, 3), np.uint8))
    >>> loaded.shape, loaded.original_size, loaded.reduction
    ((16, 20), (16, 20), 1)
    """

    rgb: np.ndarray = field(repr=False)
    original_size: tuple[int, int]
    name: str
    reduction: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of :attr:`rgb`."""
        return self.rgb.shape[:2]


def _check_size(label: str, height: int, width: int, max_pixels, min_size) -> None:
    pixels = height * width
    if max_pixels is not None and pixels > max_pixels:
        raise ImageError(label, f"too large: {width}x{height} = {pixels / 1e6:.1f} megapixels "
                                f"> limit {max_pixels / 1e6:.1f}")
    if min(height, width) < min_size:
        raise ImageError(label, f"too small: {width}x{height} < minimum side {min_size}")
