"""Censoring an image in memory: which pixels to cover (:func:`cover`) and how to obscure them
(:func:`obscure`, :func:`censor`). See :mod:`fleck.censoring`.

>>> import numpy as np
>>> out = censor(np.full((60, 80, 3), (176, 112, 80), np.uint8), what="skin", mode="fill")
>>> bool((out == 0).all())
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fleck.config import FleckConfig
from fleck.regions import COVER_WHAT, cover_mask

if TYPE_CHECKING:
    from fleck.detector import Detection
    from fleck.loading import Source

__all__ = ["censor", "obscure", "cover", "default_margin", "CensorStyle", "CENSOR", "MODES",
           "COVER_WHAT"]

MODES = ("blur", "pixelate", "fill", "box")


@dataclass(frozen=True)
class CensorStyle:
    """How strongly and in what colour to censor: presentation choices, not detector settings.

    Lengths are fractions of the image's mean side (height + width) / 2, so that a censored
    image and its thumbnail look the same.

    >>> CensorStyle(fill=(255, 255, 255)).pixel_cell == CENSOR.pixel_cell
    True
    """

    blur_sigma: float = 1 / 20
    """Gaussian standard deviation. At 1/20 a limb (about 1/15 of the side wide in a framed
    figure) is smeared over three times its width: no shape inside it survives."""
    pixel_cell: float = 1 / 24
    """Mosaic cell side: a framed figure's limb is one or two cells wide."""
    min_blur_sigma: float = 3.0
    min_pixel_cell: int = 4
    """Floors in pixels, for tiny images."""
    margin: float = 1 / 100
    """Default margin around the covered area."""
    fill: tuple[int, int, int] = (0, 0, 0)
    """Colour of ``fill`` and ``box`` (RGB)."""


CENSOR = CensorStyle()


def _mean_side(shape) -> float:
    return (int(shape[0]) + int(shape[1])) / 2.0


def default_margin(shape: tuple[int, int], style: CensorStyle = CENSOR) -> float:
    """The margin (pixels) used when none is given: ``style.margin`` of the mean side.

    Parameters
    ----------
    shape : (int, int)
        (rows, cols) of the image.
    style : CensorStyle

    Returns
    -------
    float

    Examples
    --------
    >>> default_margin((480, 640))
    5.6
    """
    return round(style.margin * _mean_side(shape), 2)


def cover(detection: Detection, what: str, shape: tuple[int, int], *,
          margin: float | None = None, config: FleckConfig | str | None = None,
          style: CensorStyle = CENSOR) -> tuple[np.ndarray, str]:
    """The pixels to censor, and which ``what`` produced them.

    A flagged detection (``decision``) whose ``what`` covers nothing falls back to the next
    wider choice (groups -> limbs -> skin); an unflagged one does not.

    Parameters
    ----------
    detection : Detection
    what : {'groups', 'limbs', 'skin'}
    shape : (int, int)
        (rows, cols) of the image to censor.
    margin : float, optional
        Pixels added around the covered area (default: :func:`default_margin`).
    config : FleckConfig or name, optional
        Which groups fire the rule (default: the detection's configuration).
    style : CensorStyle

    Returns
    -------
    ((M, N) bool ndarray, str)
        The pixels to censor and the ``what`` used.

    Examples
    --------
    >>> import numpy as np, fleck
    >>> d = fleck.detect(np.full((60, 80, 3), (176, 112, 80), np.uint8))
    >>> mask, used = cover(d, "groups", (60, 80))
    >>> bool(mask.any()), used
    (False, 'groups')
    """
    if what not in COVER_WHAT:
        raise ValueError(f"what must be one of {', '.join(COVER_WHAT)}, got {what!r}")
    margin = default_margin(shape, style) if margin is None else float(margin)
    if margin < 0:
        raise ValueError(f"margin must be at least 0 pixels, got {margin}")
    choices = COVER_WHAT[COVER_WHAT.index(what):] if detection.decision else (what,)
    for used in choices:
        mask = cover_mask(detection, used, shape, margin=margin, config=config)
        if mask.any():
            return mask, used
    return mask, what


