"""The articulated mannequin of :func:`figure`: proportions, poses, forward kinematics, framing
and shading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fleck.synth.render import (
    BACKGROUNDS,
    TONES,
    Scene,
    _background,
    _check_size,
    _direction,
    _finish,
    _light_falloff,
    _Part,
    _part_extent,
    _render_parts,
    _rng,
)

__all__ = ["figure", "Body", "BODY", "POSES", "JOINTS", "CORE_JOINTS"]

POSES = ("standing", "walking", "arms_raised", "sitting", "lying")

JOINTS = ("head", "neck", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l", "wrist_r",
          "pelvis", "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r")



@dataclass(frozen=True)
class Body:
    """Proportions of the mannequin, in units of its standing height (head top to ankle).

    Not detector thresholds: chosen so that limbs are clearly elongated ribbons (length/width
    >= 2) and a framed figure covers roughly 30-60 % of a frame with skin.

    Examples
    --------
    >>> BODY.torso_length, Body(neck_length=0.06).neck_length
    (0.33, 0.06)
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
    for side in ("l", "r"):
        # arms lie in front of torso and head: a raised forearm crosses the face, never hides
        _chain(J, parts, widths, tor, build, side, f"shoulder_{side}", angles[f"arm_{side}"],
               angles[f"elbow_{side}"],
               (("upper_arm", "elbow", body.upper_arm), ("forearm", "wrist", body.forearm),
                ("hand", "", body.hand)), 0.07)
        _chain(J, parts, widths, tor, build, side, f"hip_{side}", angles[f"leg_{side}"],
               angles[f"knee_{side}"],
               (("thigh", "knee", body.thigh), ("shin", "ankle", body.shin)), 0.0)
    for side in ("l", "r"):   # framing only, not exported: the upper part of each thigh shows
        J[f"thigh_mid_{side}"] = J[f"hip_{side}"] * 0.6 + J[f"knee_{side}"] * 0.4
    _feet(J, parts, body, build)
    _trunk_and_head(J, parts, widths, body, build, head_dir)
    return J, parts, widths


def _chain(J: dict[str, np.ndarray], parts: list[_Part], widths: dict[str, float], tor: float,
           build: float, side: str, root: str, abduction: float, bend: float,
           segs: tuple[tuple[str, str, tuple], ...], depth: float) -> None:
    """One arm or leg from ``root``: its joints into ``J``, its parts and widths appended."""
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


def _feet(J: dict[str, np.ndarray], parts: list[_Part], body: Body, build: float) -> None:
    """Feet point outwards from the ankle, roughly perpendicular to the shin."""
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


def _trunk_and_head(J: dict[str, np.ndarray], parts: list[_Part], widths: dict[str, float],
                    body: Body, build: float, head_dir: np.ndarray) -> None:
    """Torso, neck and head parts (the head last) and their widths."""
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

    light = _light(rng)
    shade, cover, owner, _ = _render_parts(parts, (h, w), light)
    bg = _background(rng, (h, w), background)
    shadow = _cast_shadow(cover, light)
    colour, intensity = _skin_colour(rng, shade, tone)
    skin_mask = cover >= 0.5
    _add_hair(rng, colour, skin_mask, parts[-1], owner == len(parts), cover, shade,
              limb_widths["head"])
    if clothing:
        pelvis = joints_u["pelvis"] * k + off
        _add_clothing(rng, colour, skin_mask, parts, owner, cover, intensity, joints, pelvis,
                      limb_widths["torso_hips"])

    # composite, cast shadow and soft global light in one pass: the weights carry them all
    falloff = _light_falloff(rng, (h, w), rng.uniform(0.05, 0.2))
    rgb = cv2.blendLinear(colour, bg, cover * falloff,
                          (1 - cover) * (1 - 0.35 * shadow) * falloff)
    image = _finish(rgb, rng, noise=float(rng.uniform(1.0, 3.0)), jpeg_quality=jpeg_quality)
    return Scene(image=image, label=1, category="figure", seed=int(seed), mask=skin_mask,
                 joints=joints, limb_widths=limb_widths, tone=tone, pose=pose,
                 background=background)


def _light(rng: np.random.Generator) -> np.ndarray:
    """Light from the front and one side/above: lambertian fall-off across every cylinder."""
    el = math.radians(rng.uniform(25, 60))
    az = rng.uniform(0, 2 * math.pi)
    light = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)],
                     np.float32)
    if rng.random() < 0.8:
        light[0] = -abs(light[0])  # mostly from above
    return light


