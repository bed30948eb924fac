"""Where the evidence is: a detection's groups, limbs, segments and skin map as image regions.

A region is a JSON-able dict in the input image's pixel frame::

    {"kind": "group", "rule": "limb_limb_girdle", "box": [x0, y0, x1, y1],
     "polygon": [[x, y], ...], "score": 0.83, "segments": [3, 4, 7, 8]}

* ``kind`` is ``"group"``, ``"limb"``, ``"segment"`` or ``"skin"``; ``rule`` the group type
  (``limb_limb_girdle``, ``limb_segment_girdle``, ``spine_thigh``), ``"limb"`` for limbs,
  ``"torso"`` or ``"segment"`` for segments (torso-only pieces are ``"torso"``), None for skin.
* ``box`` bounds the region in pixel-edge coordinates, x = column, y = row, ``x1``/``y1``
  exclusive, clipped to the image: ``image[y0:y1, x0:x1]`` crops it.
* ``polygon`` (groups, limbs, segments) outlines it in pixel-centre coordinates (pixel (0, 0)
  is centred at (0, 0)): a segment's ribbon (its four corners), the convex hull of the ribbons
  of a limb or group. The skin region has none: the map itself is a PNG (``--masks``) or a
  run-length encoding (:func:`skin_rle`).
* ``score`` in [0, 1]: for a group, the detector's score had that group been the only one
  found (>= 0.5 exactly when it alone fires the rule); for a limb or segment, the best score of
  the groups it belongs to (0 when none); for the skin map, the skin fraction.

The list comes ordered: the deciding group first, the other groups by decreasing score, then the
limbs, the segments and the skin map. :func:`cover_mask` rasterises what a censor covers.

>>> import numpy as np, fleck
>>> found = regions(fleck.detect(np.full((60, 80, 3), (60, 90, 160), np.uint8)))
>>> found
[]
"""

from __future__ import annotations

import math
from typing import Protocol

import cv2
import numpy as np

from fleck.config import FLECK_1996, FleckConfig, get_config
from fleck.decision import decide
from fleck.grouper import Group, enabled_kinds
from fleck.segments import Segment
from fleck.skin import resize_mask


class Detection(Protocol):
    """What these functions read of a :class:`fleck.detector.Detection` (which imports this
    module, so it is described here rather than imported)."""

    decision: bool
    skin_fraction: float
    passes_skin: bool
    segments: tuple
    limbs: tuple
    groups: tuple
    image_size: tuple[int, int]
    mask: np.ndarray
    deciding_group: int | None
    config: str

    def mask_at(self, shape: tuple[int, int] | None = None) -> np.ndarray: ...

__all__ = ["REGION_KINDS", "COVER_WHAT", "regions", "deciding_groups", "cover_polygons",
           "cover_mask", "skin_rle", "rle_decode", "attach_skin_rle"]

REGION_KINDS = ("group", "limb", "segment", "skin")
COVER_WHAT = ("groups", "limbs", "skin")
_SHIFT = 4  # fixed-point bits for OpenCV's polygon filling: 1/16 px precision


def _config(detection, config: FleckConfig | str | None) -> FleckConfig:
    """The configuration a detection was made with, by name; the 1996 one when unknown."""
    if isinstance(config, FleckConfig):
        return config
    try:
        return get_config(config or detection.config)
    except ValueError:  # a configuration built in Python under a name of its own
        return FLECK_1996


def _group_scores(detection, config: FleckConfig) -> list[float]:
    """Each group's score as if it were the only group the grouper found.

    Computed from the values at the precision ``Detection.to_dict`` keeps, so that a detection
    read back from its record gives the same regions.
    """
    explained = round(getattr(detection, "explained_skin", 1.0), 6)
    return [decide(round(detection.skin_fraction, 6), detection.passes_skin,
                   n_limbs=len(detection.limbs), groups=(Group.from_dict(g.to_dict()),),
                   bailed_out=None, geometry=config.geometry, skin=config.skin,
                   explained=explained).score
            for g in detection.groups]


