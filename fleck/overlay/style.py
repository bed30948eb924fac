"""Colours and proportions of the overlay (:class:`DrawStyle`), and drawing constants.

>>> STYLE.spine
(255, 45, 45)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DrawStyle", "STYLE", "Colour"]

_RULE_NAMES = {"limb_limb_girdle": "limb-limb girdle",
               "limb_segment_girdle": "limb-segment girdle",
               "spine_thigh": "spine-thigh group"}
_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn with 1/16 px precision
_ONE = 1 << _SHIFT

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class DrawStyle:
    """Colours (RGB) and proportions of the overlay: presentation choices, not detector settings.

    Examples
    --------
    >>> DrawStyle(spine=(255, 0, 255)).spine, STYLE.group
    ((255, 0, 255), (40, 225, 70))
    """

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