def _cast_shadow(cover: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Soft cast shadow: the blurred silhouette, shifted away from the light (0-1 weights)."""
    h, w = cover.shape
    shift = -light[:2] / max(float(light[2]), 0.3) * 0.04 * min(h, w)
    M = np.float32([[1, 0, shift[1]], [0, 1, shift[0]]])
    small = cv2.resize(cover, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    sil = cv2.warpAffine(small, M / np.float32([1, 1, 4]), small.shape[::-1])
    sil = cv2.GaussianBlur(sil, (0, 0), max(0.5, 0.004 * min(h, w)))
    return cv2.resize(sil, (w, h), interpolation=cv2.INTER_LINEAR)


def _skin_colour(rng: np.random.Generator, shade: np.ndarray,
                 tone: str) -> tuple[np.ndarray, np.ndarray]:
    """The shaded skin colour (float32 RGB) of every pixel, and the light intensity."""
    h, w = shade.shape
    ambient, diffuse = rng.uniform(0.28, 0.4), rng.uniform(0.65, 0.8)
    intensity = np.float32(ambient) + np.float32(diffuse) * shade
    # blur the shading slightly where parts meet so creases read as soft shadows, not cuts
    intensity = cv2.GaussianBlur(intensity, (0, 0), max(0.6, 0.004 * min(h, w)))
    # a small desaturated highlight (skin has a specular component, spec 1.0)
    highlight = np.clip(shade - np.float32(0.93), 0, None) * np.float32(240)
    base = np.array(TONES[tone], np.float32) * rng.uniform(0.95, 1.05, 3).astype(np.float32)
    return cv2.merge([intensity * base[i] + highlight for i in range(3)]), intensity


def _add_hair(rng: np.random.Generator, colour: np.ndarray, skin_mask: np.ndarray, head: _Part,
              on_head: np.ndarray, cover: np.ndarray, shade: np.ndarray,
              head_width: float) -> None:
    """A dark cap over the top of the head (never over the head joint); not skin."""
    h, w = skin_mask.shape
    hair_rgb = np.array([(25, 20, 18), (70, 45, 30), (45, 40, 38), (20, 18, 16)][rng.integers(4)],
                        np.float32)
    r0, c0 = np.maximum(np.floor(_part_extent(head)[0]).astype(int) - 2, 0)
    r1, c1 = np.minimum(np.ceil(_part_extent(head)[1]).astype(int) + 3, (h, w))
    if r1 <= r0 or c1 <= c0:
        return
    hd = (head.b - head.a) / np.linalg.norm(head.b - head.a)
    hc = (head.a + head.b) / 2
    along = ((np.arange(r0, r1)[:, None] - hc[0]) * hd[0]
             + (np.arange(c0, c1)[None, :] - hc[1]) * hd[1])
    hair = (on_head[r0:r1, c0:c1] & (cover[r0:r1, c0:c1] > 0)
            & (along > head_width * rng.uniform(0.12, 0.3)))
    colour[r0:r1, c0:c1][hair] = hair_rgb * (0.6 + 0.6 * shade[r0:r1, c0:c1][hair, None])
    skin_mask[r0:r1, c0:c1] &= ~hair


def _add_clothing(rng: np.random.Generator, colour: np.ndarray, skin_mask: np.ndarray,
                  parts: list[_Part], owner: np.ndarray, cover: np.ndarray,
                  intensity: np.ndarray, joints: dict[str, tuple[float, float]],
                  pelvis: np.ndarray, hips: float) -> None:
    """A coloured band (swimsuit-like) across the hips; not skin."""
    h, w = skin_mask.shape
    up = np.array(joints["neck"]) - np.array(joints["pelvis"])
    up /= np.linalg.norm(up)
    t = ((np.arange(h, dtype=np.float32)[:, None] - pelvis[0]) * up[0]
         + (np.arange(w, dtype=np.float32)[None, :] - pelvis[1]) * up[1])
    dressed = np.isin(owner, [i + 1 for i, p in enumerate(parts)
                              if p.name == "torso" or p.name.startswith("thigh")])
    band = (t > -0.35 * hips) & (t < 0.25 * hips) & dressed & (cover > 0)
    cloth_rgb = np.array([(30, 60, 170), (200, 30, 40), (20, 20, 25), (30, 140, 90)]
                         [rng.integers(4)], np.float32)
    colour[band] = cloth_rgb * intensity[band, None]
    skin_mask &= ~band


