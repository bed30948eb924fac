"""Body-plan grouping rules (spec G4-G7): limbs, limb-limb girdles, limb-segment girdles and
spine-thigh groups, assembled from segments.

Every rule is a pure function of the segments (and, for limbs, the skin map). Pair searches use a
k-d tree (``scipy.spatial.cKDTree``, the spatial grid of G10 in C) on spine endpoints, so the cost
grows with the number of nearby pairs, not with the square of the segment count. The grouper bails
out when limbs outnumber segments threefold or exceed 1,000 (spec 2.3.6): parallel grain and
lattices produce thousands of "limbs", bodies do not.

>>> from fleck.segments import Segment
>>> upper = Segment(0, (10.0, 50.0), (50.0, 50.0), 12.0, 0, 1)
>>> lower = Segment(1, (50.0, 50.0), (80.0, 75.0), 10.0, 1, 2)
>>> import numpy as np
>>> limbs = find_limbs((upper, lower), np.ones((100, 100), bool))
>>> len(limbs), limbs[0].joint, limbs[0].proximal
(1, (50.0, 50.0), 0)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from fleck.config import GeometryConfig
from fleck.frame import canonical_frame
from fleck.segments import Segment, scale_point
from fleck.skin import disk_footprint

__all__ = ["LIMB_LIMB_GIRDLE", "LIMB_SEGMENT_GIRDLE", "SPINE_THIGH", "GROUP_KINDS", "Limb",
           "Group", "Grouping", "group", "find_limbs", "limb_limb_girdles", "limb_segment_girdles",
           "spine_thigh_groups", "enabled_kinds"]

LIMB_LIMB_GIRDLE = "limb_limb_girdle"
LIMB_SEGMENT_GIRDLE = "limb_segment_girdle"
SPINE_THIGH = "spine_thigh"
GROUP_KINDS = (LIMB_LIMB_GIRDLE, LIMB_SEGMENT_GIRDLE, SPINE_THIGH)


@dataclass(frozen=True)
class Limb:
    """Two segments joined end to end at ``joint`` (G4).

    ``proximal`` is the wider segment (upper arm, thigh); ``proximal_end`` its far end from the
    joint (shoulder, hip); ``angle`` the angle at the joint in degrees (180 = straight).
    """

    index: int
    segments: tuple[int, int]
    joint: tuple[float, float]
    angle: float
    proximal: int
    proximal_end: tuple[float, float]

    def mapped(self, transform) -> Limb:
        """The limb with ``transform`` applied to its points (a (row, col) map)."""
        return dataclasses.replace(self, joint=transform(self.joint),
                                   proximal_end=transform(self.proximal_end))

    def scaled(self, factor: float) -> Limb:
        return Limb(self.index, self.segments, scale_point(self.joint, factor), self.angle,
                    self.proximal, scale_point(self.proximal_end, factor))

    def to_dict(self) -> dict:
        """JSON-able and lossless: ``Limb.from_dict(limb.to_dict()) == limb``."""
        return {"index": self.index, "segments": list(self.segments),
                "joint": [float(v) for v in self.joint], "angle": float(self.angle),
                "proximal": self.proximal,
                "proximal_end": [float(v) for v in self.proximal_end]}

    @classmethod
    def from_dict(cls, data: dict) -> Limb:
        return cls(int(data["index"]), tuple(data["segments"]), tuple(data["joint"]),
                   float(data["angle"]), int(data["proximal"]), tuple(data["proximal_end"]))


@dataclass(frozen=True)
class Group:
    """A girdle or spine-thigh group: ``kind`` (one of GROUP_KINDS), the segments and limbs it
    joins, its centre ``point`` and the fraction of the image its ribbons cover."""

    kind: str
    segments: tuple[int, ...]
    limbs: tuple[int, ...]
    point: tuple[float, float]
    coverage: float

    def mapped(self, transform) -> Group:
        """The group with ``transform`` applied to its point (a (row, col) map)."""
        return dataclasses.replace(self, point=transform(self.point))

    def scaled(self, factor: float) -> Group:
        return Group(self.kind, self.segments, self.limbs, scale_point(self.point, factor),
                     self.coverage)

    def to_dict(self) -> dict:
        """JSON-able and lossless: ``Group.from_dict(g.to_dict()) == g``."""
        return {"kind": self.kind, "segments": list(self.segments), "limbs": list(self.limbs),
                "point": [float(v) for v in self.point], "coverage": float(self.coverage)}

    @classmethod
    def from_dict(cls, data: dict) -> Group:
        return cls(data["kind"], tuple(data["segments"]), tuple(data["limbs"]),
                   tuple(data["point"]), float(data["coverage"]))


@dataclass(frozen=True)
class Grouping:
    """Everything the grouper built; ``bailed_out`` is a reason when it gave up."""

    limbs: tuple[Limb, ...]
    groups: tuple[Group, ...]
    bailed_out: str | None = None
    truncated: bool = False
    #: Fraction of the skin map covered by the ribbons of the groups that reach
    #: ``min_group_coverage`` (0 when none does): how much of the skin the body plan explains.
    explained: float = 0.0


def group(segments: tuple[Segment, ...], skin: np.ndarray,
          config: GeometryConfig | None = None, *, first_only: bool = False) -> Grouping:
    """Run G4-G7 on ``segments`` of the skin map ``skin`` (both at the working resolution).

    With ``first_only`` each group type stops at its first group that covers enough of the image
    to decide (G8), which is all a yes/no answer needs (spec 2.3.6). Like the segment finder, it
    works in the canonical orientation of ``skin`` (:mod:`fleck.frame`), so that rounding and
    tie-breaks do not depend on how the image is mirrored.
    """
    config = config or GeometryConfig()
    frame = canonical_frame(skin)
    if not frame.identity:
        to_canonical = frame.to_canonical
        found = _group(tuple(s.mapped(to_canonical) for s in segments), frame.apply(skin),
                       config, first_only)
        return Grouping(tuple(limb.mapped(frame.to_input) for limb in found.limbs),
                        tuple(g.mapped(frame.to_input) for g in found.groups),
                        found.bailed_out, found.truncated, found.explained)
    return _group(segments, skin, config, first_only)


def _group(segments: tuple[Segment, ...], skin: np.ndarray, config: GeometryConfig,
           first_only: bool) -> Grouping:
    """:func:`group` in the skin map's own orientation."""
    limit = int(min(config.max_limbs, config.max_limbs_per_segment * max(len(segments), 1)))
    limbs = find_limbs(segments, skin, config, limit=limit)
    if len(limbs) > limit:
        return Grouping((), (), f"over {limit} limbs from {len(segments)} segments "
                                "(a lattice or grain, not a body plan)")
    area = skin.shape[0] * skin.shape[1]
    coverage = _Coverage(segments, skin.shape)
    groups: list[Group] = []
    truncated = False
    for kind in enabled_kinds(config):
        finder = _FINDERS[kind]
        count = 0
        for found in finder(segments, limbs, config, skin):
            found = Group(found.kind, found.segments, found.limbs, found.point,
                          coverage(found.segments) / area)
            groups.append(found)
            count += 1
            if first_only and found.coverage >= config.min_group_coverage:
                break
            if count >= config.max_groups_listed:
                truncated = True
                break
    return Grouping(tuple(limbs), tuple(groups), None, truncated,
                    _explained(groups, coverage, skin, config.min_group_coverage))