def obscure(rgb: np.ndarray, mask: np.ndarray, mode: str = "blur", *,
            style: CensorStyle = CENSOR) -> np.ndarray:
    """A copy of ``rgb`` with the pixels of ``mask`` obscured by ``mode``.

    Parameters
    ----------
    rgb : (M, N, 3) uint8 ndarray
    mask : (M, N) bool ndarray
        The pixels to censor. ``blur`` and ``pixelate`` take their colours from around them
        too (a blurred limb includes its surroundings), but only these pixels change.
    mode : {'blur', 'pixelate', 'fill', 'box'}
        ``box`` fills the bounding box of each connected part of ``mask``.
    style : CensorStyle

    Returns
    -------
    (M, N, 3) uint8 ndarray

    Examples
    --------
    >>> rgb = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)
    >>> mask = np.zeros((48, 64), bool); mask[10:20, 10:20] = True
    >>> out = obscure(rgb, mask, "pixelate")
    >>> bool((out[~mask] == rgb[~mask]).all()), bool((out[mask] != rgb[mask]).any())
    (True, True)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be an (M, N, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask must have shape {rgb.shape[:2]}, got {mask.shape}")
    out = rgb.copy()
    mask_u8 = mask.astype(np.uint8)
    x, y, w, h = cv2.boundingRect(mask_u8)
    if w == 0 or h == 0:
        return out
    side = _mean_side(rgb.shape)
    if mode == "fill":
        out[mask] = style.fill
    elif mode == "box":
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask_u8, connectivity=8)
        for left, top, width, height, _ in stats[1:count]:
            out[top:top + height, left:left + width] = style.fill
    elif mode == "pixelate":
        cell = max(style.min_pixel_cell, int(round(style.pixel_cell * side)))
        # Cells on a grid anchored at the image's corner: neighbouring regions share cells.
        top, left = y - y % cell, x - x % cell
        bottom, right = min(rgb.shape[0], y + h), min(rgb.shape[1], x + w)
        crop = rgb[top:bottom, left:right]
        rows, cols = -(-crop.shape[0] // cell), -(-crop.shape[1] // cell)
        padded = cv2.copyMakeBorder(crop, 0, rows * cell - crop.shape[0], 0,
                                    cols * cell - crop.shape[1], cv2.BORDER_REPLICATE)
        small = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (cols * cell, rows * cell), interpolation=cv2.INTER_NEAREST)
        _paste(out, mosaic[:crop.shape[0], :crop.shape[1]], mask, top, left)
    else:
        sigma = max(style.min_blur_sigma, style.blur_sigma * side)
        reach = int(math.ceil(3 * sigma))
        top, left = max(0, y - reach), max(0, x - reach)
        bottom, right = min(rgb.shape[0], y + h + reach), min(rgb.shape[1], x + w + reach)
        _paste(out, _blur(rgb[top:bottom, left:right], sigma), mask, top, left)
    return out


def _blur(crop: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``sigma`` px, computed on a copy shrunk by a whole factor (the cost
    stays about a millisecond whatever sigma: a direct 28 px blur costs ~20x more and looks the
    same)."""
    factor = max(1, int(sigma // 3))
    rows, cols = crop.shape[:2]
    # Padded to whole cells: OpenCV's area shrink is 4x faster by a whole factor.
    padded = cv2.copyMakeBorder(crop, 0, -rows % factor, 0, -cols % factor, cv2.BORDER_REFLECT)
    small_size = (padded.shape[1] // factor, padded.shape[0] // factor)
    small = cv2.resize(padded, small_size, interpolation=cv2.INTER_AREA)
    # The area shrink already averaged factor x factor pixels (variance factor^2 / 12).
    rest = math.sqrt(max(sigma ** 2 - factor ** 2 / 12.0, 0.25)) / factor
    small = cv2.GaussianBlur(small, (0, 0), rest, borderType=cv2.BORDER_REFLECT)
    large = cv2.resize(small, (padded.shape[1], padded.shape[0]), interpolation=cv2.INTER_LINEAR)
    return large[:rows, :cols]


def _paste(out: np.ndarray, patch: np.ndarray, mask: np.ndarray, top: int, left: int) -> None:
    rows, cols = patch.shape[:2]
    window = out[top:top + rows, left:left + cols]
    cv2.copyTo(patch, mask[top:top + rows, left:left + cols].view(np.uint8), window)


def censor(image: Source, detection: Detection | None = None, *, mode: str = "blur",
           what: str = "groups",
           margin: float | None = None, config: FleckConfig | str | None = None,
           style: CensorStyle = CENSOR) -> np.ndarray:
    """The image with the regions ``detection`` found obscured.

    Parameters
    ----------
    image : path, bytes, file object, PIL image or (M, N, 3) RGB uint8 ndarray
        Anything :func:`fleck.load_image` accepts (EXIF orientation applied).
    detection : fleck.detector.Detection, optional
        A detection made on this image (or on a copy with the same aspect ratio); by default
        the detector runs on it with ``config``.
    mode : {'blur', 'pixelate', 'fill', 'box'}
    what : {'groups', 'limbs', 'skin'}
        See the module docstring.
    margin : float, optional
        Pixels added around the covered area (default: 1 % of the mean side).
    config : FleckConfig or name, optional
        Detector configuration (default ``'fleck1996'``).
    style : CensorStyle

    Returns
    -------
    (M, N, 3) uint8 ndarray
        A new RGB array the size of ``image``.

    Raises
    ------
    fleck.ImageError
        If the image cannot be read.
    ValueError
        For an unknown ``mode`` or ``what``, or a detection made on an image of another shape.

    Examples
    --------
    >>> from fleck import synth
    >>> scene = synth.figure(1, size=(240, 320))
    >>> out = censor(scene.image, mode="pixelate")
    >>> out.shape, bool((out != scene.image).any())
    ((240, 320, 3), True)
    """
    from fleck.detector import Detector
    from fleck.loading import load_image

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    rgb = load_image(image)
    if detection is None:
        detection = Detector(config).detect(rgb)
    else:
        _check_frame(detection, rgb.shape[:2])
    mask, _ = cover(detection, what, rgb.shape[:2], margin=margin, config=config, style=style)
    return obscure(rgb, mask, mode, style=style)


def _check_frame(detection, shape) -> None:
    src_h, src_w = (int(v) for v in detection.image_size)
    rows, cols = shape
    if abs(cols / rows - src_w / src_h) > 0.02 * (src_w / src_h) + 1.0 / min(rows, cols):
        raise ValueError(f"image is {rows}x{cols} (rows x cols) but the detection was made on "
                         f"a {src_h}x{src_w} image; pass the same image")