def deciding_groups(detection: Detection,
                    config: FleckConfig | str | None = None) -> list[int]:
    """Indices of the groups that fire the rule by themselves, the deciding group first.

    Parameters
    ----------
    detection : Detection
    config : FleckConfig or name, optional
        Which group types are switched on and how much coverage fires the rule (default: the
        detection's configuration).

    Returns
    -------
    list of int
        Indices into ``detection.groups`` of the groups of an enabled type whose coverage
        reaches the rule's mark.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> from fleck.grouper import Group
    >>> g = [Group("spine_thigh", (0, 1, 2), (), (5.0, 5.0), 0.02),
    ...      Group("limb_limb_girdle", (3, 4), (0, 1), (9.0, 9.0), 0.08)]
    >>> deciding_groups(NS(groups=g, deciding_group=1, config="fleck1996"))
    [1]
    """
    geometry = _config(detection, config).geometry
    kinds = set(enabled_kinds(geometry))
    chosen = [i for i, g in enumerate(detection.groups)
              if g.kind in kinds and g.coverage >= geometry.min_group_coverage]
    first = detection.deciding_group
    if first is not None and 0 <= first < len(detection.groups):
        chosen = [first] + [i for i in chosen if i != first]
    return chosen


def _box(points: np.ndarray, shape: tuple[int, int]) -> list[int]:
    """Pixel-edge box [x0, y0, x1, y1) of pixel-centre points (x, y), clipped to ``shape``."""
    x0, y0 = np.floor(points.min(axis=0) + 0.5)
    x1, y1 = np.ceil(points.max(axis=0) + 0.5)
    rows, cols = shape
    return [int(min(max(x0, 0), cols)), int(min(max(y0, 0), rows)),
            int(min(max(x1, 0), cols)), int(min(max(y1, 0), rows))]


def _outline(polygons: list[np.ndarray]) -> np.ndarray:
    points = np.concatenate(polygons).astype(np.float32)
    return points if len(polygons) == 1 else cv2.convexHull(points).reshape(-1, 2)


def _region(kind: str, rule, polygons: list[np.ndarray], score: float,
            shape: tuple[int, int], **extra) -> dict:
    outline = _outline(polygons)
    return {"kind": kind, "rule": rule, "box": _box(outline, shape),
            "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in outline],
            "score": round(float(score), 6), **extra}


def regions(detection: Detection, *, config: FleckConfig | str | None = None) -> list[dict]:
    """Every group, limb and segment of ``detection`` and its skin map, as regions.

    Parameters
    ----------
    detection : fleck.detector.Detection
    config : FleckConfig or name, optional
        The configuration the detection was made with (for the groups' scores); by default the
        one named by ``detection.config`` (the 1996 one when the name is unknown).

    Returns
    -------
    list of dict
        See the module docstring; the deciding group first.

    Examples
    --------
    >>> import fleck
    >>> from fleck import synth
    >>> detection = fleck.detect(synth.figure(1, size=(240, 320)).image)
    >>> found = regions(detection)
    >>> found[0]["kind"], found[0]["rule"] == detection.rule, found[-1]["kind"]
    ('group', True, 'skin')
    """
    config = _config(detection, config)
    shape = tuple(int(v) for v in detection.image_size)
    # At the record's precision (see _group_scores).
    segments = {s.index: Segment.from_dict(s.to_dict()) for s in detection.segments}
    ribbons = {i: s.ribbon() for i, s in segments.items()}
    group_scores = _group_scores(detection, config)
    order = sorted(range(len(detection.groups)),
                   key=lambda i: (i != detection.deciding_group, -group_scores[i], i))
    out: list[dict] = []
    best_of_segment: dict[int, float] = {}
    for i in order:
        group = detection.groups[i]
        members = [j for j in group.segments if j in ribbons]
        for j in members:
            best_of_segment[j] = max(best_of_segment.get(j, 0.0), group_scores[i])
        if members:
            out.append(_region("group", group.kind, [ribbons[j] for j in members],
                               group_scores[i], shape, segments=members,
                               limbs=list(group.limbs)))
    limb_regions = []
    for limb in detection.limbs:
        members = [j for j in limb.segments if j in ribbons]
        if members:
            score = max((best_of_segment.get(j, 0.0) for j in members), default=0.0)
            limb_regions.append(_region("limb", "limb", [ribbons[j] for j in members], score,
                                        shape, segments=members, index=limb.index))
    out += sorted(limb_regions, key=lambda r: (-r["score"], r["index"]))
    for index, segment in segments.items():
        out.append(_region("segment", "torso" if segment.torso_only else "segment",
                           [ribbons[index]], best_of_segment.get(index, 0.0), shape,
                           index=index, width=round(float(segment.width), 2)))
    skin = detection.mask
    if skin.size and skin.any():
        rows, cols = np.nonzero(skin.any(axis=1))[0], np.nonzero(skin.any(axis=0))[0]
        sy, sx = shape[0] / skin.shape[0], shape[1] / skin.shape[1]
        box = [int(math.floor(cols[0] * sx)), int(math.floor(rows[0] * sy)),
               min(shape[1], int(math.ceil((cols[-1] + 1) * sx))),
               min(shape[0], int(math.ceil((rows[-1] + 1) * sy)))]
        out.append({"kind": "skin", "rule": None, "box": box,
                    "score": round(float(detection.skin_fraction), 6)})
    return out


