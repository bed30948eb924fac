"""Turn whatever a user hands us into an ``(M, N, 3)`` RGB ``uint8`` array, or refuse clearly.

Accepted sources: a path (``str`` or ``os.PathLike``), encoded bytes (``bytes``, ``bytearray``,
``memoryview``), a binary file object (anything with ``.read()``), a ``PIL.Image.Image``, or a
numpy array. Every failure raises :class:`fleck.errors.ImageError` naming the source and a short
reason; no Pillow, OpenCV or numpy exception escapes, and nothing returns ``None``.

Decoding: the header is read first (Pillow opens lazily) so that size limits are enforced before
any pixel is decoded. JPEGs are decoded by OpenCV (faster), optionally at 1/2, 1/4 or 1/8 size
through libjpeg's DCT scaling (``reduce_to``); everything else, and any JPEG OpenCV cannot or
should not handle (CMYK, no end-of-image marker, decode failure), goes through Pillow. EXIF
orientation is applied by this module in both cases (OpenCV is told to ignore it), so both
decoders give the same orientation.

This package (:mod:`~fleck.loading.sniff`, :mod:`~fleck.loading.decode`,
:mod:`~fleck.loading.convert`) is the only place in ``fleck`` where BGR arrays exist.

>>> import numpy as np
>>> loaded = load(np.zeros((16, 20, 3), np.uint8))
>>> loaded.rgb.shape, loaded.original_size, loaded.name
((16, 20, 3), (16, 20), '<array>')
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from fleck.errors import ImageError
from fleck.loading.base import LOADING, LoadedImage, LoadingConstants, Source
from fleck.loading.convert import _from_array
from fleck.loading.decode import (
    _from_bytes,
    _from_pil,
    _read_file_object,
    _read_path,
    reduction_factor,
)
from fleck.loading.sniff import sniff_image

__all__ = ["LoadedImage", "Source", "load", "load_image", "sniff_image", "reduction_factor",
           "LoadingConstants", "LOADING"]


def load(source: Source, *, reduce_to: int | None = None, max_pixels: int | None = 100_000_000,
         min_size: int = 16, name: str | None = None) -> LoadedImage:
    """Load an image as RGB uint8, applying EXIF orientation, or raise :class:`ImageError`.

    Parameters
    ----------
    source : path, bytes, binary file object, PIL.Image.Image or ndarray
        Arrays are read as **RGB** ``uint8`` ``(M, N, 3)``. **OpenCV arrays are BGR: convert them
        first with** ``image[..., ::-1]`` **or the colours (and every skin decision) are wrong.**
        Also accepted: ``(M, N)`` or ``(M, N, 1)`` greyscale, ``(M, N, 2)`` grey + alpha and
        ``(M, N, 4)`` RGBA (alpha composited on white); dtypes ``bool`` (True = white),
        ``uint16`` (16-bit scale, divided by 257), other integers with values in 0-255, and
        floats on a [0, 1] scale (clipped to it; NaN/inf or a maximum above 2, i.e. 0-255 data,
        are refused). A PIL image is used at its current frame; files give their first frame.
        Encoded formats: JPEG, PNG, GIF, WebP, BMP, TIFF, PBM/PGM/PPM, AVIF, HEIF (with
        pillow-heif), ICO/CUR, JPEG 2000, QOI, PSD, TGA, PCX, SGI, ICNS. Not EPS/PDF/WMF.
    reduce_to : int, optional
        The caller will shrink the image so that height + width == ``reduce_to``. JPEGs are then
        decoded at 1/2, 1/4 or 1/8 size, the largest factor ``f`` with
        ``(H + W) / f >= reduce_to``, so the result is never smaller than asked. Other formats
        and in-memory sources are returned at full size.
    max_pixels : int or None
        Refuse images with more pixels, judged from the file header before decoding. Pillow's
        own decompression-bomb limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``) also applies to files.
    min_size : int
        Refuse images whose height or width is smaller.
    name : str, optional
        What error messages call the source.

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageError
        With ``reason`` one of: "no such file", "is a directory", "permission denied",
        "empty file (0 bytes)", "not an image (unrecognised format)", "truncated or corrupt image
        data: ...", "too large: ...", "too small: ...", "unsupported ...".

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.full((16, 16), 7, np.uint8)
    >>> load(grey).rgb[0, 0].tolist()
    [7, 7, 7]
    >>> load(b"hello", name="greeting.txt")
    Traceback (most recent call last):
    ...
    fleck.errors.ImageError: greeting.txt: not an image (unrecognised format)
    """
    _check_options(reduce_to, max_pixels, min_size)
    limits = (reduce_to, max_pixels, min_size)
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source, name or "<array>", max_pixels, min_size)
    if isinstance(source, Image.Image):
        return _from_pil(source, name or "<PIL image>", None, *limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        if len(source) == 0:
            raise ImageError(label, "empty data (0 bytes)")
        return _from_bytes(source, label, *limits)
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        return _from_bytes(_read_path(source, label), label, *limits)
    if hasattr(source, "read"):
        label = name or "<file object>"
        return _from_bytes(_read_file_object(source, label), label, *limits)
    raise ImageError(name or f"<{type(source).__name__}>",
                     f"unsupported source type {type(source).__name__} (expected a path, bytes, "
                     "a binary file object, a PIL image or an RGB uint8 array)")


def load_image(source: Source, **options) -> np.ndarray:
    """The ``(M, N, 3)`` RGB uint8 pixels of ``source``: ``load(source, **options).rgb``.

    Parameters
    ----------
    source : path, bytes, binary file object, PIL.Image.Image or ndarray
        As for :func:`load`.
    **options
        ``reduce_to``, ``max_pixels``, ``min_size``, ``name`` (see :func:`load`).

    Returns
    -------
    (M, N, 3) uint8 ndarray

    Examples
    --------
    >>> import numpy as np
    >>> load_image(np.ones((16, 16, 4), np.uint8) * 255).shape
    (16, 16, 3)
    """
    return load(source, **options).rgb


def _check_options(reduce_to, max_pixels, min_size) -> None:
    for label, value, allow_none in (("reduce_to", reduce_to, True),
                                     ("max_pixels", max_pixels, True),
                                     ("min_size", min_size, False)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"`{label}` must be a non-negative int"
                             f"{' or None' if allow_none else ''}, got {value!r}")
