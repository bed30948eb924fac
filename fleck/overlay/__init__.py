"""The explained overlay: what the detector saw and why it decided, drawn on the image.

Follows the paper's figure convention (spec G9): the skin map is shown (skin in full colour with a
thin white outline, everything else dimmed and desaturated), segment spines in red, limbs (two
segments meeting at a joint) in blue, girdle and spine-thigh groups in green. The group that
decided is emphasised: its ribbons are filled translucent green and outlined. A dark banner at the
top states the decision, the score and the rule; a legend box (bottom left) gives the colours and
how many of each the detector built.

Geometry is drawn with OpenCV (anti-aliased, sub-pixel), text with Pillow's bundled scalable font,
so the result looks the same on every machine. Nothing here changes a decision.

>>> import numpy as np, fleck
>>> image = np.full((120, 160, 3), (60, 90, 150), np.uint8)
>>> overlay = draw(fleck.detect(image), image)
>>> overlay.shape, overlay.dtype.name
((120, 160, 3), 'uint8')
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fleck.overlay.marks import (
    _draw_groups,
    _draw_joints,
    _draw_limbs,
    _draw_spines,
    _Frame,
    _show_skin,
    _skin_at,
)
from fleck.overlay.style import STYLE, DrawStyle
from fleck.overlay.text import _draw_text, headline

if TYPE_CHECKING:
    from fleck.detector import Detection
    from fleck.loading import Source

__all__ = ["draw", "overlay_path", "DrawStyle", "STYLE", "headline"]


def draw(detection: Detection, image: Source, *, width: int | None = None, legend: bool = True,
         show_skin: bool = True, style: DrawStyle = STYLE) -> np.ndarray:
    """Draw ``detection`` over ``image``: skin map, spines, limbs, groups, decision and legend.

    Parameters
    ----------
    detection : fleck.detector.Detection
        A result of :func:`fleck.detect`, or one rebuilt with ``Detection.from_dict``.
    image : path, bytes, file object, PIL image or (M, N, 3) RGB uint8 ndarray
        The image the detection was made on (anything :func:`fleck.load_image` accepts). A
        resized copy with the same aspect ratio is fine.
    width : int, optional
        Width of the output in pixels (height follows the aspect ratio). Default: the image's.
    legend : bool
        Draw the colour legend (bottom left). Left out anyway when the image is too small.
    show_skin : bool
        Dim and desaturate non-skin pixels and outline the skin map.
    style : DrawStyle

    Returns
    -------
    (H, W, 3) uint8 ndarray, RGB

    Raises
    ------
    fleck.ImageError
        If ``image`` cannot be read.
    ValueError
        If ``image`` does not have the aspect ratio of the image the detection was made on.

    Examples
    --------
    >>> import numpy as np, fleck
    >>> image = np.full((300, 400, 3), (60, 90, 150), np.uint8)
    >>> draw(fleck.detect(image), image, width=200).shape
    (150, 200, 3)
    """
    from fleck.loading import load_image

    rgb = load_image(image)
    src_h, src_w = (int(v) for v in detection.image_size)
    img_h, img_w = rgb.shape[:2]
    if abs(img_w / img_h - src_w / src_h) > 0.02 * (src_w / src_h) + 1.0 / min(img_h, img_w):
        raise ValueError(f"image is {img_h}x{img_w} (rows x cols) but the detection was made on "
                         f"a {src_h}x{src_w} image; pass the same image")
    if width is not None:
        if int(width) < 1:
            raise ValueError(f"width must be a positive number of pixels, got {width}")
        out_w = int(width)
        out_h = max(1, int(round(img_h * out_w / img_w)))
        if (out_h, out_w) != (img_h, img_w):
            shrink = out_w < img_w
            rgb = cv2.resize(rgb, (out_w, out_h),
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    out_h, out_w = rgb.shape[:2]
    frame = _Frame(out_h / src_h, out_w / src_w)
    size = math.sqrt(out_h * out_w)
    thick = max(1, int(round(size * style.thickness_per_px)))

    skin = _skin_at(detection.mask, (out_h, out_w))
    canvas = _show_skin(rgb, skin, style, thick) if show_skin else rgb.copy()
    before = canvas.copy()
    segments = {s.index: s for s in detection.segments}
    _draw_groups(canvas, detection, segments, frame, thick, style)
    _draw_limbs(canvas, detection.limbs, segments, frame, thick, style)
    _draw_spines(canvas, detection.segments, frame, thick, style)
    _draw_joints(canvas, detection.limbs, frame, thick, style)

    def busy(top: int, left: int, bottom: int, right: int) -> float:
        """How much a legend box there would hide: drawn marks first, then skin."""
        box = (slice(top, bottom), slice(left, right))
        marks = np.any(canvas[box] != before[box], axis=2)
        return float(marks.mean() + 0.25 * skin[box].mean()) if marks.size else 0.0

    return _draw_text(canvas, busy, detection, size, legend, show_skin, style)


def overlay_path(image_path: str, overlays: str | os.PathLike) -> str:
    """Where ``fleck detect --overlay DIR`` and ``fleck scan --overlays DIR`` put the overlay of
    ``image_path``: the image's path mirrored under DIR, with ``.png`` appended.

    The image's own path is kept (a leading ``/`` or drive dropped, ``.`` parts dropped, ``..``
    written ``__``), so that two images never share an overlay file, even when worker processes
    write them independently, and both commands name an image's overlay alike.

    Parameters
    ----------
    image_path : str
        The image's path as recorded.
    overlays : path
        The overlay folder.

    Returns
    -------
    str

    Examples
    --------
    >>> overlay_path("photos/2020/a.jpg", "out")
    'out/photos/2020/a.jpg.png'
    >>> overlay_path("/data/../b.png", "out")
    'out/data/__/b.png.png'
    """
    _, rest = os.path.splitdrive(image_path)
    parts = [p for p in rest.replace(os.sep, "/").split("/") if p not in ("", ".")]
    parts = ["__" if p == ".." else p for p in parts]
    return os.path.join(os.fspath(overlays), *parts[:-1], parts[-1] + ".png")
