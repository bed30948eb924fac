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
import re
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

__all__ = ["draw", "overlay_path", "DrawStyle", "STYLE", "headline"]

_RULE_NAMES = {"limb_limb_girdle": "limb-limb girdle",
               "limb_segment_girdle": "limb-segment girdle",
               "spine_thigh": "spine-thigh group"}
_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn with 1/16 px precision
_ONE = 1 << _SHIFT

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class DrawStyle:
    """Colours (RGB) and proportions of the overlay: presentation choices, not detector settings."""

    spine: Colour = (255, 45, 45)
    """Segment spines: red, as in the paper's figures."""
    limb: Colour = (40, 130, 255)
    """Limbs (joint pairs): a light blue, visible on dark backgrounds as well."""
    group: Colour = (40, 225, 70)
    """Girdles and spine-thigh groups: green."""
    skin_outline: Colour = (255, 255, 255)
    edge: Colour = (0, 0, 0)
    """Thin dark edge under every coloured mark so that it reads on any background."""
    positive: Colour = (255, 190, 40)
    """Headline colour of a positive decision (amber)."""
    negative: Colour = (235, 235, 235)
    text: Colour = (235, 235, 235)
    panel: Colour = (12, 12, 16)
    panel_alpha: float = 0.68
    dim_brightness: float = 0.42
    """Non-skin pixels are shown as grey at this fraction of their luminance..."""
    dim_colour: float = 0.18
    """...plus this fraction of their original colour, so the scene stays recognisable."""
    group_fill_alpha: float = 0.32
    other_group_alpha: float = 0.75
    """Opacity of the groups that did not decide (thin lines from group point to segments)..."""
    groups_before_fading: int = 8
    """...which fades as 1 / sqrt(count) beyond this many groups, down to 0.3."""
    thickness_per_px: float = 1 / 190
    """Line thickness in pixels per pixel of sqrt(height * width)."""
    font_per_px: float = 1 / 21
    """Headline font size in pixels per pixel of sqrt(height * width), then clamped."""
    font_range: tuple[int, int] = (9, 56)
    min_font: int = 7
    """Text shrinks down to this size to fit before it is wrapped and shortened."""
    legend_max_fraction: tuple[float, float] = (0.34, 0.5)
    """The legend is left out when it would cover more than this fraction of (height, width)."""


STYLE = DrawStyle()