def _explained(groups: list[Group], coverage: _Coverage, skin: np.ndarray,
               min_coverage: float) -> float:
    """Fraction of the skin map under the ribbons of the groups reaching ``min_coverage``."""
    deciding = {i for g in groups if g.coverage >= min_coverage for i in g.segments}
    skin_pixels = int(np.count_nonzero(skin))
    if not deciding or skin_pixels == 0:
        return 0.0
    coverage(deciding)
    return float(np.count_nonzero(coverage.canvas.view(bool) & skin)) / skin_pixels



def find_limbs(segments: tuple[Segment, ...], skin: np.ndarray,
               config: GeometryConfig | None = None, *, limit: int | None = None) -> list[Limb]:
    """G4: pairs of segments meeting end to end at a plausible joint.

    With ``limit``, stops as soon as more than ``limit`` limbs are found (the caller bails out).
    """
    config = config or GeometryConfig()
    candidates = [s for s in segments if not s.torso_only]
    if len(candidates) < 2:
        return []
    ends = np.array([end for s in candidates for end in (s.p, s.q)])
    widths = np.array([s.width for s in candidates])
    pairs = cKDTree(ends).query_pairs(config.limb_joint_distance * widths.max(),
                                      output_type="ndarray")
    # Cheap tests vectorised over all nearby endpoint pairs, before any per-pair Python.
    seg_a, seg_b = pairs[:, 0] // 2, pairs[:, 1] // 2
    w_a, w_b = widths[seg_a], widths[seg_b]
    gaps = np.hypot(*(ends[pairs[:, 0]] - ends[pairs[:, 1]]).T)
    low, high = config.limb_width_ratio
    keep = ((seg_a != seg_b) & (gaps <= config.limb_joint_distance * np.maximum(w_a, w_b))
            & (w_a / w_b >= low) & (w_a / w_b <= high))
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for (i, j), gap in zip(pairs[keep].tolist(), gaps[keep].tolist(), strict=True):
        a, b = candidates[i // 2], candidates[j // 2]
        key = (min(a.index, b.index), max(a.index, b.index))
        if key not in best or gap < best[key][0]:
            best[key] = (gap, i, j) if a.index < b.index else (gap, j, i)
    by_index = {s.index: s for s in candidates}
    limbs: list[Limb] = []
    for (ia, ib), (_, end_a, end_b) in sorted(best.items()):
        a, b = by_index[ia], by_index[ib]
        joint = tuple(((ends[end_a] + ends[end_b]) / 2).tolist())
        far_a = a.q if end_a % 2 == 0 else a.p
        far_b = b.q if end_b % 2 == 0 else b.p
        angle = _angle(np.subtract(far_a, joint), np.subtract(far_b, joint))
        if angle < config.limb_min_angle:
            continue
        if _overlap(a, b) >= config.max_overlap:
            continue
        if _disk_fraction(skin, joint, 0.5 * max(a.width, b.width)) < config.limb_joint_skin:
            continue
        proximal, far = (a, far_a) if a.width >= b.width else (b, far_b)
        limbs.append(Limb(len(limbs), (a.index, b.index), joint, angle, proximal.index,
                          tuple(float(v) for v in far)))
        if limit is not None and len(limbs) > limit:
            break
    return limbs


def limb_limb_girdles(segments, limbs, config: GeometryConfig, skin: np.ndarray | None = None):
    """G5: two limbs (no shared segment) whose proximal ends meet, e.g. both legs at the hips."""
    if len(limbs) < 2:
        return
    by_index = {s.index: s for s in segments}
    widths = np.array([by_index[limb.proximal].width for limb in limbs])
    tree = cKDTree(np.array([limb.proximal_end for limb in limbs]))
    low, high = config.girdle_width_ratio
    for i, j in sorted(tree.query_pairs(config.girdle_distance * widths.max())):
        first, second = limbs[i], limbs[j]
        if set(first.segments) & set(second.segments):
            continue
        w1, w2 = widths[i], widths[j]
        gap = math.dist(first.proximal_end, second.proximal_end)
        if gap > config.girdle_distance * max(w1, w2) or not low <= w1 / w2 <= high:
            continue
        if skin is not None and _line_fraction(
                skin, first.proximal_end, second.proximal_end) < config.girdle_link_skin:
            continue
        point = _midpoint(first.proximal_end, second.proximal_end)
        out1 = np.subtract(_other_end(by_index[first.proximal], first.proximal_end), point)
        out2 = np.subtract(_other_end(by_index[second.proximal], second.proximal_end), point)
        if _angle(out1, out2) > config.girdle_max_angle:
            continue
        yield Group(LIMB_LIMB_GIRDLE, tuple(dict.fromkeys(first.segments + second.segments)),
                    (first.index, second.index), point, 0.0)


def limb_segment_girdles(segments, limbs, config: GeometryConfig,
                         skin: np.ndarray | None = None):
    """G6: a limb whose proximal end meets an end of a wider segment (a torso)."""
    if not limbs:
        return
    by_index = {s.index: s for s in segments}
    torsos = [s for s in segments if s.ribbon_length >= s.width]
    if not torsos:
        return
    ends = np.array([end for t in torsos for end in (t.p, t.q)])
    tree = cKDTree(ends)
    max_torso = max(t.width for t in torsos)
    for limb in limbs:
        proximal_width = by_index[limb.proximal].width
        for k in sorted(tree.query_ball_point(limb.proximal_end,
                                              config.torso_attach_distance * max_torso)):
            torso = torsos[k // 2]
            if torso.index in limb.segments:
                continue
            if torso.width < config.torso_width_ratio * proximal_width:
                continue
            if _continues(by_index[limb.proximal], torso):
                continue
            if math.dist(limb.proximal_end, ends[k]) > config.torso_attach_distance * torso.width:
                continue
            if skin is not None and _line_fraction(
                    skin, limb.proximal_end, ends[k]) < config.girdle_link_skin:
                continue
            yield Group(LIMB_SEGMENT_GIRDLE, (*limb.segments, torso.index), (limb.index,),
                        tuple(float(v) for v in ends[k]), 0.0)


def spine_thigh_groups(segments, limbs, config: GeometryConfig, skin: np.ndarray | None = None):
    """G7: a torso segment with two thigh segments leaving the same end."""
    if len(segments) < 3:
        return
    ends = np.array([end for s in segments for end in (s.p, s.q)])
    # Every end's neighbours in one query (the same balls as one query per end).
    radii = np.repeat([config.torso_attach_distance * s.width for s in segments], 2)
    balls = cKDTree(ends).query_ball_point(ends, radii)
    low_w, high_w = config.thigh_width_range
    low_r, high_r = config.thigh_width_ratio
    for position, torso in enumerate(segments):
        for side, (end, other) in enumerate(((torso.p, torso.q), (torso.q, torso.p))):
            outward = (end[0] - other[0], end[1] - other[1])
            thighs = []
            for k in sorted(balls[2 * position + side]):
                thigh = segments[k // 2]
                if thigh.index == torso.index or thigh.torso_only:
                    continue
                if not low_w * torso.width <= thigh.width <= high_w * torso.width:
                    continue
                near = thigh.p if k % 2 == 0 else thigh.q  # ends[k]
                far = _other_end(thigh, near)
                direction = (far[0] - near[0], far[1] - near[1])
                if _angle(outward, direction) > config.thigh_max_angle:
                    continue
                if skin is not None and _line_fraction(skin, end, near) < config.girdle_link_skin:
                    continue
                thighs.append(thigh)
            for i in range(len(thighs)):
                for j in range(i + 1, len(thighs)):
                    s1, s2 = thighs[i], thighs[j]
                    if s1.index == s2.index or not low_r <= s1.width / s2.width <= high_r:
                        continue
                    if _overlap(s1, s2) >= config.max_overlap:
                        continue
                    yield Group(SPINE_THIGH, (torso.index, s1.index, s2.index), (),
                                tuple(float(v) for v in end), 0.0)


def enabled_kinds(config: GeometryConfig) -> tuple[str, ...]:
    """The group types switched on in ``config``, in GROUP_KINDS order."""
    switches = {LIMB_LIMB_GIRDLE: config.limb_limb_girdle,
                LIMB_SEGMENT_GIRDLE: config.limb_segment_girdle, SPINE_THIGH: config.spine_thigh}
    return tuple(kind for kind in GROUP_KINDS if switches[kind])


_FINDERS = {LIMB_LIMB_GIRDLE: limb_limb_girdles, LIMB_SEGMENT_GIRDLE: limb_segment_girdles,
            SPINE_THIGH: spine_thigh_groups}


class _Coverage:
    """Area of the union of some segments' ribbons, in working-resolution pixels."""

    def __init__(self, segments, shape):
        self.polygons = {s.index: np.rint(s.ribbon()).astype(np.int32) for s in segments}
        self.canvas = np.zeros(shape, np.uint8)

    def __call__(self, indices) -> int:
        self.canvas[:] = 0
        for index in indices:
            cv2.fillConvexPoly(self.canvas, self.polygons[index], 1)
        return int(np.count_nonzero(self.canvas))


def _angle(u, v) -> float:
    nu, nv = math.hypot(u[0], u[1]), math.hypot(v[0], v[1])
    if nu == 0 or nv == 0:
        return 0.0
    cos = (u[0] * v[0] + u[1] * v[1]) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _other_end(segment: Segment, end) -> tuple[float, float]:
    return segment.q if math.dist(segment.p, end) <= math.dist(segment.q, end) else segment.p


def _midpoint(a, b) -> tuple[float, float]:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _disk_fraction(mask: np.ndarray, centre, radius: float) -> float:
    r = max(1, int(round(radius)))
    row, col = int(round(centre[0])), int(round(centre[1]))
    r0, r1 = max(0, row - r), min(mask.shape[0], row + r + 1)
    c0, c1 = max(0, col - r), min(mask.shape[1], col + r + 1)
    if r0 >= r1 or c0 >= c1:
        return 0.0
    disk = disk_footprint(r)[r0 - row + r:r1 - row + r, c0 - col + r:c1 - col + r].view(bool)
    return np.count_nonzero(mask[r0:r1, c0:c1] & disk) / np.count_nonzero(disk)


def _continues(a: Segment, b: Segment) -> bool:
    """Whether a and b are consecutive pieces of one skeleton chain (they share a bend, not a
    branch point): a ribbon changing width there, not a limb meeting a torso."""
    shared = {(a.node_p, a.branch_p), (a.node_q, a.branch_q)} & {(b.node_p, b.branch_p),
                                                                (b.node_q, b.branch_q)}
    return any(not branch for _, branch in shared)


def _line_fraction(mask: np.ndarray, a, b) -> float:
    """Fraction of the samples (one per pixel of length) on the line a -> b that are in mask."""
    n = max(2, int(math.ceil(math.dist(a, b))) + 1)
    t = _unit_steps(n)
    rows = np.clip((a[0] + (b[0] - a[0]) * t + 0.5).astype(np.intp), 0, mask.shape[0] - 1)
    cols = np.clip((a[1] + (b[1] - a[1]) * t + 0.5).astype(np.intp), 0, mask.shape[1] - 1)
    return float(np.count_nonzero(mask[rows, cols])) / n


@functools.lru_cache(maxsize=512)
def _unit_steps(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)


def _overlap(a: Segment, b: Segment) -> float:
    """Intersection area of the two ribbons over the smaller ribbon's area."""
    area, _ = cv2.intersectConvexConvex(a.ribbon(), b.ribbon())
    smaller = min(a.length * a.width, b.length * b.width)
    return float(area) / smaller if smaller > 0 else 1.0
