"""Elongated skin regions ("segments") and their spines, from the skin map's medial axis.

Spec 2.3.2 (RECOMMENDED over the G1-G3 edge pairs, on measured evidence): open the skin map with a
disk of radius max(1, SCALE); take the Euclidean distance transform and a thin skeleton; cut the
skeleton at junction pixels; cut each chain at its sharp bends (measured over an arc about as long
as the chain is wide; Douglas-Peucker with tolerance max(2, 2 SCALE) as in the spec is the
``splitter='dp'`` alternative);
every straight piece at least 8 SCALE long is a segment whose spine is the piece and whose width is
twice the median distance over its middle 70 %. G3's width and elongation bounds apply. Pieces
meeting at a skeleton junction or a polyline vertex share a node, which the grouper uses as joint.
This is Blum's medial axis, the same family as Brady & Asada's smoothed local symmetries that the
1997 "Body Plans" paper cites.

Coordinates are (row, col) floats at the resolution of the mask given.

>>> import numpy as np, cv2
>>> mask = np.zeros((120, 160), np.uint8)
>>> _ = cv2.line(mask, (20, 60), (140, 60), 1, 16)   # a horizontal bar 16 px wide
>>> found = find_segments(mask.astype(bool), scale=1.0)
>>> len(found.segments), round(found.segments[0].width)
(1, 17)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.morphology import skeletonize

from fleck.chains import (
    _absorb_short_pieces,
    _bend_vertices,
    _clip,
    _merge_gentle_bends,
    _simplify,
    _trace_chains,
)
from fleck.config import GeometryConfig
from fleck.frame import Frame, canonical_frame

__all__ = ["Segment", "SegmentSet", "scale_point", "ribbon_polygon", "find_segments"]



@dataclass(frozen=True)
class Segment:
    """A ribbon of skin: spine from ``p`` to ``q`` (row, col), ``width`` across it.

    ``node_p``/``node_q`` identify the skeleton nodes (junctions, polyline vertices, free ends)
    at the two spine ends; segments sharing a node meet there. ``branch_p``/``branch_q`` say
    whether that end is a skeleton branch point (three or more arms, e.g. a shoulder) rather than
    a bend or a free end. ``torso_only`` marks stubby, wide pieces kept only as torso candidates
    (spec G3).
    """

    index: int
    p: tuple[float, float]
    q: tuple[float, float]
    width: float
    node_p: int
    node_q: int
    torso_only: bool = False
    branch_p: bool = False
    branch_q: bool = False

    @property
    def length(self) -> float:
        return math.hypot(self.q[0] - self.p[0], self.q[1] - self.p[1])

    @property
    def midpoint(self) -> tuple[float, float]:
        return ((self.p[0] + self.q[0]) / 2, (self.p[1] + self.q[1]) / 2)

    @property
    def ribbon_length(self) -> float:
        """Spine length plus w/2 at each branch end: a medial axis stops half a width short of
        the corners where a wide part (a torso) branches into limbs."""
        return self.length + self.width / 2 * (int(self.branch_p) + int(self.branch_q))

    def is_branch(self, end) -> bool:
        """Whether the spine end nearer to ``end`` (row, col) is a skeleton branch point."""
        return self.branch_p if math.dist(self.p, end) <= math.dist(self.q, end) else self.branch_q

    def ribbon(self) -> np.ndarray:
        """The ribbon's four corners as a (4, 2) float array of (x, y) = (col, row)."""
        return ribbon_polygon(self.p, self.q, self.width)

    def mapped(self, transform) -> Segment:
        """The segment with ``transform`` applied to both spine ends (a (row, col) map)."""
        return dataclasses.replace(self, p=transform(self.p), q=transform(self.q))

    def scaled(self, factor: float) -> Segment:
        """The segment in an image ``factor`` times larger (pixel centres map to centres)."""
        return Segment(self.index, scale_point(self.p, factor), scale_point(self.q, factor),
                       self.width * factor, self.node_p, self.node_q, self.torso_only,
                       self.branch_p, self.branch_q)

    def to_dict(self) -> dict:
        """JSON-able and lossless: ``Segment.from_dict(s.to_dict()) == s``."""
        return {"index": self.index, "p": [float(v) for v in self.p],
                "q": [float(v) for v in self.q], "width": float(self.width),
                "node_p": self.node_p, "node_q": self.node_q, "torso_only": self.torso_only,
                "branch_p": self.branch_p, "branch_q": self.branch_q}

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        return cls(int(data["index"]), tuple(data["p"]), tuple(data["q"]), float(data["width"]),
                   int(data["node_p"]), int(data["node_q"]), bool(data.get("torso_only", False)),
                   bool(data.get("branch_p", False)), bool(data.get("branch_q", False)))