def draw(detection, image, *, width: int | None = None, legend: bool = True,
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


def headline(detection) -> tuple[str, str]:
    """The banner's two lines: the verdict with score and rule, and a shortened reason.

    >>> from types import SimpleNamespace as NS
    >>> headline(NS(decision=False, score=0.14, rule=None,
    ...             reason="skin covers 16.0 % of the image (< 30 %)"))
    ('no body plan 0.14: skin 16.0 % < 30 %', '')
    """
    reason = _shorten(detection.reason)
    if detection.decision:
        rule = _RULE_NAMES.get(detection.rule, str(detection.rule).replace("_", " "))
        return f"NUDE body plan {detection.score:.2f} ({rule})", reason
    if len(reason) <= 34:
        return f"no body plan {detection.score:.2f}: {reason}", ""
    return f"no body plan {detection.score:.2f}", reason


# -- geometry -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Frame:
    """Maps (row, col) in the detection's image frame to fixed-point (x, y) in the output."""

    sy: float
    sx: float

    def xy(self, point) -> tuple[int, int]:
        row, col = point
        return (int(round(((col + 0.5) * self.sx - 0.5) * _ONE)),
                int(round(((row + 0.5) * self.sy - 0.5) * _ONE)))

    def polygon(self, corners: np.ndarray) -> np.ndarray:
        """Ribbon corners (x, y) = (col, row) in the detection frame -> fixed-point int32."""
        scaled = (corners + 0.5) * (self.sx, self.sy) - 0.5
        return np.round(scaled * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _skin_at(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The working-resolution skin map at ``shape``, with smooth rather than blocky edges."""
    rows, cols = shape
    if mask.shape == (rows, cols):
        return mask.astype(bool)
    if mask.size == 0:
        return np.zeros(shape, bool)
    levels = mask.astype(np.uint8) * 255
    if rows > 2 * mask.shape[0] or cols > 2 * mask.shape[1]:
        # Enlarging: blur a 4x copy (cheap) so the threshold below follows a smooth contour
        # instead of the coarse map's staircase; blurring at full size would cost ~100x more.
        levels = cv2.resize(levels, (4 * mask.shape[1], 4 * mask.shape[0]),
                            interpolation=cv2.INTER_LINEAR)
        levels = cv2.GaussianBlur(levels, (0, 0), 2.0)
    levels = cv2.resize(levels, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return levels >= 128


def _show_skin(rgb: np.ndarray, skin: np.ndarray, style: DrawStyle, thick: int) -> np.ndarray:
    """Skin in full colour; the rest dimmed grey with a hint of colour; skin outlined."""
    grey = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    canvas = cv2.addWeighted(grey, style.dim_brightness, rgb, style.dim_colour, 0)
    skin_u8 = skin.view(np.uint8) if skin.dtype == bool else skin.astype(np.uint8)
    cv2.copyTo(rgb, skin_u8, canvas)
    contours, _ = cv2.findContours(skin_u8, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if contours:
        line = max(1, (thick + 1) // 2)
        cv2.drawContours(canvas, contours, -1, style.edge, line + 2, cv2.LINE_AA)
        cv2.drawContours(canvas, contours, -1, style.skin_outline, line, cv2.LINE_AA)
    return canvas


def _far_end(segment, joint) -> tuple[float, float]:
    dp = math.dist(segment.p, joint)
    dq = math.dist(segment.q, joint)
    return segment.q if dq >= dp else segment.p


def _line(canvas, a, b, colour, thickness, edge=None) -> None:
    if edge is not None:
        cv2.line(canvas, a, b, edge, thickness + 2, cv2.LINE_AA, _SHIFT)
    cv2.line(canvas, a, b, colour, thickness, cv2.LINE_AA, _SHIFT)


def _dot(canvas, centre, radius: float, colour, edge=None) -> None:
    r = max(_ONE, int(round(radius * _ONE)))
    if edge is not None:
        cv2.circle(canvas, centre, r + _ONE, edge, -1, cv2.LINE_AA, _SHIFT)
    cv2.circle(canvas, centre, r, colour, -1, cv2.LINE_AA, _SHIFT)


def _tint(canvas: np.ndarray, coverage: np.ndarray, colour: Colour, alpha: float) -> None:
    """Paint ``colour`` over ``canvas`` with opacity ``alpha * coverage / 255``, in place.

    ``coverage`` is a uint8 layer the shapes were drawn on in 255 with anti-aliasing, so edges
    blend smoothly; only its bounding box is touched, which keeps large images cheap.
    """
    left, top, width, height = cv2.boundingRect(coverage)
    if width == 0 or height == 0:
        return
    box = (slice(top, top + height), slice(left, left + width))
    weight = coverage[box].astype(np.float32) * (alpha / 255.0)
    paint = np.empty((height, width, 3), np.uint8)
    paint[:] = colour
    canvas[box] = cv2.blendLinear(paint, canvas[box], weight, 1.0 - weight)


def _draw_groups(canvas, detection, segments, frame: _Frame, thick: int, style: DrawStyle):
    deciding = detection.deciding_group
    others = np.zeros(canvas.shape[:2], np.uint8)
    for number, group in enumerate(detection.groups):
        if number == deciding:
            continue
        centre = frame.xy(group.point)
        for index in group.segments:
            if index in segments:
                cv2.line(others, centre, frame.xy(segments[index].midpoint), 255,
                         max(1, thick // 2 + 1), cv2.LINE_AA, _SHIFT)
        _dot(others, centre, 1.2 * thick + 1, 255)
    # Many groups (busy scenes list dozens) would bury the picture: fade them as they multiply.
    crowd = max(1, len(detection.groups) - 1)
    fade = min(1.0, math.sqrt(style.groups_before_fading / crowd))
    _tint(canvas, others, style.group, max(0.3, style.other_group_alpha * fade))

    if deciding is None or not 0 <= deciding < len(detection.groups):
        return
    group = detection.groups[deciding]
    members = [segments[i] for i in group.segments if i in segments]
    ribbons = [frame.polygon(s.ribbon()) for s in members]
    fill = np.zeros(canvas.shape[:2], np.uint8)
    for ribbon in ribbons:  # one by one: overlapping ribbons must not cancel (even-odd rule)
        cv2.fillPoly(fill, [ribbon], 255, cv2.LINE_AA, _SHIFT)
    _tint(canvas, fill, style.group, style.group_fill_alpha)
    cv2.polylines(canvas, ribbons, True, style.group, max(1, thick), cv2.LINE_AA, _SHIFT)
    centre = frame.xy(group.point)
    for segment in members:
        _line(canvas, centre, frame.xy(segment.midpoint), style.group, thick + 1, style.edge)
    _dot(canvas, centre, 2.2 * thick + 2, style.group, style.edge)


def _draw_limbs(canvas, limbs, segments, frame: _Frame, thick: int, style: DrawStyle) -> None:
    # A wide blue band along both segments of each limb; the red spines are drawn on top, so
    # a limb reads as "red spine in a blue sleeve" and a lone segment as a bare red line.
    band = 3 * thick + 4
    for limb in limbs:
        ends = [_far_end(segments[i], limb.joint) for i in limb.segments if i in segments]
        if len(ends) != 2:
            continue
        path = np.array([frame.xy(ends[0]), frame.xy(limb.joint), frame.xy(ends[1])], np.int32)
        cv2.polylines(canvas, [path.reshape(-1, 1, 2)], False, style.edge, band + 2,
                      cv2.LINE_AA, _SHIFT)
        cv2.polylines(canvas, [path.reshape(-1, 1, 2)], False, style.limb, band,
                      cv2.LINE_AA, _SHIFT)


def _draw_spines(canvas, segment_list, frame: _Frame, thick: int, style: DrawStyle) -> None:
    # Torso-only pieces (stubby, wide: spec G3) are drawn thinner: they only count as torsos.
    for segment in sorted(segment_list, key=lambda s: not s.torso_only):
        width = max(1, thick // 2) if segment.torso_only else thick
        a, b = frame.xy(segment.p), frame.xy(segment.q)
        _line(canvas, a, b, style.spine, width, style.edge)
        for end in (a, b):
            _dot(canvas, end, 0.5 * width + 0.6, style.spine)


def _draw_joints(canvas, limbs, frame: _Frame, thick: int, style: DrawStyle) -> None:
    for limb in limbs:
        _dot(canvas, frame.xy(limb.joint), 1.6 * thick + 1.5, style.limb, style.edge)


# -- text -----------------------------------------------------------------------------------------

_SHORTER = (
    (re.compile(r" of segments \[[^\]]*\]"), ""),
    (re.compile(r" of the image"), ""),
    (re.compile(r"skin covers ([\d.]+ %) \(< ([\d.]+ %)\)"), r"skin \1 < \2"),
    (re.compile(r"covers only ([\d.]+ %) \(< ([\d.]+ %)\)"), r"covers \1 < \2"),
    (re.compile(r"covers ([\d.]+ %) \(>= ([\d.]+ %)\)"), r"covers \1 >= \2"),
    (re.compile(r"largest group \(([^)]*)\)"), r"largest group: \1"),
)


def _shorten(reason: str) -> str:
    """Drop what the picture already shows (segment numbers) and the wordier phrases."""
    for pattern, replacement in _SHORTER:
        reason = pattern.sub(replacement, reason)
    return reason


@lru_cache(maxsize=64)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _text_width(text: str, size: int) -> float:
    return _font(size).getlength(text)


def _fit(text: str, size: int, max_width: float, max_lines: int) -> tuple[list[str], int]:
    """Lines and font size that fit ``text`` into ``max_width``: shrink a little, then wrap,
    then shrink further, and at the smallest size cut the last line with an ellipsis."""
    if not text:
        return [], size
    smallest = min(size, STYLE.min_font)
    for s in range(size, smallest - 1, -1):
        lines = _wrap(text, s, max_width)
        fits = all(_text_width(line, s) <= max_width for line in lines)
        if fits and (len(lines) == 1 or (len(lines) <= max_lines and s <= 0.85 * size)):
            return lines, s
    lines = _wrap(text, smallest, max_width)
    cut = len(lines) > max_lines
    lines = lines[:max_lines]
    return [_ellipsize(line, smallest, max_width, force=cut and k == len(lines) - 1)
            for k, line in enumerate(lines)], smallest


def _ellipsize(line: str, size: int, max_width: float, *, force: bool = False) -> str:
    if not force and _text_width(line, size) <= max_width:
        return line
    while line and _text_width(line + "…", size) > max_width:
        line = line[:-1]
    return line.rstrip() + "…"


def _wrap(text: str, size: int, max_width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _text_width(lines[-1] + " " + word, size) <= max_width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _panel(canvas: np.ndarray, top: int, left: int, bottom: int, right: int,
           style: DrawStyle) -> None:
    """Darken a rectangle so that light text on it reads whatever the picture underneath."""
    top, left = max(0, top), max(0, left)
    region = canvas[top:bottom, left:right].astype(np.float32)
    panel = np.array(style.panel, np.float32)
    canvas[top:bottom, left:right] = (style.panel_alpha * panel
                                      + (1 - style.panel_alpha) * region).astype(np.uint8)


def _draw_text(canvas, busy, detection, size: float, legend: bool, show_skin: bool,
               style: DrawStyle) -> np.ndarray:
    """Banner (verdict, reason) at the top and the legend in the least busy lower corner."""
    from PIL import Image, ImageDraw

    out_h, out_w = canvas.shape[:2]
    big = int(np.clip(round(size * style.font_per_px), *style.font_range))
    pad = max(2, big // 3)
    first, second = headline(detection)
    head_lines, head_size = _fit(first, big, out_w - 2 * pad, 2)
    if head_lines[-1].endswith("…"):  # tiny image: the verdict and the score, whole
        compact = f"{'NUDE' if detection.decision else 'no'} {detection.score:.2f}"
        head_lines, head_size = _fit(compact, big, out_w - 2 * pad, 1)
    reason_lines, reason_size = _fit(second, max(style.min_font, round(0.78 * big)),
                                     out_w - 2 * pad, 2)
    if out_h < 8 * (head_size + pad):  # tiny image: the verdict only, the reason would hide it
        reason_lines = []
    rows = [(line, head_size, True) for line in head_lines]
    rows += [(line, reason_size, False) for line in reason_lines]
    spacing = max(1, head_size // 5)
    banner_h = min(out_h, 2 * pad + sum(s + spacing for _, s, _ in rows) - spacing)
    _panel(canvas, 0, 0, banner_h, out_w, style)

    entries = _legend_entries(detection, show_skin, style) if legend else []
    text_size = max(style.min_font, int(round(0.7 * big)))
    swatch = int(round(2.0 * text_size))
    gap = max(4, int(0.6 * text_size))
    line_h = text_size + max(2, text_size // 3)
    if entries:
        box_w = int(2 * pad + swatch + gap + max(_text_width(e[2], text_size) for e in entries))
        box_h = 2 * pad + len(entries) * line_h
        max_h, max_w = style.legend_max_fraction
        if box_w > max_w * out_w or box_h > max_h * out_h or box_h + banner_h + pad > out_h:
            entries = []
    if entries:
        corners = [(out_h - pad - box_h, pad), (out_h - pad - box_h, out_w - pad - box_w),
                   (banner_h + pad, out_w - pad - box_w), (banner_h + pad, pad)]
        top, left = min(corners, key=lambda c: busy(c[0], c[1], c[0] + box_h, c[1] + box_w))
        _panel(canvas, top, left, top + box_h, left + box_w, style)
        for k, (kind, colour, _) in enumerate(entries):
            y = top + pad + k * line_h + line_h // 2
            _swatch(canvas, kind, colour, left + pad, y, swatch, text_size, style)

    picture = Image.fromarray(canvas)
    pen = ImageDraw.Draw(picture)
    y = pad
    verdict_colour = style.positive if detection.decision else style.negative
    for line, s, is_head in rows:
        pen.text((pad, y), line, font=_font(s), fill=verdict_colour if is_head else style.text,
                 anchor="la")
        y += s + spacing
    for k, (_, _, label) in enumerate(entries):
        y = top + pad + k * line_h + line_h // 2
        pen.text((left + pad + swatch + gap, y), label, font=_font(text_size), fill=style.text,
                 anchor="lm")
    return np.asarray(picture).copy()


def _legend_entries(detection, show_skin: bool, style: DrawStyle) -> list[tuple[str, Colour, str]]:
    entries = [("spine", style.spine, f"spines ({len(detection.segments)})"),
               ("limb", style.limb, f"limbs ({len(detection.limbs)})"),
               ("group", style.group, f"groups ({len(detection.groups)})")]
    if show_skin:
        entries.append(("skin", style.skin_outline, f"skin {100 * detection.skin_fraction:.0f} %"))
    return entries


def _swatch(canvas, kind: str, colour: Colour, left: int, y: int, length: int, text_size: int,
            style: DrawStyle) -> None:
    """A small sample of how ``kind`` is drawn, ``length`` px long, centred on row ``y``."""
    lw = max(1, text_size // 7)
    cap = (3 * lw + 2) // 2  # round line caps reach this far past the end points
    a, b = ((left + cap) * _ONE, y * _ONE), ((left + length - cap) * _ONE, y * _ONE)
    if kind == "limb":
        cv2.line(canvas, a, b, colour, 3 * lw + 2, cv2.LINE_AA, _SHIFT)
        cv2.line(canvas, a, b, style.spine, lw, cv2.LINE_AA, _SHIFT)
        _dot(canvas, ((2 * left + length) * _ONE // 2, y * _ONE), 1.6 * lw + 1.5, colour,
             style.edge)
    elif kind == "group":
        half = max(2, text_size // 3)
        box = np.array([(left, y - half), (left + length, y - half), (left + length, y + half),
                        (left, y + half)], np.int32)
        fill = np.zeros(canvas.shape[:2], np.uint8)
        cv2.fillPoly(fill, [box], 255)
        _tint(canvas, fill, colour, style.group_fill_alpha)
        cv2.polylines(canvas, [box], True, colour, lw, cv2.LINE_AA)
    else:
        cv2.line(canvas, a, b, colour, lw + (kind == "spine"), cv2.LINE_AA, _SHIFT)
