"""Reproducible synthetic test scenes with known answers: stylised figures and known confusions.

Nothing here is real or sexual imagery. A *figure* is an articulated mannequin made of shaded,
tapered cylinders (head, neck, torso, arms, legs) in a random plausible pose; *controls* are the
skin-coloured scenes the 1996 method is known to confuse with people (wood, bread, close-up faces,
skin-coloured walls, fur, stripes) and ordinary safe scenes (landscape, greyscale).

Every scene is a pure function of ``(kind, seed, options)``: the same arguments give the same
array, byte for byte, with the same numpy/OpenCV versions. Sizes are ``(height, width)`` like
numpy shapes; coordinates are ``(row, col)`` in image pixels.

Joint names follow the figure's own left/right: a figure facing the viewer has its left
shoulder (``shoulder_l``) on the image's right-hand side.

Example
-------
>>> from fleck import synth
>>> s = synth.figure(3, size=(120, 160), tone="brown", pose="standing")
>>> s.image.shape, s.label, s.category, s.tone
((120, 160, 3), 1, 'figure', 'brown')
>>> bool(s.mask[int(s.joints["pelvis"][0]), int(s.joints["pelvis"][1])])
True
>>> synth.scene("wood", 1, size=(60, 80)).label
0
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["Scene", "TONES", "POSES", "BACKGROUNDS", "CONTROLS", "KINDS",
           "figure", "scene", "generate"]

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

POSES = ("standing", "walking", "arms_raised", "sitting", "lying")
BACKGROUNDS = ("flat", "gradient", "texture", "room")

JOINTS = ("head", "neck", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l", "wrist_r",
          "pelvis", "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r")


@dataclass(frozen=True)
class Body:
    """Proportions of the mannequin, in units of its standing height (head top to ankle).

    Not detector thresholds: chosen so that limbs are clearly elongated ribbons (length/width
    >= 2) and a framed figure covers roughly 30-60 % of a frame with skin.
    """

    head_radii: tuple[float, float] = (0.068, 0.055)   # (along the spine, across)
    neck_length: float = 0.05
    neck_width: float = 0.075
    torso_length: float = 0.33          # neck joint to pelvis
    shoulder_drop: float = 0.035        # shoulder joints below the neck joint
    shoulder_half_span: float = 0.115   # shoulder joint to body midline
    hip_half_span: float = 0.065
    # torso full width at (neck, shoulders, chest, waist, hips, crotch) along u in [0, 1]
    torso_profile_u: tuple[float, ...] = (0.0, 0.1, 0.35, 0.6, 0.85, 1.0)
    torso_profile_w: tuple[float, ...] = (0.20, 0.27, 0.23, 0.19, 0.235, 0.20)
    upper_arm: tuple[float, float, float] = (0.17, 0.075, 0.06)   # length, width proximal, distal
    forearm: tuple[float, float, float] = (0.155, 0.06, 0.045)
    hand: tuple[float, float, float] = (0.07, 0.045, 0.04)
    thigh: tuple[float, float, float] = (0.245, 0.125, 0.08)
    shin: tuple[float, float, float] = (0.235, 0.08, 0.05)
    foot: tuple[float, float, float] = (0.07, 0.05, 0.04)


BODY = Body()


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


def _pose_angles(rng: np.random.Generator, pose: str) -> dict:
    """Random joint angles (degrees) within anatomical ranges for a named pose.

    ``torso``: direction pelvis -> neck measured like ``_direction`` (180 = upright).
    ``arm_*``: abduction from hanging (0) to straight up (180), away from the midline.
    ``elbow_*``, ``knee_*``: bend 0-100 degrees with a sign giving the side it folds to.
    ``leg_*``: hip abduction away from the midline (negative: crossing forward in side views).
    """
    u = rng.uniform
    sgn = lambda: float(rng.choice([-1.0, 1.0]))  # noqa: E731
    p = {"torso": 180 + u(-6, 6), "head_tilt": u(-12, 12)}
    if pose == "standing":
        p.update(arm_l=u(8, 50), arm_r=u(8, 50), elbow_l=u(0, 60) * sgn(), elbow_r=u(0, 60) * sgn(),
                 leg_l=u(3, 18), leg_r=u(3, 18), knee_l=u(0, 15) * sgn(), knee_r=u(0, 15) * sgn())
    elif pose == "walking":
        swing = u(12, 30)
        p.update(arm_l=u(5, 35), arm_r=u(5, 35), elbow_l=u(10, 50), elbow_r=-u(10, 50),
                 leg_l=swing, leg_r=swing * u(0.6, 1.0), knee_l=u(0, 15), knee_r=u(15, 60))
    elif pose == "arms_raised":
        p.update(arm_l=u(115, 170), arm_r=u(115, 170), elbow_l=u(0, 90) * sgn(),
                 elbow_r=u(0, 90) * sgn(), leg_l=u(4, 25), leg_r=u(4, 25),
                 knee_l=u(0, 20) * sgn(), knee_r=u(0, 20) * sgn())
    elif pose == "sitting":
        # seated on the floor seen from the front, knees apart and feet drawn in
        thigh = u(55, 95)
        p.update(arm_l=u(15, 60), arm_r=u(15, 60), elbow_l=u(20, 90), elbow_r=-u(20, 90),
                 leg_l=thigh + u(-8, 8), leg_r=thigh + u(-8, 8),
                 knee_l=u(70, 100), knee_r=u(70, 100))
    elif pose == "lying":
        p["torso"] = float(rng.choice([90.0, 270.0])) + u(-10, 10)
        if rng.random() < 0.5:   # arms above the head
            p.update(arm_l=u(130, 175), arm_r=u(130, 175), elbow_l=u(0, 70) * sgn(),
                     elbow_r=u(0, 70) * sgn())
        else:
            p.update(arm_l=u(10, 60), arm_r=u(10, 60), elbow_l=u(0, 80) * sgn(),
                     elbow_r=u(0, 80) * sgn())
        p.update(leg_l=u(2, 25), leg_r=u(2, 25), knee_l=u(0, 70) * sgn(), knee_r=u(0, 40) * sgn())
    else:
        raise ValueError(f"unknown pose {pose!r}; expected one of {POSES}")
    return p


def _skeleton(angles: dict, body: Body, build: float
              ) -> tuple[dict[str, np.ndarray], list[_Part], dict[str, float]]:
    """Forward kinematics at unit height: joints, body parts and segment widths (origin at
    the pelvis; the head is the last part)."""
    tor = angles["torso"]
    up = _direction(tor)                    # pelvis -> neck
    down = -up
    # the figure's left is the image's right when it faces the viewer: upright, up = (-1, 0)
    # gives left = (0, 1); in angle terms left = direction(torso - 90)
    left = np.array([up[1], -up[0]])
    J: dict[str, np.ndarray] = {}
    J["pelvis"] = np.zeros(2)
    J["neck"] = J["pelvis"] + up * body.torso_length
    head_dir = _direction(tor + angles["head_tilt"])
    J["head"] = J["neck"] + head_dir * (body.neck_length + body.head_radii[0] * 0.85)
    J["forehead"] = J["head"] + head_dir * body.head_radii[0] * 0.5   # framing only
    sh_center = J["neck"] + down * body.shoulder_drop
    J["shoulder_l"] = sh_center + left * body.shoulder_half_span
    J["shoulder_r"] = sh_center - left * body.shoulder_half_span
    J["hip_l"] = J["pelvis"] + left * body.hip_half_span
    J["hip_r"] = J["pelvis"] - left * body.hip_half_span

    parts: list[_Part] = []
    widths: dict[str, float] = {}

    def chain(side: str, root: str, abduction: float, bend: float,
              segs: tuple[tuple[str, str, tuple], ...], depth: float) -> None:
        s = 1.0 if side == "l" else -1.0
        # down the body is tor - 180; abduction turns the limb towards the figure's own side
        # (the left side lies at tor - 90, i.e. +90 from down); a bend turns the distal
        # segment back by `bend` degrees (negative: the other way)
        ang = tor - 180 + s * abduction
        start = J[root]
        for i, (seg_name, joint_name, dims) in enumerate(segs):
            length, w0, w1 = dims
            if i == 1:
                ang = ang - s * bend
            d = _direction(ang)
            end = start + d * length
            if joint_name:
                J[f"{joint_name}_{side}"] = end
            parts.append(_Part(f"{seg_name}_{side}", start.copy(), end, np.array([w0, w1]) * build,
                               np.array([0.0, 1.0]), depth=depth))
            if seg_name not in ("hand", "foot"):
                widths[f"{seg_name}_{side}"] = (w0 + w1) / 2 * build
            start = end

    for side in ("l", "r"):
        # arms lie in front of torso and head: a raised forearm crosses the face, never hides
        chain(side, f"shoulder_{side}", angles[f"arm_{side}"], angles[f"elbow_{side}"],
              (("upper_arm", "elbow", body.upper_arm), ("forearm", "wrist", body.forearm),
               ("hand", "", body.hand)), 0.07)
        chain(side, f"hip_{side}", angles[f"leg_{side}"], angles[f"knee_{side}"],
              (("thigh", "knee", body.thigh), ("shin", "ankle", body.shin)), 0.0)
    for side in ("l", "r"):   # framing only, not exported: the upper part of each thigh shows
        J[f"thigh_mid_{side}"] = J[f"hip_{side}"] * 0.6 + J[f"knee_{side}"] * 0.4
    # feet point outwards from the ankle, roughly perpendicular to the shin
    for side in ("l", "r"):
        s = 1.0 if side == "l" else -1.0
        shin = J[f"ankle_{side}"] - J[f"knee_{side}"]
        shin /= np.linalg.norm(shin)
        out = np.array([-shin[1], shin[0]]) * s
        d = shin * 0.55 + out * 0.8
        d /= np.linalg.norm(d)
        L, w0, w1 = body.foot
        parts.append(_Part(f"foot_{side}", J[f"ankle_{side}"].copy(), J[f"ankle_{side}"] + d * L,
                           np.array([w0, w1]) * build, np.array([0.0, 1.0]), depth=-0.01))

    torso_w = np.array(body.torso_profile_w) * build
    parts.append(_Part("torso", J["neck"].copy(), J["pelvis"].copy(), torso_w,
                       np.array(body.torso_profile_u), cap_a=0.03, cap_b=0.07, depth=-0.05))
    parts.append(_Part("neck", J["neck"].copy(), J["neck"] + head_dir * body.neck_length,
                       np.array([body.neck_width, body.neck_width * 0.9]) * build,
                       np.array([0.0, 1.0]), depth=-0.06))
    hr = body.head_radii
    hc = J["head"]
    parts.append(_Part("head", hc - head_dir * hr[0] * 0.3, hc + head_dir * hr[0] * 0.3,
                       np.array([2 * hr[1], 2 * hr[1]]) * build, np.array([0.0, 1.0]),
                       cap_a=hr[0] * 0.7, cap_b=hr[0] * 0.7, depth=0.02))
    widths["head"] = 2 * hr[1] * build
    widths["neck"] = body.neck_width * build
    widths["torso_shoulders"] = float(torso_w[1])
    widths["torso_waist"] = float(torso_w[3])
    widths["torso_hips"] = float(torso_w[4])
    return J, parts, widths


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


# Points that always stay inside the frame (the face, upper body, upper 40 % of the thighs);
# the crown (hair), knees, wrists, ankles, hands and feet may be cropped
# when the figure is enlarged to cover the requested share of the frame.
CORE_JOINTS = ("forehead", "head", "neck", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r",
               "pelvis", "hip_l", "hip_r", "thigh_mid_l", "thigh_mid_r")


def _scaled(parts: list[_Part], k: float, off: np.ndarray) -> list[_Part]:
    return [_Part(p.name, p.a * k + off, p.b * k + off, p.widths * k, p.us,
                  None if p.cap_a is None else p.cap_a * k,
                  None if p.cap_b is None else p.cap_b * k, p.depth * k) for p in parts]


def _offset(k: float, lo: np.ndarray, hi: np.ndarray, core_lo: np.ndarray, core_hi: np.ndarray,
            head_side: np.ndarray, shape: tuple[int, int], jitter: np.ndarray) -> np.ndarray:
    """Offset placing the scaled figure: centred with jitter where it fits, otherwise the head
    end kept in frame and the far end (feet, hands) cropped; core joints always inside."""
    dims = np.array(shape, float)
    margin = 0.03 * dims
    off = np.empty(2)
    for ax in range(2):
        extent = (hi[ax] - lo[ax]) * k
        slack = dims[ax] - extent
        if slack >= 0:
            off[ax] = -lo[ax] * k + slack / 2 + jitter[ax] * slack / 2
        elif abs(head_side[ax]) > 0.3:
            # head end flush with its frame edge (a little inside), the other end leaves
            off[ax] = (-lo[ax] * k + margin[ax] * 0.3 if head_side[ax] < 0
                       else dims[ax] - hi[ax] * k - margin[ax] * 0.3)
        else:
            off[ax] = -lo[ax] * k + slack / 2 + jitter[ax] * 0.3 * abs(slack)
        lo_ok = margin[ax] - core_lo[ax] * k
        hi_ok = dims[ax] - 1 - margin[ax] - core_hi[ax] * k
        off[ax] = min(max(off[ax], lo_ok), hi_ok) if lo_ok <= hi_ok else (lo_ok + hi_ok) / 2
    return off


def _place(parts: list[_Part], joints: dict[str, np.ndarray], shape: tuple[int, int],
           rng: np.random.Generator, coverage: float) -> tuple[float, np.ndarray]:
    """Scale and offset that make the figure's skin cover about ``coverage`` of the frame.

    Solved on a small preview render (a few ms), then refined twice for the cropped area.
    """
    h, w = shape
    los, his = zip(*(_part_extent(p) for p in parts), strict=False)
    lo, hi = np.min(los, axis=0), np.max(his, axis=0)
    core = np.array([joints[n] for n in CORE_JOINTS])
    core_lo, core_hi = core.min(axis=0), core.max(axis=0)
    head_side = joints["head"] - joints["pelvis"]
    head_side = head_side / np.linalg.norm(head_side)
    dims = np.array(shape, float)
    k_max = float(np.min(dims * 0.94 / np.maximum(core_hi - core_lo, 1e-6)))
    jitter = rng.uniform(-1, 1, 2)
    q = min(1.0, 128 / max(h, w))             # preview scale
    ph, pw = max(8, round(h * q)), max(8, round(w * q))
    no_light = np.array([0, 0, 1], np.float32)

    def frac(k: float) -> float:
        off = _offset(k, lo, hi, core_lo, core_hi, head_side, shape, jitter)
        _, cover, _, _ = _render_parts(_scaled(parts, k * q, off * q), (ph, pw), no_light)
        return float((cover >= 0.5).mean())

    # unit-figure area from a whole-figure preview, then correct for cropping
    k = min(float(np.min(dims * 0.9 / (hi - lo))), k_max)
    for _ in range(3):
        f = frac(k)
        if f <= 0:
            break
        k_new = min(k * math.sqrt(coverage / f), k_max)
        if abs(k_new - k) < 0.01 * k:
            break
        k = k_new
    return k, _offset(k, lo, hi, core_lo, core_hi, head_side, shape, jitter)


def figure(seed: int, *, size: Sequence[int] = (480, 640), tone: str | None = None,
           background: str | None = None, pose: str | None = None,
           jpeg_quality: int | None = None, coverage: float | None = None,
           clothing: bool = False) -> Scene:
    """A stylised, articulated human figure made of shaded cylinders (label 1).

    Parameters
    ----------
    seed : int
        Everything not given explicitly (tone, pose, angles, framing, light, background, noise)
        is drawn from a generator seeded with it.
    size : (height, width)
    tone : a key of ``TONES`` or None (random).
    background : one of ``BACKGROUNDS`` or None (random).
    pose : one of ``POSES`` or None (random).
    jpeg_quality : if given, the image is passed through JPEG at this quality.
    coverage : target fraction of the frame covered by the figure (None: random 0.33-0.55, above
        the skin filter's 30 % rule). The figure is scaled to reach it; knees, wrists, ankles,
        hands and feet may then leave the frame (their joints are omitted from ``joints``);
        the face, shoulders, elbows, hips and upper thighs never do, which caps the size.
        The achieved value is ``Scene.skin_fraction``.
    clothing : add a coloured band (swimsuit-like) across the hips; it is not in ``mask``.

    Returns
    -------
    Scene

    Examples
    --------
    >>> s = figure(0, size=(240, 320), pose="lying", tone="dark")
    >>> s.pose, s.tone, s.image.dtype
    ('lying', 'dark', dtype('uint8'))
    """
    h, w = _check_size(size)
    rng = _rng("figure", seed)
    tone = tone if tone is not None else str(rng.choice(list(TONES)))
    if tone not in TONES:
        raise ValueError(f"unknown tone {tone!r}; expected one of {tuple(TONES)}")
    pose = pose if pose is not None else str(rng.choice(POSES))
    background = background if background is not None else str(rng.choice(BACKGROUNDS))

    angles = _pose_angles(rng, pose)
    build = float(rng.uniform(0.95, 1.2))
    joints_u, parts, widths_u = _skeleton(angles, BODY, build)
    if coverage is None:
        coverage = float(rng.uniform(0.33, 0.55))
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    k, off = _place(parts, joints_u, (h, w), rng, coverage)
    parts = _scaled(parts, k, off)
    joints = {}
    for name in JOINTS:
        r, c = joints_u[name] * k + off
        if 0 <= r <= h - 1 and 0 <= c <= w - 1:
            joints[name] = (float(r), float(c))
    limb_widths = {name: float(v * k) for name, v in widths_u.items()}

    # light from the front and one side/above: lambertian fall-off across every cylinder
    el = math.radians(rng.uniform(25, 60))
    az = rng.uniform(0, 2 * math.pi)
    light = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)],
                     np.float32)
    if rng.random() < 0.8:
        light[0] = -abs(light[0])  # mostly from above
    shade, cover, owner, _ = _render_parts(parts, (h, w), light)
    part_names = [p.name for p in parts]

    bg = _background(rng, (h, w), background)
    # soft cast shadow: the blurred silhouette, shifted away from the light, darkens the background
    shift = -light[:2] / max(float(light[2]), 0.3) * 0.04 * min(h, w)
    M = np.float32([[1, 0, shift[1]], [0, 1, shift[0]]])
    small = cv2.resize(cover, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    sil = cv2.warpAffine(small, M / np.float32([1, 1, 4]), small.shape[::-1])
    sil = cv2.GaussianBlur(sil, (0, 0), max(0.5, 0.004 * min(h, w)))
    sil = cv2.resize(sil, (w, h), interpolation=cv2.INTER_LINEAR)

    ambient, diffuse = rng.uniform(0.28, 0.4), rng.uniform(0.65, 0.8)
    intensity = np.float32(ambient) + np.float32(diffuse) * shade
    # blur the shading slightly where parts meet so creases read as soft shadows, not cuts
    intensity = cv2.GaussianBlur(intensity, (0, 0), max(0.6, 0.004 * min(h, w)))
    # a small desaturated highlight (skin has a specular component, spec 1.0)
    highlight = np.clip(shade - np.float32(0.93), 0, None) * np.float32(240)
    base = np.array(TONES[tone], np.float32) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    colour = cv2.merge([intensity * base[i] + highlight for i in range(3)])

    skin_mask = cover >= 0.5
    # hair: a dark cap over the top of the head (never over the head joint)
    hair_rgb = np.array([(25, 20, 18), (70, 45, 30), (45, 40, 38), (20, 18, 16)][rng.integers(4)],
                        np.float32)
    head = parts[-1]
    r0, c0 = np.maximum(np.floor(_part_extent(head)[0]).astype(int) - 2, 0)
    r1, c1 = np.minimum(np.ceil(_part_extent(head)[1]).astype(int) + 3, (h, w))
    if r1 > r0 and c1 > c0:
        hd = (head.b - head.a) / np.linalg.norm(head.b - head.a)
        hc = (head.a + head.b) / 2
        along = ((np.arange(r0, r1)[:, None] - hc[0]) * hd[0]
                 + (np.arange(c0, c1)[None, :] - hc[1]) * hd[1])
        hair = ((owner[r0:r1, c0:c1] == len(parts)) & (cover[r0:r1, c0:c1] > 0)
                & (along > limb_widths["head"] * rng.uniform(0.12, 0.3)))
        colour[r0:r1, c0:c1][hair] = hair_rgb * (0.6 + 0.6 * shade[r0:r1, c0:c1][hair, None])
        skin_mask[r0:r1, c0:c1] &= ~hair
    if clothing:
        up = np.array(joints["neck"]) - np.array(joints["pelvis"])
        up /= np.linalg.norm(up)
        pelvis = joints_u["pelvis"] * k + off
        t = ((np.arange(h, dtype=np.float32)[:, None] - pelvis[0]) * up[0]
             + (np.arange(w, dtype=np.float32)[None, :] - pelvis[1]) * up[1])
        hips = limb_widths["torso_hips"]
        dressed = np.isin(owner, [i + 1 for i, n in enumerate(part_names)
                                  if n == "torso" or n.startswith("thigh")])
        band = (t > -0.35 * hips) & (t < 0.25 * hips) & dressed & (cover > 0)
        cloth_rgb = np.array([(30, 60, 170), (200, 30, 40), (20, 20, 25), (30, 140, 90)]
                             [rng.integers(4)], np.float32)
        colour[band] = cloth_rgb * intensity[band, None]
        skin_mask &= ~band

    # composite, cast shadow and soft global light in one pass: the weights carry them all
    falloff = _light_falloff(rng, (h, w), rng.uniform(0.05, 0.2))
    rgb = cv2.blendLinear(colour, bg, cover * falloff, (1 - cover) * (1 - 0.35 * sil) * falloff)
    image = _finish(rgb, rng, noise=float(rng.uniform(1.0, 3.0)), jpeg_quality=jpeg_quality)
    return Scene(image=image, label=1, category="figure", seed=int(seed), mask=skin_mask,
                 joints=joints, limb_widths=limb_widths, tone=tone, pose=pose,
                 background=background)


# ------------------------------------------------------------------------------------------------
# controls (label 0): the 1996 method's known confusions and ordinary safe scenes

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


def wood(seed: int, *, size: Sequence[int] = (480, 640), jpeg_quality: int | None = None) -> Scene:
    """Wooden planks or a wooden cabinet: skin-hued, parallel grain and straight plank edges.

    >>> wood(0, size=(60, 80)).category
    'wood'
    """
    h, w = _check_size(size)
    rng = _rng("wood", seed)
    vertical = bool(rng.random() < 0.5)
    n_planks = int(rng.integers(3, 9))
    first = _jitter(rng, WOOD_COLOURS[rng.integers(len(WOOD_COLOURS))], 0.05)
    base = [first] + [first * np.float32(rng.uniform(0.88, 1.1)) for _ in range(n_planks - 1)]

    def planks(shape: tuple[int, int]) -> np.ndarray:
        ph, pw = shape
        col = np.arange(pw, dtype=np.float32)[None, :]
        width = pw / n_planks
        idx = np.minimum((col // width).astype(int), n_planks - 1)
        warp = _smooth_noise(rng, shape, rng.uniform(30, 80)) * np.float32(rng.uniform(4, 12))
        period = rng.uniform(6, 16)
        phase = rng.uniform(0, 2 * math.pi, n_planks).astype(np.float32)[idx]
        rings = np.sin((col + warp) * np.float32(2 * math.pi / period) + phase)
        grain = 1 + 0.06 * rings + 0.03 * _streaks(rng, shape, int(rng.uniform(20, 60)))
        colours = np.stack(base)[idx[0]]                       # (pw, 3)
        img = grain[..., None] * colours[None, :, :]
        edge = (col % width) < max(1.5, 0.004 * pw)
        img[:, edge[0]] *= np.float32(0.45)                    # dark gaps between planks
        return img

    img = _oriented(planks, (h, w), vertical)
    if rng.random() < 0.4:  # a cabinet against a cool wall, not a wall-to-wall floor
        bg = _background(rng, (h, w), "room")
        r0, r1 = int(rng.uniform(0.05, 0.25) * h), int(rng.uniform(0.8, 1.0) * h)
        c0, c1 = int(rng.uniform(0.03, 0.2) * w), int(rng.uniform(0.8, 0.97) * w)
        bg[r0:r1, c0:c1] = img[r0:r1, c0:c1]
        # a drawer line and a knob make it furniture
        mid = (r0 + r1) // 2
        cv2.line(bg, (c0, mid), (c1, mid), (60, 40, 25), max(1, h // 160))
        cv2.circle(bg, ((c0 + c1) // 2, (r0 + mid) // 2), max(2, h // 60), (70, 70, 75), -1)
        img = bg
    img *= _light_falloff(rng, (h, w), rng.uniform(0.1, 0.3))[..., None]
    return _control("wood", seed, _finish(img, rng, noise=rng.uniform(1, 3),
                                          jpeg_quality=jpeg_quality))


def bread(seed: int, *, size: Sequence[int] = (480, 640), jpeg_quality: int | None = None) -> Scene:
    """Loaves and rolls (domed, crust-coloured, scored) on a cool tablecloth.

    >>> bread(0, size=(60, 80)).label
    0
    """
    h, w = _check_size(size)
    rng = _rng("bread", seed)
    table = _cool_colour(rng, lo=120, hi=230)
    img = np.empty((h, w, 3), np.float32)
    img[:] = table
    img *= (1 + 0.03 * _smooth_noise(rng, (h, w), 6))[..., None]
    light = np.array([-0.5, -0.3, 0.8], np.float32)
    light /= np.linalg.norm(light)
    m = min(h, w)
    tex = 1 + 0.05 * _smooth_noise(rng, (h, w), 3)          # crumbly crust
    for _ in range(int(rng.integers(1, 5))):
        c = np.array([rng.uniform(0.2, 0.8) * h, rng.uniform(0.15, 0.85) * w])
        length = rng.uniform(0.15, 0.6) * m
        width = rng.uniform(0.25, 0.5) * m
        d = _direction(rng.uniform(0, 180))
        loaf = _Part("loaf", c - d * length / 2, c + d * length / 2,
                     np.array([width, width * 0.95]), np.array([0.0, 1.0]))
        shade, cover, _, _ = _render_parts([loaf], (h, w), light)
        crust = _jitter(rng, CRUST_COLOURS[rng.integers(len(CRUST_COLOURS))])
        col = (0.45 + 0.65 * shade * tex)[..., None] * crust
        # scoring: a few darker slashes across the loaf
        cuts = np.zeros((h, w), np.float32)
        for j in range(int(rng.integers(2, 5))):
            t = (j + 1) / 5 - 0.5
            p = c + d * length * t
            q = np.array([-d[1], d[0]]) * width * 0.3
            a, b = p - q + d * width * 0.1, p + q - d * width * 0.1
            cv2.line(cuts, (int(a[1]), int(a[0])), (int(b[1]), int(b[0])), 1.0,
                     max(2, int(width * 0.06)))
        cuts = cv2.GaussianBlur(cuts, (0, 0), max(1, width * 0.02))
        col *= (1 - 0.35 * cuts)[..., None]
        col += (cuts * 40)[..., None] * np.float32([1.0, 0.9, 0.6])   # paler crumb in the cut
        a3 = cover[..., None]
        img = col * a3 + img * (1 - a3)
    img *= _light_falloff(rng, (h, w), rng.uniform(0.05, 0.2))[..., None]
    return _control("bread", seed, _finish(img, rng, noise=rng.uniform(1, 3),
                                           jpeg_quality=jpeg_quality))


def face_closeup(seed: int, *, size: Sequence[int] = (480, 640),
                 jpeg_quality: int | None = None) -> Scene:
    """A stylised face filling the frame: skin ellipse, eyes, brows, nose, mouth; no limbs.

    ``mask`` is the facial skin (a face is skin, but it is not a figure).

    >>> s = face_closeup(0, size=(120, 160))
    >>> s.category, s.label, s.skin_fraction > 0.2
    ('face_closeup', 0, True)
    """
    h, w = _check_size(size)
    rng = _rng("face_closeup", seed)
    tone = str(rng.choice(list(TONES)))
    bg = _background(rng, (h, w), str(rng.choice(["flat", "gradient", "texture"])))
    fh = rng.uniform(0.8, 1.25) * h                       # face height (chin to crown)
    fw = fh * rng.uniform(0.68, 0.8)
    c = np.array([h * rng.uniform(0.48, 0.6), w * rng.uniform(0.4, 0.6)])
    tilt = rng.uniform(-10, 10)
    up = _direction(180 + tilt)
    side = np.array([up[1], -up[0]]) * -1
    el = rng.uniform(0.4, 0.8)
    light = np.array([-0.4, rng.uniform(-0.5, 0.5), el], np.float32)
    light /= np.linalg.norm(light)
    neck = _Part("neck", c - up * fh * 0.3, c - up * fh * 0.9, np.array([fw * 0.6, fw * 0.65]),
                 np.array([0.0, 1.0]), depth=-fw * 0.2)
    head = _Part("head", c - up * fh * 0.12, c + up * fh * 0.12, np.array([fw, fw]),
                 np.array([0.0, 1.0]), cap_a=fh * 0.38, cap_b=fh * 0.38)
    shade, cover, _, _ = _render_parts([neck, head], (h, w), light)
    base = _jitter(rng, TONES[tone], 0.04)
    col = (0.3 + 0.75 * shade)[..., None] * base
    img = col * cover[..., None] + bg * (1 - cover[..., None])
    mask = cover >= 0.5

    def pt(v: np.ndarray) -> tuple[int, int]:
        return int(round(v[1])), int(round(v[0]))

    feat = np.zeros((h, w), np.uint8)
    hair_rgb = np.array([(25, 20, 18), (80, 50, 30), (50, 45, 40), (150, 110, 60)]
                        [rng.integers(4)], np.float32)
    # hair: everything of the head above a line across the forehead, a little down the sides
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (rr - c[0]) * up[0] + (cc - c[1]) * up[1]
    hair = (cover > 0.5) & (along > fh * rng.uniform(0.22, 0.3))
    img[hair] = hair_rgb * (0.7 + 0.5 * shade[hair, None])
    eye_y, eye_x = fh * 0.07, fw * 0.2
    for s in (-1, 1):
        e = c + up * eye_y + side * s * eye_x
        ax = (int(fw * 0.09), int(fh * 0.04))
        cv2.ellipse(img, pt(e), ax, -tilt, 0, 360, (235, 235, 230), -1, cv2.LINE_AA)
        cv2.circle(img, pt(e), int(fh * 0.03), (60, 45, 35), -1, cv2.LINE_AA)
        cv2.circle(img, pt(e), int(fh * 0.013), (10, 10, 10), -1, cv2.LINE_AA)
        cv2.ellipse(feat, pt(e), ax, -tilt, 0, 360, 1, -1)
        b0 = c + up * fh * 0.14 + side * s * fw * 0.1
        b1 = c + up * fh * 0.15 + side * s * fw * 0.3
        cv2.line(img, pt(b0), pt(b1), tuple(float(v) for v in hair_rgb), max(2, int(fh * 0.02)),
                 cv2.LINE_AA)
        cv2.line(feat, pt(b0), pt(b1), 1, max(2, int(fh * 0.02)))
    nose = c - up * fh * 0.08
    cv2.ellipse(img, pt(nose), (int(fw * 0.07), int(fh * 0.025)), -tilt, 0, 180,
                tuple(float(v) * 0.6 for v in base), max(1, int(fh * 0.01)), cv2.LINE_AA)
    mouth = c - up * fh * 0.22
    m_ax = (int(fw * rng.uniform(0.12, 0.2)), int(fh * rng.uniform(0.015, 0.04)))
    cv2.ellipse(img, pt(mouth), m_ax, -tilt, 0, 360, (170, 70, 70), -1, cv2.LINE_AA)
    cv2.ellipse(feat, pt(mouth), m_ax, -tilt, 0, 360, 1, -1)
    mask &= ~hair & (feat == 0)
    img *= _light_falloff(rng, (h, w), rng.uniform(0.05, 0.2))[..., None]
    return _control("face_closeup", seed,
                    _finish(img, rng, noise=rng.uniform(1, 3), jpeg_quality=jpeg_quality),
                    mask=mask, tone=tone)


def skin_wall(seed: int, *, size: Sequence[int] = (480, 640),
              jpeg_quality: int | None = None) -> Scene:
    """A flat peach/beige wall with slight texture, often a door frame and a floor strip.

    >>> skin_wall(0, size=(60, 80)).category
    'skin_wall'
    """
    h, w = _check_size(size)
    rng = _rng("skin_wall", seed)
    wall = _jitter(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))], 0.04)
    tex = (1 + 0.025 * _smooth_noise(rng, (h, w), 3) + 0.02 * _smooth_noise(rng, (h, w), 25))
    img = tex[..., None] * wall
    # light from a window: a broad gradient across the wall
    img *= _light_falloff(rng, (h, w), rng.uniform(0.2, 0.5))[..., None]
    floor = int(rng.uniform(0.8, 0.95) * h)
    img[floor:] = _cool_colour(rng, lo=50, hi=120)
    if rng.random() < 0.7:
        dw, dh = int(rng.uniform(0.2, 0.35) * w), int(rng.uniform(0.6, 0.75) * h)
        c0 = int(rng.uniform(0.05, 0.95) * w - dw / 2)
        r0 = floor - dh
        door = _cool_colour(rng, lo=150, hi=240) if rng.random() < 0.5 else \
            np.float32([235, 235, 230])
        trim = max(3, int(0.015 * w))
        cv2.rectangle(img, (c0 - trim, r0 - trim), (c0 + dw + trim, floor), (245, 245, 240), -1)
        cv2.rectangle(img, (c0, r0), (c0 + dw, floor), tuple(float(v) for v in door), -1)
        cv2.circle(img, (c0 + int(dw * 0.85), r0 + dh // 2), max(2, w // 120), (90, 90, 95), -1)
    return _control("skin_wall", seed, _finish(img, rng, noise=rng.uniform(1, 2.5),
                                               jpeg_quality=jpeg_quality))


def fur(seed: int, *, size: Sequence[int] = (480, 640), jpeg_quality: int | None = None) -> Scene:
    """Tan animal fur: fine oriented strands bent by a smooth flow, darker undercoat patches.

    >>> fur(0, size=(60, 80)).category
    'fur'
    """
    h, w = _check_size(size)
    rng = _rng("fur", seed)
    base = _jitter(rng, FUR_COLOURS[rng.integers(len(FUR_COLOURS))], 0.05)
    length = int(rng.uniform(0.03, 0.08) * max(h, w))
    # strands run down the rows, then the whole field is turned to a random angle
    pad = int(math.hypot(h, w)) + 4
    strands = _streaks(rng, (pad, pad), length)
    angle = rng.uniform(0, 180)
    M = cv2.getRotationMatrix2D((pad / 2, pad / 2), angle, 1.0)
    M[:, 2] += (w / 2 - pad / 2, h / 2 - pad / 2)
    strands = cv2.warpAffine(strands, M, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
    strands = _warp(rng, strands, amount=0.04 * max(h, w), blur=max(h, w) / 4)
    patches = _smooth_noise(rng, (h, w), max(h, w) / 6)
    lum = 0.85 + 0.12 * strands + 0.1 * patches
    img = np.clip(lum, 0.2, 1.6)[..., None] * base
    if rng.random() < 0.5:   # an animal's flank against a background rather than all fur
        bg = _background(rng, (h, w), str(rng.choice(["flat", "texture", "gradient"])))
        body = _Part("body", np.array([h * 0.55, w * 0.1]), np.array([h * 0.5, w * 0.9]),
                     np.array([h * 0.8, h * 0.75]), np.array([0.0, 1.0]))
        _, cover, _, _ = _render_parts([body], (h, w), np.array([0, 0, 1], np.float32))
        img = img * cover[..., None] + bg * (1 - cover[..., None])
    img *= _light_falloff(rng, (h, w), rng.uniform(0.05, 0.25))[..., None]
    return _control("fur", seed, _finish(img, rng, noise=rng.uniform(1, 3),
                                         jpeg_quality=jpeg_quality))


def stripes(seed: int, *, size: Sequence[int] = (480, 640),
            jpeg_quality: int | None = None) -> Scene:
    """Skin-hued parallel stripes alternating with another colour (fabric, awning, poster).

    >>> stripes(0, size=(60, 80)).category
    'stripes'
    """
    h, w = _check_size(size)
    rng = _rng("stripes", seed)
    skin_like = _jitter(rng, list(TONES.values())[rng.integers(len(TONES))], 0.05)
    other = _jitter(rng, OTHER_COLOURS[rng.integers(len(OTHER_COLOURS))], 0.05)
    period = rng.uniform(0.05, 0.2) * min(h, w)
    duty = rng.uniform(0.4, 0.65)
    ang = math.radians(rng.uniform(0, 180))
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float32)
    x = (rr * math.cos(ang) + cc * math.sin(ang)) / period
    x = x + 0.15 * _smooth_noise(rng, (h, w), max(h, w) / 3)   # fabric drape
    frac = x - np.floor(x)
    t = np.clip((duty - frac) * period + 0.5, 0, 1)             # anti-aliased edge
    t = np.minimum(t, np.clip(frac * period + 0.5, 0, 1) if duty < 1 else t)
    img = t[..., None] * skin_like + (1 - t[..., None]) * other
    img *= _light_falloff(rng, (h, w), rng.uniform(0.1, 0.3))[..., None]
    return _control("stripes", seed, _finish(img, rng, noise=rng.uniform(1, 3),
                                             jpeg_quality=jpeg_quality))


def landscape(seed: int, *, size: Sequence[int] = (480, 640),
              jpeg_quality: int | None = None) -> Scene:
    """Sky, hills and grass, sometimes a tree: an ordinary safe outdoor scene.

    >>> landscape(0, size=(60, 80)).category
    'landscape'
    """
    h, w = _check_size(size)
    rng = _rng("landscape", seed)
    top, horizon_col = _jitter(rng, (70, 120, 200), 0.1), _jitter(rng, (170, 205, 235), 0.05)
    horizon = rng.uniform(0.35, 0.65) * h
    r = np.arange(h, dtype=np.float32)[:, None, None]
    t = np.clip(r / max(horizon, 1), 0, 1)
    img = (top * (1 - t) + horizon_col * t) * np.ones((1, w, 1), np.float32)
    col = np.arange(w, dtype=np.float32)
    for layer in range(2):
        amp, freq = rng.uniform(0.03, 0.1) * h, rng.uniform(1, 3) * 2 * math.pi / w
        line = horizon + layer * 0.05 * h + amp * np.sin(col * freq + rng.uniform(0, 6))
        green = _jitter(rng, ((70, 120, 60), (90, 150, 70))[layer], 0.1)
        below = r[:, :, 0] >= line[None, :]
        img[below] = green
    grass = 1 + 0.08 * _streaks(rng, (h, w), 7) + 0.06 * _smooth_noise(rng, (h, w), 30)
    ground = r[:, :, 0] >= horizon - 0.1 * h
    img = np.where(ground[..., None] & (img[..., 1:2] > img[..., 2:3]), img * grass[..., None], img)
    if rng.random() < 0.6:
        tc, base = int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(horizon + 0.1 * h, 0.95 * h))
        tw, th = max(3, int(0.02 * w)), int(rng.uniform(0.15, 0.3) * h)
        cv2.rectangle(img, (tc - tw, base - th), (tc + tw, base), (90, 70, 50), -1)
        cv2.circle(img, (tc, base - th), int(th * 0.6), (40, 95, 45), -1, cv2.LINE_AA)
    if rng.random() < 0.5:   # clouds
        for _ in range(int(rng.integers(1, 4))):
            cc_, rr_ = int(rng.uniform(0, w)), int(rng.uniform(0.05, 0.3) * h)
            cv2.ellipse(img, (cc_, rr_), (int(0.1 * w), int(0.04 * h)), 0, 0, 360,
                        (240, 243, 248), -1, cv2.LINE_AA)
    return _control("landscape", seed, _finish(img, rng, noise=rng.uniform(1, 3),
                                               jpeg_quality=jpeg_quality))


def grey(seed: int, *, size: Sequence[int] = (480, 640), jpeg_quality: int | None = None) -> Scene:
    """A greyscale scene: a colour control (landscape, wood, bread, wall, stripes) without colour.

    The method is colour-only (spec 1.12), so this must never pass the skin filter.

    >>> s = grey(0, size=(60, 80))
    >>> bool((s.image[..., 0] == s.image[..., 1]).all())
    True
    """
    h, w = _check_size(size)
    rng = _rng("grey", seed)
    source = (landscape, wood, bread, skin_wall, stripes)[int(rng.integers(5))]
    colour = source(int(rng.integers(2**31)), size=(h, w)).image
    g = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    img = np.repeat(g[..., None], 3, axis=2)
    if jpeg_quality is not None:
        img = _jpeg_roundtrip(img, int(jpeg_quality))
        img[...] = img[..., :1]     # JPEG chroma rounding must not bring colour back
    return _control("grey", seed, img)


CONTROLS: dict[str, Callable[..., Scene]] = {
    "wood": wood,
    "bread": bread,
    "face_closeup": face_closeup,
    "skin_wall": skin_wall,
    "fur": fur,
    "stripes": stripes,
    "landscape": landscape,
    "grey": grey,
}
KINDS = ("figure", *CONTROLS)


def scene(kind: str, seed: int, **kw) -> Scene:
    """Dispatch by name: ``"figure"`` or a key of ``CONTROLS``.

    >>> scene("fur", 2, size=(40, 50)).category
    'fur'
    """
    if kind == "figure":
        return figure(seed, **kw)
    try:
        make = CONTROLS[kind]
    except KeyError:
        raise ValueError(f"unknown scene kind {kind!r}; expected one of {KINDS}") from None
    return make(seed, **kw)


def generate(n: int, *, seed: int = 0, kinds: Sequence[str] | None = None,
             size: Sequence[int] = (480, 640),
             jpeg_quality: int | None = None) -> Iterator[Scene]:
    """``n`` scenes on the fly, reproducibly (same arguments -> identical images).

    Scene ``i`` has kind ``kinds[i % len(kinds)]``; the default alternates figures with the
    controls in turn (half figures, half controls). Each scene's own seed is derived from
    ``(seed, i)`` and stored in ``Scene.seed``, so ``scene(s.category, s.seed, size=...)``
    regenerates it.

    >>> [s.category for s in generate(4, size=(40, 50))]
    ['figure', 'wood', 'figure', 'bread']
    """
    if kinds is None:
        controls = list(CONTROLS)
        order = [k for c in controls for k in ("figure", c)]
    else:
        order = list(kinds)
        for k in order:
            if k != "figure" and k not in CONTROLS:
                raise ValueError(f"unknown scene kind {k!r}; expected one of {KINDS}")
    if not order:
        raise ValueError("kinds must not be empty")
    for i in range(int(n)):
        item_seed = int(np.random.SeedSequence([int(seed), i]).generate_state(1)[0])
        yield scene(order[i % len(order)], item_seed, size=size, jpeg_quality=jpeg_quality)


if __name__ == "__main__":  # python -m fleck.synth [out_dir]: regenerate data_samples/
    import runpy
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "tools" / "make_samples.py"
    sys.argv = [str(tool), *sys.argv[1:]]
    runpy.run_path(str(tool), run_name="__main__")
