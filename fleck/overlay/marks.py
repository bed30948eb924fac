"""The overlay's marks: the skin map shown, spines, limbs, joints and groups (OpenCV, anti-aliased,
1/16 px precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fleck.overlay.style import _ONE, _SHIFT, Colour, DrawStyle

__all__: list[str] = []

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
