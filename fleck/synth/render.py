"""Drawing primitives of the synthetic scenes: the :class:`Scene` record, noise, JPEG,
backgrounds and the z-buffered renderer of shaded, tapered parts that figures and controls share.

>>> s = Scene(image=np.zeros((16, 16, 3), np.uint8), label=0, category="grey", seed=0,
...           mask=np.zeros((16, 16), bool))
>>> s.skin_fraction, s.to_dict()["height"]
(0.0, 16)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["Scene", "TONES", "BACKGROUNDS", "encode_jpeg"]

# Base skin colours (RGB), lightest first. Shading multiplies them, which keeps the log-opponent
# hue and saturation of spec 1.13 (pale tones sit at the low-saturation edge of stage 1).
TONES: dict[str, tuple[int, int, int]] = {
    "very_light": (233, 190, 160),
    "light": (224, 172, 138),
    "medium": (200, 140, 105),
    "tan": (176, 112, 80),
    "brown": (141, 85, 56),
    "dark": (90, 56, 37),
}

BACKGROUNDS = ("flat", "gradient", "texture", "room")


@dataclass(frozen=True, eq=False)
class Scene:
    """One synthetic image with its ground truth.

    Attributes
    ----------
    image : (M, N, 3) uint8 ndarray, RGB.
    label : 1 for a figure, 0 for a control.
    category : ``"figure"`` or the control's name (a key of ``CONTROLS``).
    seed : the seed it was generated from.
    mask : (M, N) bool ndarray, the pixels of human skin (figure minus clothing and hair; the
        face of ``face_closeup``; empty for other controls).
    joints : joint name -> (row, col), image pixels (figures only). Only joints inside the image
        are listed: a wrist or ankle cropped by the frame is omitted (see ``figure``).
    limb_widths : segment name -> mean full width in pixels (figures only).
    tone : skin tone name (a key of ``TONES``) or None.
    pose, background : names of the pose and background used (figures), else None.

    Examples
    --------
    >>> from fleck.synth import figure
    >>> s = figure(2, size=(60, 80))
    >>> s.label, s.category, s.mask.shape
    (1, 'figure', (60, 80))
    """

    image: np.ndarray
    label: int
    category: str
    seed: int
    mask: np.ndarray
    joints: dict[str, tuple[float, float]] = field(default_factory=dict)
    limb_widths: dict[str, float] = field(default_factory=dict)
    tone: str | None = None
    pose: str | None = None
    background: str | None = None

    @property
    def skin_fraction(self) -> float:
        """Fraction of the image covered by ground-truth skin."""
        return float(self.mask.mean())

    def to_dict(self) -> dict:
        """JSON-able labels (no pixels).

        >>> from fleck.synth import figure
        >>> figure(0, size=(60, 80)).to_dict()["category"]
        'figure'
        """
        return {
            "category": self.category,
            "label": int(self.label),
            "seed": int(self.seed),
            "height": int(self.image.shape[0]),
            "width": int(self.image.shape[1]),
            "tone": self.tone,
            "pose": self.pose,
            "background": self.background,
            "skin_fraction": round(self.skin_fraction, 4),
            "joints": {k: [round(float(r), 1), round(float(c), 1)]
                       for k, (r, c) in self.joints.items()},
            "limb_widths": {k: round(float(w), 1) for k, w in self.limb_widths.items()},
        }


# ------------------------------------------------------------------------------------------------
# small helpers


def _rng(kind: str, seed: int) -> np.random.Generator:
    """A generator private to (kind, seed): figure 0 and wood 0 are unrelated."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(kind.encode())])


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if h < 16 or w < 16:
        raise ValueError(f"size must be at least (16, 16), got {(h, w)}")
    return h, w


def _direction(angle_deg: float) -> np.ndarray:
    """Unit (row, col) vector; 0 degrees points down the image, 90 to the right."""
    a = math.radians(angle_deg)
    return np.array([math.cos(a), math.sin(a)])


