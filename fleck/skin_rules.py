"""Two textbook pixel-wise skin rules, the yardsticks for the Fleck-Forsyth filter.

Both look at one pixel's colour only (no texture, no neighbourhood), so they apply equally to
images and to lists of pixels: any ``(..., 3)`` RGB ``uint8`` array gives a boolean mask of
shape ``(...)``.

* :func:`chai_ngan_ycrcb` -- the Cb/Cr box of Chai & Ngan (1999).
* :func:`kovac_rgb` -- the uniform-daylight RGB rule of Kovac, Peer & Solina (2003).

>>> import numpy as np
>>> pixels = np.array([[176, 112, 80], [128, 128, 128]], np.uint8)  # tan skin, grey
>>> chai_ngan_ycrcb(pixels).tolist(), kovac_rgb(pixels).tolist()
([True, False], [True, False])
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fleck.errors import ImageError

__all__ = ["ChaiNganBox", "KovacDaylight", "CHAI_NGAN", "KOVAC", "chai_ngan_ycrcb", "kovac_rgb"]


@dataclass(frozen=True)
class ChaiNganBox:
    """The skin box in the Cb-Cr plane (8-bit JPEG YCbCr), inclusive bounds.

    Provenance: Chai & Ngan (1999), section 2: "R_Cr = [133, 173], R_Cb = [77, 127]".

    Examples
    --------
    >>> CHAI_NGAN.cr
    (133, 173)
    """

    cb: tuple[int, int] = (77, 127)
    cr: tuple[int, int] = (133, 173)


@dataclass(frozen=True)
class KovacDaylight:
    """Thresholds of the uniform-daylight RGB rule, all strict (``>``).

    Provenance: Kovac, Peer & Solina (2003), section 2.1: R > 95, G > 40, B > 20,
    max{R, G, B} - min{R, G, B} > 15, ``|R - G| > 15``, R > G, R > B.

    Examples
    --------
    >>> KOVAC.red_min, KovacDaylight(red_min=100).red_min
    (95, 100)
    """

    red_min: int = 95
    green_min: int = 40
    blue_min: int = 20
    spread_min: int = 15
    red_green_min: int = 15


CHAI_NGAN = ChaiNganBox()
KOVAC = KovacDaylight()


def chai_ngan_ycrcb(image: np.ndarray, *, box: ChaiNganBox = CHAI_NGAN) -> np.ndarray:
    """Skin where ``77 <= Cb <= 127`` and ``133 <= Cr <= 173`` (Chai & Ngan 1999).

    Cb and Cr are the 8-bit JPEG (full-range ITU-R BT.601) chroma values as OpenCV computes them
    with ``cv2.COLOR_RGB2YCrCb`` (channel order Y, Cr, Cb; ``Cr = (R - Y) 0.713 + 128``,
    ``Cb = (B - Y) 0.564 + 128``, rounded to integers). Luma is ignored.

    Parameters
    ----------
    image : (..., 3) uint8 ndarray, RGB
        An image ``(M, N, 3)`` or a list of pixels ``(K, 3)``.
    box : ChaiNganBox
        The Cb/Cr bounds.

    Returns
    -------
    mask : (...) bool ndarray

    Raises
    ------
    ImageError
        If ``image`` is not a uint8 array with 3 values in its last axis.

    References
    ----------
    .. [1] D. Chai and K. N. Ngan, "Face segmentation using skin-color map in videophone
       applications", IEEE Trans. Circuits and Systems for Video Technology 9(4):551-564, 1999.

    Examples
    --------
    >>> import numpy as np
    >>> pale_skin, pure_red = [224, 172, 138], [220, 30, 30]  # Cr 157 and 223
    >>> chai_ngan_ycrcb(np.array([pale_skin, pure_red], np.uint8)).tolist()
    [True, False]
    """
    pixels = _as_pixels(image)
    ycrcb = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(pixels.shape)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return (cb >= box.cb[0]) & (cb <= box.cb[1]) & (cr >= box.cr[0]) & (cr <= box.cr[1])


def kovac_rgb(image: np.ndarray, *, rule: KovacDaylight = KOVAC) -> np.ndarray:
    """Skin by the uniform-daylight RGB rule of Kovac, Peer & Solina (2003).

    A pixel is skin when R > 95, G > 40, B > 20, max(R, G, B) - min(R, G, B) > 15,
    ``|R - G| > 15``, R > G and R > B.

    Parameters
    ----------
    image : (..., 3) uint8 ndarray, RGB
        An image ``(M, N, 3)`` or a list of pixels ``(K, 3)``.
    rule : KovacDaylight
        The thresholds.

    Returns
    -------
    mask : (...) bool ndarray

    Raises
    ------
    ImageError
        If ``image`` is not a uint8 array with 3 values in its last axis.

    References
    ----------
    .. [1] J. Kovac, P. Peer and F. Solina, "Human skin colour clustering for face detection",
       EUROCON 2003, vol. 2, pp. 144-148.

    Examples
    --------
    >>> import numpy as np
    >>> pale_skin, very_dark_skin = [224, 172, 138], [90, 56, 37]  # the latter fails R > 95
    >>> kovac_rgb(np.array([pale_skin, very_dark_skin], np.uint8)).tolist()
    [True, False]
    """
    pixels = _as_pixels(image).astype(np.int16)  # differences of uint8 would wrap
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    spread = pixels.max(axis=-1) - pixels.min(axis=-1)
    return ((r > rule.red_min) & (g > rule.green_min) & (b > rule.blue_min)
            & (spread > rule.spread_min) & (np.abs(r - g) > rule.red_green_min)
            & (r > g) & (r > b))


def _as_pixels(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ImageError("image", f"expected a numpy array, got {type(image).__name__}")
    if image.ndim < 1 or image.shape[-1] != 3:
        raise ImageError("image", f"expected shape (..., 3) with RGB last, got {image.shape}")
    if image.dtype != np.uint8:
        raise ImageError("image", f"expected dtype uint8, got {image.dtype}")
    return np.ascontiguousarray(image)