def cover_polygons(detection: Detection, what: str = "groups", *,
                   config: FleckConfig | str | None = None) -> list[np.ndarray]:
    """The ribbons a censor covers.

    Parameters
    ----------
    detection : Detection
    what : {'groups', 'limbs', 'skin'}
        ``groups``: every segment of the groups that fire the rule by themselves
        (:func:`deciding_groups`); ``limbs``: those and both segments of every limb; ``skin``:
        none (the skin map is a raster, see :func:`cover_mask`).
    config : FleckConfig or name, optional
        As in :func:`deciding_groups`.

    Returns
    -------
    list of (4, 2) float32 ndarray
        Ribbon corners (x, y) = (col, row) in the detection's frame.

    Examples
    --------

    >>> from types import SimpleNamespace as NS
    >>> cover_polygons(NS(groups=(), limbs=(), segments=(), deciding_group=None,
    ...                   config="fleck1996"), "limbs")
    []
    """
    if what not in COVER_WHAT:
        raise ValueError(f"what must be one of {', '.join(COVER_WHAT)}, got {what!r}")
    if what == "skin":
        return []
    chosen: dict[int, None] = {}
    for i in deciding_groups(detection, config):
        chosen.update(dict.fromkeys(detection.groups[i].segments))
    if what == "limbs":
        for limb in detection.limbs:
            chosen.update(dict.fromkeys(limb.segments))
    segments = {s.index: s for s in detection.segments}
    return [segments[i].ribbon() for i in chosen if i in segments]


def cover_mask(detection: Detection, what: str = "groups",
               shape: tuple[int, int] | None = None, *,
               margin: float = 0.0, config: FleckConfig | str | None = None) -> np.ndarray:
    """The pixels a censor covers, as an (M, N) bool map at ``shape`` (default: the image's).

    Parameters
    ----------
    detection : fleck.detector.Detection
    what : {'groups', 'limbs', 'skin'}
        The ribbons of the groups that fire the rule, those and every limb, or the skin map.
    shape : (int, int), optional
        (rows, cols) of the image to cover; a resized copy of the detection's image is fine.
    margin : float
        Grow the covered area by this many pixels (of ``shape``) in every direction.
    config : FleckConfig or name, optional
        Which groups fire the rule (default: the detection's configuration).

    Returns
    -------
    (M, N) bool ndarray

    Examples
    --------
    >>> import numpy as np, fleck
    >>> d = fleck.detect(np.full((60, 80, 3), (176, 112, 80), np.uint8))
    >>> float(cover_mask(d, "skin").mean()), bool(cover_mask(d, "groups").any())
    (1.0, False)
    """
    src_h, src_w = (int(v) for v in detection.image_size)
    rows, cols = (src_h, src_w) if shape is None else (int(shape[0]), int(shape[1]))
    if what == "skin":
        # Grown at the skin map's own (working) resolution, then enlarged: the same area as
        # growing the enlarged map, at a fraction of the cost.
        working = detection.mask.astype(np.uint8)
        step = (rows + cols) / max(1, sum(working.shape))
        if margin > 0 and working.any():
            working = _grow(working, margin / step)
        return resize_mask(working.astype(bool), (rows, cols))
    else:
        mask = np.zeros((rows, cols), np.uint8)
        sx, sy = cols / src_w, rows / src_h
        for ribbon in cover_polygons(detection, what, config=config):
            scaled = (ribbon + 0.5) * (sx, sy) - 0.5
            cv2.fillConvexPoly(mask, np.round(scaled * (1 << _SHIFT)).astype(np.int32), 1,
                               cv2.LINE_8, _SHIFT)
    if margin > 0 and mask.any():
        mask = _grow(mask, margin)
    return mask.astype(bool)