def _finish(rgb: np.ndarray, rng: np.random.Generator, *, noise: float,
            jpeg_quality: int | None) -> np.ndarray:
    """Add sensor noise, quantise, optionally pass through JPEG."""
    h, w = rgb.shape[:2]
    rgb = rgb.astype(np.float32)  # a copy: the caller's array is left alone
    if noise > 0:
        # near-Gaussian grain as a sum of two uniform bytes (triangular, sd 104.5 before
        # scaling): several times cheaper than standard_normal, alike at these amplitudes
        b = np.frombuffer(rng.bytes(2 * h * w * 3), np.uint8).reshape(2, h, w, 3)
        grain = b[0].astype(np.float32)
        grain += b[1]
        rgb += np.float32(0.5 - 255 * noise / 104.5)   # the rounding offset and the mean
        rgb += grain * np.float32(noise / 104.5)
    else:
        rgb += np.float32(0.5)
    np.clip(rgb, 0, 255, out=rgb)
    out = rgb.astype(np.uint8)
    if jpeg_quality is not None:
        out = _jpeg_roundtrip(out, int(jpeg_quality))
    return out


def _jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    if not 1 <= quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {quality}")
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB image (deterministic for a given OpenCV build).

    Parameters
    ----------
    rgb : (M, N, 3) uint8 ndarray
        RGB image.
    quality : int
        JPEG quality, 1-100.

    Returns
    -------
    bytes

    Examples
    --------
    >>> encode_jpeg(np.zeros((8, 8, 3), np.uint8))[:2]
    b'\\xff\\xd8'
    """
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return buf.tobytes()


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], blur: float) -> np.ndarray:
    """Zero-mean, unit-ish std low-frequency noise, cheap: upsampled coarse noise."""
    h, w = shape
    gh, gw = max(2, int(h / blur) + 2), max(2, int(w / blur) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _light_falloff(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """Soft global illumination: a smooth multiplicative field around 1 (a tilted dome)."""
    h, w = shape
    r = np.linspace(-1, 1, h, dtype=np.float32)
    c = np.linspace(-1, 1, w, dtype=np.float32)
    gr, gc = rng.uniform(-1, 1, 2)
    # separable: one full-frame addition of a row profile and a column profile
    rows = 1 + strength * (gr * r / 2 - r * r / 4)
    cols = strength * (gc * c / 2 - c * c / 4)
    return (rows[:, None] + cols[None, :]).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# backgrounds (cool or neutral colours, never skin-hued: hue outside 110-180 of spec 1.6)


def _cool_colour(rng: np.random.Generator, *, lo: float = 60, hi: float = 200) -> np.ndarray:
    """A blue, green, teal or neutral grey colour (RGB float)."""
    kind = rng.choice(["blue", "green", "teal", "grey", "slate"])
    v = rng.uniform(lo, hi)
    if kind == "blue":
        rgb = (v * 0.55, v * 0.75, v * 1.05)
    elif kind == "green":
        rgb = (v * 0.6, v * 1.0, v * 0.65)
    elif kind == "teal":
        rgb = (v * 0.5, v * 0.9, v * 0.95)
    elif kind == "slate":
        rgb = (v * 0.85, v * 0.9, v * 1.05)
    else:
        rgb = (v * 0.97, v, v * 1.03)  # a touch cool so chroma noise cannot look skin-like
    return np.clip(np.array(rgb, dtype=np.float32), 0, 255)


def _background(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    """Background image, float32 RGB: ``flat``, ``gradient``, ``texture`` or ``room``."""
    h, w = shape
    if kind == "flat":
        bg = np.empty((h, w, 3), np.float32)
        bg[:] = _cool_colour(rng)
    elif kind == "gradient":
        a, b = _cool_colour(rng), _cool_colour(rng)
        ang = rng.uniform(0, 2 * math.pi)
        r = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        c = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        t = (math.cos(ang) * r + math.sin(ang) * c)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        bg = a * (1 - t[..., None]) + b * t[..., None]
    elif kind == "texture":
        base = _cool_colour(rng, lo=90, hi=190)
        lum = 1 + 0.12 * _smooth_noise(rng, shape, rng.uniform(4, 20)) \
            + 0.06 * _smooth_noise(rng, shape, 2.0)
        bg = base * lum[..., None]
    elif kind == "room":
        wall, floor = _cool_colour(rng, lo=120, hi=210), _cool_colour(rng, lo=50, hi=130)
        floor_row = float(rng.uniform(0.55, 0.8) * h)
        r = np.arange(h, dtype=np.float32)[:, None, None]
        bg = np.where(r < floor_row, wall, floor) * np.ones((1, w, 1), np.float32)
        # skirting board and a darker corner give the room some straight, non-skin edges
        sk = int(max(2, 0.02 * h))
        fr = int(floor_row)
        bg[max(0, fr - sk):fr] = wall * 0.7
        corner = int(rng.uniform(0.15, 0.85) * w)
        bg[:fr, corner:] *= 0.88
        bg = bg * (1 + 0.04 * _smooth_noise(rng, shape, 8.0))[..., None]
    else:
        raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")
    return bg.astype(np.float32)


# ------------------------------------------------------------------------------------------------
# the articulated figure


@dataclass
class _Part:
    name: str
    a: np.ndarray            # (row, col) start
    b: np.ndarray            # (row, col) end
    widths: np.ndarray       # full widths along u
    us: np.ndarray           # profile positions in [0, 1]
    cap_a: float | None = None   # cap length beyond a (None: round, = half width)
    cap_b: float | None = None
    depth: float = 0.0       # base depth (towards the viewer is larger)


def _part_extent(part: _Part) -> tuple[np.ndarray, np.ndarray]:
    r = float(part.widths.max()) / 2 + max(part.cap_a or 0, part.cap_b or 0)
    lo = np.minimum(part.a, part.b) - r
    hi = np.maximum(part.a, part.b) + r
    return lo, hi


def _render_parts(parts: list[_Part], shape: tuple[int, int], light: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffered union of sphere-swept, tapered parts.

    Returns shade (lambertian, float32), coverage (anti-aliased, 0-1), the visible part per
    pixel (index into ``parts`` plus one; 0 where none) and the depth buffer.
    """
    h, w = shape
    zbuf = np.full((h, w), -np.inf, np.float32)
    shade = np.zeros((h, w), np.float32)
    cover = np.zeros((h, w), np.float32)
    owner = np.zeros((h, w), np.uint8)
    for number, part in enumerate(parts, start=1):
        lo, hi = _part_extent(part)
        r0, c0 = max(0, int(lo[0]) - 2), max(0, int(lo[1]) - 2)
        r1, c1 = min(h, int(hi[0]) + 3), min(w, int(hi[1]) + 3)
        if r1 <= r0 or c1 <= c0:
            continue
        axis = part.b - part.a
        length = float(np.linalg.norm(axis))
        t = axis / length if length > 1e-9 else np.array([1.0, 0.0])
        n = np.array([-t[1], t[0]])
        rr = np.arange(r0, r1, dtype=np.float32)[:, None] - np.float32(part.a[0])
        cc = np.arange(c0, c1, dtype=np.float32)[None, :] - np.float32(part.a[1])
        s = rr * np.float32(t[0]) + cc * np.float32(t[1])          # along the axis, px
        d = rr * np.float32(n[0]) + cc * np.float32(n[1])          # across, px
        u = np.clip(s / max(length, 1e-6), 0, 1)
        if len(part.us) == 2:
            w0, w1 = part.widths / 2
            half = np.float32(w0) + u * np.float32(w1 - w0)
        else:
            half = np.interp(u.ravel(), part.us, part.widths / 2).reshape(u.shape)
            half = half.astype(np.float32)
        half = np.maximum(half, np.float32(0.5))
        cap_a = np.float32(max(part.cap_a if part.cap_a is not None else part.widths[0] / 2, 0.5))
        cap_b = np.float32(max(part.cap_b if part.cap_b is not None else part.widths[-1] / 2, 0.5))
        # normalised coordinates: |(ex, ey)| = 1 on the outline; ex is non-zero only in the caps
        ex = np.minimum(s, 0) * (1 / cap_a)
        ex += np.maximum(s - np.float32(length), 0) * (1 / cap_b)
        ey = d / half
        rad2 = ex * ex
        rad2 += ey * ey
        # signed distance to the outline in px (approximate), for anti-aliasing; round caps
        # have the end's half width as radius, flattened caps (torso, head) their own length
        if part.cap_a is None and part.cap_b is None:
            scale_px = half
        else:
            scale_px = np.where(s < 0, np.minimum(half, cap_a),
                                np.where(s > length, np.minimum(half, cap_b), half))
        cov = (1 - np.sqrt(rad2)) * scale_px
        cov += np.float32(0.5)
        np.clip(cov, 0, 1, out=cov)
        nz = np.sqrt(np.clip(1 - rad2, 0, 1))
        # lambertian term; the in-plane normal is the across-axis plus the cap's along-axis part
        lr = np.float32(n[0] * light[0] + n[1] * light[1])
        la = np.float32(t[0] * light[0] + t[1] * light[1])
        lam = ey * lr
        lam += ex * la
        lam += nz * np.float32(light[2])
        np.clip(lam, 0, 1, out=lam)
        z = half * nz
        z += np.float32(part.depth)
        win = zbuf[r0:r1, c0:c1]
        closer = (cov > 0) & (z > win)
        np.copyto(win, z, where=closer)
        np.copyto(shade[r0:r1, c0:c1], lam, where=closer)
        np.copyto(owner[r0:r1, c0:c1], np.uint8(number), where=closer)
        np.maximum(cover[r0:r1, c0:c1], cov, out=cover[r0:r1, c0:c1])
    return shade, cover, owner, zbuf


