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

Examples
--------
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

from collections.abc import Iterator, Sequence

import numpy as np

from fleck.synth.controls import (
    CONTROLS,
    bread,
    face_closeup,
    fur,
    grey,
    landscape,
    skin_wall,
    stripes,
    wood,
)
from fleck.synth.figures import BODY, CORE_JOINTS, JOINTS, POSES, Body, figure
from fleck.synth.render import BACKGROUNDS, TONES, Scene, encode_jpeg

__all__ = ["Scene", "TONES", "POSES", "BACKGROUNDS", "CONTROLS", "KINDS", "JOINTS", "CORE_JOINTS",
           "Body", "BODY", "figure", "scene", "generate", "encode_jpeg", "wood", "bread",
           "face_closeup", "skin_wall", "fur", "stripes", "landscape", "grey"]

KINDS = ("figure", *CONTROLS)


def scene(kind: str, seed: int, **kw) -> Scene:
    """Dispatch by name: ``"figure"`` or a key of ``CONTROLS``.

    Parameters
    ----------
    kind : str
        ``"figure"`` or a key of :data:`CONTROLS`.
    seed : int
        The scene's seed.
    **kw
        Options of that generator (``size``, ``jpeg_quality``; figures take more).

    Returns
    -------
    Scene

    Raises
    ------
    ValueError
        For an unknown kind.

    Examples
    --------
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

    Parameters
    ----------
    n : int
        Number of scenes.
    seed : int
        Seed of the whole sequence.
    kinds : sequence of str, optional
        Kinds to cycle through (default: figures alternating with each control in turn).
    size : (height, width)
        Image size.
    jpeg_quality : int, optional
        Pass every image through JPEG at this quality.

    Yields
    ------
    Scene

    Examples
    --------
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