def _grow(mask: np.ndarray, margin: float) -> np.ndarray:
    """``mask`` grown by ``margin`` pixels (Euclidean, within 2 %), working only around its
    bounding box."""
    x, y, w, h = cv2.boundingRect(mask)
    pad = int(math.ceil(margin)) + 1
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(mask.shape[0], y + h + pad), min(mask.shape[1], x + w + pad)
    crop = mask[top:bottom, left:right]
    # The 5x5 chamfer approximation of the Euclidean distance (error < 2 %) costs 1/7 of the
    # exact transform: 1 ms against 8 ms on a 640 x 480 skin map.
    distance = cv2.distanceTransform((crop == 0).view(np.uint8), cv2.DIST_L2, 5)
    out = mask.copy()
    out[top:bottom, left:right] = (distance <= margin).view(np.uint8)
    return out


def skin_rle(mask: np.ndarray) -> dict:
    """Run-length encoding of a boolean map, COCO's uncompressed layout.

    Parameters
    ----------
    mask : (M, N) bool ndarray

    Returns
    -------
    dict
        ``{"size": [rows, cols], "counts": [...]}``: run lengths in column-major order,
        starting with a run of False (possibly 0 long). :func:`rle_decode` inverts it.

    Examples
    --------
    >>> rle = skin_rle(np.array([[0, 1], [1, 1]], bool))
    >>> rle
    {'size': [2, 2], 'counts': [1, 3]}
    >>> rle_decode(rle).tolist()
    [[False, True], [True, True]]
    """
    flat = np.asarray(mask, bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.r_[0, changes, flat.size]
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def attach_skin_rle(record: dict, detection: Detection) -> dict:
    """Put the skin map's run-length encoding in the skin region of a record, as ``rle``.

    Parameters
    ----------
    record : dict
        A record holding ``Detection.summary()`` (changed in place).
    detection : Detection
        Its skin map is encoded at the image's size (:func:`skin_rle`).

    Returns
    -------
    dict
        ``record``.

    Examples
    --------
    >>> import numpy as np, fleck
    >>> d = fleck.detect(np.full((20, 30, 3), (176, 112, 80), np.uint8))
    >>> attach_skin_rle(d.summary(), d)["regions"][-1]["rle"]
    {'size': [20, 30], 'counts': [0, 600]}
    """
    for region in record.get("regions", []):
        if region["kind"] == "skin":
            region["rle"] = skin_rle(detection.mask_at())
    return record


def rle_decode(rle: dict) -> np.ndarray:
    """The boolean map of a :func:`skin_rle` encoding.

    Parameters
    ----------
    rle : dict
        ``{"size": [rows, cols], "counts": [...]}``.

    Returns
    -------
    (rows, cols) bool ndarray

    Raises
    ------
    ValueError
        If the runs do not add up to rows x cols.

    Examples
    --------
    >>> rle_decode({"size": [2, 2], "counts": [1, 2, 1]}).tolist()
    [[False, True], [True, False]]
    """
    rows, cols = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], np.int64)
    if counts.sum() != rows * cols:
        raise ValueError(f"run lengths add up to {counts.sum()}, not {rows} x {cols}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape((rows, cols), order="F")