# Skin-hued materials (RGB): all fall inside the stage-1 boxes of spec 1.7 (see spec 1.13).
WOOD_COLOURS = ((200, 150, 90), (185, 130, 80), (165, 108, 66), (215, 168, 115), (150, 95, 60))
CRUST_COLOURS = ((190, 120, 60), (200, 140, 75), (170, 104, 52), (210, 155, 90))
WALL_COLOURS = ((225, 180, 140), (212, 160, 122), (232, 192, 152), (200, 142, 104),
                (190, 135, 100))
FUR_COLOURS = ((190, 140, 90), (172, 122, 74), (208, 166, 116), (150, 102, 62))
OTHER_COLOURS = ((240, 240, 235), (40, 70, 150), (50, 50, 55), (40, 120, 80), (120, 150, 190))


def _control(category: str, seed: int, image: np.ndarray, mask: np.ndarray | None = None,
             tone: str | None = None) -> Scene:
    if mask is None:
        mask = np.zeros(image.shape[:2], bool)
    return Scene(image=image, label=0, category=category, seed=int(seed), mask=mask, tone=tone)


def _jitter(rng: np.random.Generator, rgb: Sequence[int], amount: float = 0.06) -> np.ndarray:
    return np.array(rgb, np.float32) * rng.uniform(1 - amount, 1 + amount, 3).astype(np.float32)


def _streaks(rng: np.random.Generator, shape: tuple[int, int], length: int) -> np.ndarray:
    """Fine noise smeared along the rows' direction (axis 0): grain or hair strands, ~unit std."""
    h, w = shape
    n = rng.standard_normal((h, w), dtype=np.float32)
    s = cv2.blur(n, (1, max(3, length)))
    return s / max(float(s.std()), 1e-6)


def _warp(rng: np.random.Generator, img: np.ndarray, amount: float, blur: float) -> np.ndarray:
    """Bend an image with a smooth random displacement field (cv2.remap)."""
    h, w = img.shape[:2]
    dr = _smooth_noise(rng, (h, w), blur) * np.float32(amount)
    dc = _smooth_noise(rng, (h, w), blur) * np.float32(amount)
    gr, gc = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, gc + dc, gr + dr, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _oriented(fn: Callable[[tuple[int, int]], np.ndarray], shape: tuple[int, int],
              vertical: bool) -> np.ndarray:
    """Call ``fn`` for an image whose structure runs down the rows, transposed if horizontal."""
    h, w = shape
    if vertical:
        return fn((h, w))
    out = fn((w, h))
    return np.ascontiguousarray(np.swapaxes(out, 0, 1))
