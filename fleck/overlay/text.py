"""The overlay's words: the banner (decision, score, rule, reason) and the colour legend, set in
Pillow's bundled scalable font so that they look the same on every machine.

>>> from types import SimpleNamespace as NS
>>> headline(NS(decision=True, score=0.83, rule="spine_thigh", reason="x"))
('NUDE body plan 0.83 (spine-thigh group)', 'x')
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fleck.overlay.marks import _dot, _tint
from fleck.overlay.style import _ONE, _RULE_NAMES, _SHIFT, STYLE, Colour, DrawStyle

if TYPE_CHECKING:
    from fleck.detector import Detection

__all__ = ["headline"]


def headline(detection: Detection) -> tuple[str, str]:
    """The banner's two lines: the verdict with score and rule, and a shortened reason.

    Parameters
    ----------
    detection : Detection
        Its decision, score, threshold, label, rule and reason are used.

    Returns
    -------
    (str, str)
        The headline and a second line (empty when the reason fits the first).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> headline(NS(decision=False, score=0.14, rule=None,
    ...             reason="skin covers 16.0 % of the image (< 30 %)"))
    ('no body plan 0.14: skin 16.0 % < 30 %', '')
    >>> headline(NS(decision=False, score=0.29, rule=None, label="review", reason="1 limb"))
    ('no body plan 0.29 (review): 1 limb', '')
    """
    reason = _shorten(detection.reason)
    threshold = getattr(detection, "threshold", 0.5)
    if detection.decision:
        if detection.rule is None:  # a calibrated threshold below the rule's
            return f"NUDE {detection.score:.2f} (score >= {threshold:.2f})", reason
        rule = _RULE_NAMES.get(detection.rule, str(detection.rule).replace("_", " "))
        return f"NUDE body plan {detection.score:.2f} ({rule})", reason
    if detection.rule is not None:  # a calibrated threshold above the rule's
        head = f"body plan {detection.score:.2f} < {threshold:.2f}"
    else:
        head = f"no body plan {detection.score:.2f}"
    if getattr(detection, "label", None) == "review":
        head += " (review)"
    if len(reason) <= 34:
        return f"{head}: {reason}", ""
    return head, reason


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