@dataclass(frozen=True)
class SegmentSet:
    """The segments of one skin map; ``bailed_out`` is a reason when the finder gave up."""

    segments: tuple[Segment, ...]
    skeleton_pixels: int = 0
    bailed_out: str | None = None
    skeleton: np.ndarray | None = field(default=None, repr=False, compare=False)


def scale_point(point, factor: float) -> tuple[float, float]:
    """(row, col) in an image ``factor`` times larger, pixel centre to pixel centre.

    >>> scale_point((0.0, 1.0), 2.0)
    (0.5, 2.5)
    """
    return ((point[0] + 0.5) * factor - 0.5, (point[1] + 0.5) * factor - 0.5)


def ribbon_polygon(p, q, width: float) -> np.ndarray:
    """Corners (x, y) of the rectangle of ``width`` around the spine p -> q (row, col)."""
    dr, dc = q[0] - p[0], q[1] - p[1]
    norm = math.hypot(dr, dc) or 1.0
    nr, nc = -dc / norm * width / 2, dr / norm * width / 2
    return np.array([(p[1] + nc, p[0] + nr), (q[1] + nc, q[0] + nr),
                     (q[1] - nc, q[0] - nr), (p[1] - nc, p[0] - nr)], np.float32)


def find_segments(mask: np.ndarray, scale: float, config: GeometryConfig | None = None, *,
                  keep_skeleton: bool = False) -> SegmentSet:
    """Segments (ribbons with spines and widths) of a boolean skin map.

    Parameters
    ----------
    mask : (M, N) bool ndarray
        The final skin map F.
    scale : float
        SCALE of the map, (M + N) / 320.
    config : GeometryConfig
    keep_skeleton : bool
        Keep the skeleton image in the result (for drawing and debugging).

    The work is done in the canonical orientation of ``mask`` (:mod:`fleck.frame`), so a
    mirrored or quarter-turned mask gives exactly the mirrored or turned segments.
    """
    config = config or GeometryConfig()
    frame = canonical_frame(mask)
    found = _find_segments(frame.apply(mask), scale, config, keep_skeleton)
    if frame.identity:
        return found
    segments = tuple(s.mapped(frame.to_input) for s in found.segments)
    skeleton = None
    if found.skeleton is not None:  # back to the input orientation: the inverse permutation
        skeleton = _unapply(frame, found.skeleton)
    return SegmentSet(segments, found.skeleton_pixels, found.bailed_out, skeleton)


def _unapply(frame: Frame, array: np.ndarray) -> np.ndarray:
    out = array
    if frame.flip_cols:
        out = out[:, ::-1]
    if frame.flip_rows:
        out = out[::-1]
    if frame.transpose:
        out = out.T
    return np.ascontiguousarray(out)


