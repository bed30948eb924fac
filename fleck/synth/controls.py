"""Controls (label 0): the skin-coloured scenes the 1996 method is known to confuse with people
(wood, bread, close-up faces, skin-coloured walls, fur, stripes) and ordinary safe scenes
(landscape, greyscale).

>>> sorted(CONTROLS)[:3]
['bread', 'face_closeup', 'fur']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from fleck.synth.render import (
    CRUST_COLOURS,
    FUR_COLOURS,
    OTHER_COLOURS,
    TONES,
    WALL_COLOURS,
    WOOD_COLOURS,
    Scene,
    _background,
    _check_size,
    _control,
    _cool_colour,
    _direction,
    _finish,
    _jitter,
    _jpeg_roundtrip,
    _light_falloff,
    _oriented,
    _Part,
    _render_parts,
    _rng,
    _smooth_noise,
    _streaks,
    _warp,
)

__all__ = ["CONTROLS", "wood", "bread", "face_closeup", "skin_wall", "fur", "stripes",
           "landscape", "grey"]


def wood(seed: int, *, size: Sequence[int] = (480, 640), jpeg_quality: int | None = None) -> Scene:
    """Wooden planks or a wooden cabinet: skin-hued, parallel grain and straight plank edges.

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "wood".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "bread".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "face_closeup".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "skin_wall".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "fur".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "stripes".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "landscape".

    Examples
    --------
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

    Parameters
    ----------
    seed : int
        Everything is drawn from a generator seeded with it (and the control's name).
    size : (height, width)
        Image size, at least (16, 16).
    jpeg_quality : int, optional
        Pass the image through JPEG at this quality.

    Returns
    -------
    Scene
        Label 0, category "grey".

    Examples
    --------
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