def _find_segments(mask: np.ndarray, scale: float, config: GeometryConfig,
                   keep_skeleton: bool) -> SegmentSet:
    """:func:`find_segments` in the mask's own orientation."""
    radius = max(1, int(round(config.open_radius * scale)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    opened = cv2.morphologyEx(mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8),
                              cv2.MORPH_OPEN, kernel)
    if not opened.any():
        return SegmentSet(())
    # The 5x5 chamfer mask is within ~2 % of the exact distance at a third of the cost.
    if config.fill_holes > 0:
        opened = _fill_small_holes(opened, config.fill_holes * scale * scale)
    distance = cv2.distanceTransform(opened, cv2.DIST_L2, cv2.DIST_MASK_5)
    if opened.all():
        # No background pixel: OpenCV reports a huge distance (~1e20 and more), whose sums
        # overflow float32 in the width medians. Any width over the image's size is just as
        # "too wide", so cap it there (a mask with a background pixel is never affected).
        np.minimum(distance, float(sum(mask.shape)), out=distance)
    skeleton = _skeleton(opened)
    chains, node_positions = _trace_chains(skeleton)

    rows, cols = mask.shape
    tolerance = max(2.0, config.simplify_tolerance * scale)
    min_length = config.min_segment_length * scale
    min_width = config.min_width * scale
    max_width = min(config.max_width * scale, config.max_width_fraction * min(rows, cols))
    n_branches = next_node = len(node_positions)
    segments: list[Segment] = []
    for chain, start_node, end_node in chains:
        if len(chain) + 2 < min_length:  # too short for any piece, even with its junctions
            continue
        # The chain with the junction centroids it touches at its ends.
        front, back = int(start_node >= 0), int(end_node >= 0)
        points = np.empty((len(chain) + front + back, 2))
        points[front:front + len(chain)] = chain
        if front:
            points[0] = node_positions[start_node]
        if back:
            points[-1] = node_positions[end_node]
        if config.splitter == "bend":
            vertices = _bend_vertices(points, distance, scale, min_length, config)
        else:
            vertices = _merge_gentle_bends(points, _simplify(points, tolerance),
                                           config.merge_angle)
            vertices = _absorb_short_pieces(points, vertices, min_length)
        # Node ids along the polyline: junction nodes at attached ends, fresh ids elsewhere.
        nodes = []
        for k in range(len(vertices)):
            if k == 0 and start_node >= 0:
                nodes.append(start_node)
            elif k == len(vertices) - 1 and end_node >= 0:
                nodes.append(end_node)
            else:
                nodes.append(next_node)
                next_node += 1
        for k in range(len(vertices) - 1):
            i, j = vertices[k], vertices[k + 1]
            p, q = points[i].copy(), points[j].copy()
            length = float(np.hypot(*(q - p)))
            if length < min_length:
                continue
            width = _piece_width(points[i:j + 1], distance, config.width_core)
            if not min_width <= width <= max_width:
                continue
            if config.extend_free_ends:
                p, q = _extend_free_end(p, q, distance, free=(k == 0 and start_node < 0)), \
                    _extend_free_end(q, p, distance, free=(k == len(vertices) - 2 and end_node < 0))
                length = float(np.hypot(*(q - p)))
            torso_only = length < config.min_elongation * width
            # Skin on the flanks means no limb here, but a torso has arms along its sides.
            if not torso_only and config.flank_max_skin < 1.0:
                torso_only = not _flanks_clear(points[i:j + 1], width, opened,
                                               config.flank_offset, config.flank_max_skin,
                                               config.flank_sides, config.frame_is_edge)
            if torso_only and width < config.torso_min_width * scale:
                continue
            segments.append(Segment(len(segments), (float(p[0]), float(p[1])),
                                    (float(q[0]), float(q[1])), width, nodes[k], nodes[k + 1],
                                    torso_only, nodes[k] < n_branches,
                                    nodes[k + 1] < n_branches))
            if len(segments) > config.max_segments:
                return SegmentSet((), int(skeleton.sum()),
                                  f"more than {config.max_segments} segments (texture, not limbs)",
                                  skeleton if keep_skeleton else None)
    return SegmentSet(tuple(segments), int(skeleton.sum()), None,
                      skeleton if keep_skeleton else None)


def _flanks_clear(points: np.ndarray, width: float, skin: np.ndarray, offset: float,
                  max_skin: float, sides: int, frame_is_edge: bool = False) -> bool:
    """Whether strips just outside the ribbon's two long edges are mostly not skin.

    Walks the middle 70 % of the piece's skeleton pixels (every other one) and looks at a
    perpendicular distance of w/2 + offset w on each side, using the local direction of the
    skeleton, so gently curving limbs are measured beside themselves and not beside their
    chord; ``sides`` strips must hold at most ``max_skin`` skin. Unless ``frame_is_edge``, probes
    beyond the frame are ignored and a side mostly beyond it is not clear: the frame is not an
    object's edge.
    """
    n = len(points)
    if n < 3:
        return False
    # Only the middle pixels (every other one) are probed: their tangents alone are computed.
    middle = np.arange(int(0.15 * n), max(int(0.85 * n), int(0.15 * n) + 1), 2)
    tangent = points[np.minimum(middle + 3, n - 1)] - points[np.maximum(middle - 3, 0)]
    norms = np.hypot(tangent[:, 0], tangent[:, 1])
    keep = norms > 0
    if not keep.all():
        if not keep.any():
            return False
        middle, tangent, norms = middle[keep], tangent[keep], norms[keep]
    centre = points[middle]
    tangent /= norms[:, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    rows, cols = skin.shape
    clear = 0
    for sign in (1.0, -1.0):
        probe = centre + sign * (width / 2 + offset * width) * normal
        inside = ((probe[:, 0] >= 0) & (probe[:, 0] <= rows - 1)
                  & (probe[:, 1] >= 0) & (probe[:, 1] <= cols - 1))
        index = np.rint(probe[inside] if not inside.all() else probe).astype(np.intp)
        in_skin = float(np.count_nonzero(skin[index[:, 0], index[:, 1]]))
        if frame_is_edge:  # beyond the frame counts as background
            clear += in_skin / len(probe) <= max_skin
        elif 2 * len(index) >= len(probe):  # else no evidence; mostly beyond it: not clear
            clear += in_skin / len(index) <= max_skin
    return clear >= sides


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang thinning of ``mask`` (uint8 0/1), run on its bounding box only.

    Thinning treats everything outside the array as background, so a crop keeping one empty
    pixel around the skin gives the same skeleton at a cost proportional to the box.
    """
    col, row, width, height = cv2.boundingRect(mask)
    r0, c0 = max(row - 1, 0), max(col - 1, 0)
    r1, c1 = min(row + height + 1, mask.shape[0]), min(col + width + 1, mask.shape[1])
    skeleton = np.zeros(mask.shape, bool)
    skeleton[r0:r1, c0:c1] = skeletonize(mask[r0:r1, c0:c1].astype(bool))
    return skeleton


def _fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill holes (background not connected to the frame, 4-connected) of at most max_area."""
    rows, cols = mask.shape
    # Background reachable from the frame: flood a one-pixel background border around the map.
    framed = np.zeros((rows + 2, cols + 2), np.uint8)
    framed[1:-1, 1:-1] = mask == 0
    cv2.floodFill(framed, None, (0, 0), 2, flags=4)
    holes = (framed[1:-1, 1:-1] == 1).view(np.uint8)
    if not holes.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] <= max_area
    filled = mask.copy()
    filled[small[labels]] = 1
    return filled


def _piece_width(points: np.ndarray, distance: np.ndarray, core: float) -> float:
    n = len(points)
    trim = int(n * (1 - core) / 2)
    middle = points[trim:n - trim] if n - 2 * trim >= 1 else points
    index = np.rint(middle).astype(np.intp)  # chain pixels and junction centroids: in the image
    values = sorted(distance[index[:, 0], index[:, 1]].tolist())
    half = len(values) // 2
    median = values[half] if len(values) % 2 else (values[half - 1] + values[half]) / 2
    # A pixel next to the background has distance 1, so a W-pixel-wide ribbon peaks at (W+1)/2.
    return max(0.0, 2.0 * median - 1.0)


def _extend_free_end(end: np.ndarray, other: np.ndarray, distance: np.ndarray,
                     free: bool) -> np.ndarray:
    if not free:
        return end
    d_row, d_col = float(end[0] - other[0]), float(end[1] - other[1])
    norm = float(np.hypot(d_row, d_col))
    if norm == 0:
        return end
    rows, cols = distance.shape
    # Python floats, operation for operation what the array form computed.
    r = _clip(round(end[0]), 0, rows - 1)
    c = _clip(round(end[1]), 0, cols - 1)
    reach = float(distance[r, c])
    row = float(end[0]) + d_row / norm * reach
    col = float(end[1]) + d_col / norm * reach
    # A limb cut by the frame ends at the frame, not beyond it.
    return np.array([_clip(row, 0.0, rows - 1.0), _clip(col, 0.0, cols - 1.0)])
