"""The skeleton's chains and where to cut them into straight pieces (stage 2, for
:mod:`fleck.segments`): tracing the chains between junctions and free ends, and the two
splitters, the sharpest bends (``splitter='bend'``) and Douglas-Peucker (``splitter='dp'``).

>>> import numpy as np
>>> points = np.array([[0, 0], [0, 5], [0, 10], [5, 10], [10, 10]], float)
>>> _simplify(points, 1.0)
[0, 2, 4]
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fleck.config import GeometryConfig

__all__: list[str] = []

# 8-neighbourhood offsets, (drow, dcol).
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _trace_chains(skeleton: np.ndarray):
    """Cut a skeleton at junction pixels and order each remaining chain.

    Returns ``(chains, node_positions)``: each chain is ``(points (K, 2) int, start_node,
    end_node)`` with node = index of the junction cluster the end touches, or -1 for a free end.
    """
    sk = skeleton.view(np.uint8) if skeleton.dtype == bool else skeleton.astype(np.uint8)
    neighbours = cv2.filter2D(sk, cv2.CV_16S, np.ones((3, 3), np.float32),
                              borderType=cv2.BORDER_CONSTANT) - sk
    junction = (sk > 0) & (neighbours >= 3)
    chain_mask = (sk > 0) & ~junction
    n_junctions, junction_labels = cv2.connectedComponents(junction.view(np.uint8), connectivity=8)
    node_positions = np.zeros((max(n_junctions - 1, 0), 2))
    if n_junctions > 1:
        jr, jc = np.nonzero(junction)
        labels = junction_labels[jr, jc] - 1
        counts = np.bincount(labels, minlength=n_junctions - 1)
        node_positions[:, 0] = np.bincount(labels, jr, n_junctions - 1) / counts
        node_positions[:, 1] = np.bincount(labels, jc, n_junctions - 1) / counts

    coords = np.argwhere(chain_mask)
    if len(coords) == 0:
        return [], node_positions
    rows, cols = sk.shape
    # Flat indices into a map padded by one pixel, so that every neighbour lookup is in bounds.
    stride = cols + 2
    flat = (coords[:, 0] + 1) * stride + (coords[:, 1] + 1)
    index = np.full((rows + 2) * stride, -1, np.int64)
    index[flat] = np.arange(len(coords))
    offsets = np.array([dr * stride + dc for dr, dc in _OFFSETS])
    chain_nb = index[flat[:, None] + offsets]
    # A chain may end a pixel short of its junction cluster (8-connected Y shapes), so ends
    # within 2 px of a junction attach to it: the largest label within the 3x3 neighbourhoods
    # of the 8 neighbours, i.e. within the 5x5 window.
    near = cv2.dilate(junction_labels.astype(np.float32), np.ones((5, 5), np.uint8))
    touches = (near[coords[:, 0], coords[:, 1]].astype(np.int64) - 1).tolist()
    # A chain pixel has at most two skeleton neighbours (three or more make it a junction), so
    # its first and second chain neighbours in _OFFSETS order are all the walk needs.
    valid = chain_nb >= 0
    degree = valid.sum(axis=1)
    every = np.arange(len(coords))
    first_at = valid.argmax(axis=1)
    first = np.where(degree >= 1, chain_nb[every, first_at], -1)
    valid[every, first_at] = False
    second = np.where(degree >= 2, chain_nb[every, valid.argmax(axis=1)], -1)
    first, second = first.tolist(), second.tolist()

    visited = bytearray(len(coords))
    chains = []
    # Open chains start at pixels with at most one chain neighbour; what is left are cycles.
    # From each start, the walk steps to the first unvisited neighbour in _OFFSETS order.
    for start in np.concatenate([np.flatnonzero(degree <= 1), every]).tolist():
        if visited[start]:
            continue
        order = [start]
        visited[start] = 1
        current = start
        while True:
            step = first[current]
            if step < 0 or visited[step]:
                step = second[current]
                if step < 0 or visited[step]:
                    break
            visited[step] = 1
            order.append(step)
            current = step
        chains.append((coords[order], touches[order[0]], touches[order[-1]]))
    return chains, node_positions


def _simplify(points: np.ndarray, tolerance: float) -> list[int]:
    """Indices of the Douglas-Peucker vertices of an ordered polyline (first and last kept)."""
    if len(points) <= 2:
        return list(range(len(points)))
    xy = np.ascontiguousarray(points[:, ::-1], np.float32).reshape(-1, 1, 2)
    approx = cv2.approxPolyDP(xy, tolerance, False).reshape(-1, 2)
    # Map vertices back to indices along the chain (vertices are chain points, in order).
    indices, cursor = [], 0
    for x, y in approx:
        hits = np.flatnonzero((xy[cursor:, 0, 0] == x) & (xy[cursor:, 0, 1] == y))
        cursor += int(hits[0]) if len(hits) else 0
        indices.append(cursor)
    if indices[-1] != len(points) - 1:
        indices.append(len(points) - 1)
    return sorted(set(indices))


def _bend_vertices(points: np.ndarray, distance: np.ndarray, scale: float, min_length: float,
                   config: GeometryConfig) -> list[int]:
    """Where to cut a chain into straight pieces: at its sharpest bends, measured at its scale.

    The bend at a point is the angle between the chords to the points an arc length ``m``
    behind and ahead of it, with ``m`` = ``bend_scale`` x the chain's width (2 x the median
    boundary distance along it), clipped to [``bend_min``, ``bend_max``] SCALE and at least
    half the shortest piece: a joint bends a limb over a stretch about as long as the limb is
    wide, while the staircase of a pixel skeleton does not bend at that scale. Cuts go at the
    sharpest bend first, then at the sharpest bend at least ``2 m`` from every cut (closer
    bends share their chords: one joint), as long as the bend reaches ``merge_angle``. Unlike
    Douglas-Peucker at a fixed pixel tolerance, a one-pixel change of the skin map moves a cut
    by about a pixel instead of adding or removing one.

    Returns the indices into ``points`` of the piece ends, first and last point included.

    >>> arm = np.array([(50.0, c) for c in range(10, 60)] + [(50.0 + r, 59.0 + r)
    ...                                                      for r in range(1, 40)])
    >>> dist = np.full((120, 120), 6.0, np.float32)
    >>> _bend_vertices(arm, dist, 1.0, 8.0, GeometryConfig())
    [0, 49, 88]
    """
    n = len(points)
    if n < 3:
        return [0, n - 1]
    # The same numpy operations as the plain formulation (np.diff, np.hypot, np.cumsum,
    # np.median, np.interp, np.einsum), without its temporaries and numpy-scalar loops: a chain
    # is a few dozen points, so the per-call overhead is most of the cost.
    steps = points[1:] - points[:-1]
    arc = np.empty(n)
    arc[0] = 0.0
    np.cumsum(np.hypot(steps[:, 0], steps[:, 1]), out=arc[1:])
    total = float(arc[-1])
    index = np.rint(points).astype(np.intp)
    width = 2.0 * _median32(distance[index[:, 0], index[:, 1]])
    m = _clip(config.bend_scale * width, config.bend_min * scale, config.bend_max * scale)
    m = max(m, 0.5 * min_length)
    inner = np.flatnonzero((arc >= m) & (arc <= total - m))
    if len(inner) == 0:
        return [0, n - 1]
    at = arc[inner]
    centre = points[inner]
    u = np.empty((len(inner), 2))
    v = np.empty((len(inner), 2))
    for k in (0, 1):
        column = np.ascontiguousarray(points[:, k])
        np.subtract(centre[:, k], np.interp(at - m, arc, column), out=u[:, k])
        np.subtract(np.interp(at + m, arc, column), centre[:, k], out=v[:, k])
    cos = np.einsum("ij,ij->i", u, v) / np.maximum(
        np.hypot(u[:, 0], u[:, 1]) * np.hypot(v[:, 0], v[:, 1]), 1e-9)
    bend = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    # Bends measured less than 2m apart share chords: one joint (a rounded elbow, whose thick
    # outline puts two corners in the skeleton) is cut once.
    sharp = np.flatnonzero(bend >= config.merge_angle)
    if len(sharp) == 0:
        return [0, n - 1]
    order = sharp[np.argsort(-bend[sharp], kind="stable")].tolist()
    at_list, inner_list = at.tolist(), inner.tolist()
    cuts: list[int] = []
    cut_at: list[float] = []
    for k in order:
        if all(abs(at_list[k] - c) >= 2 * m for c in cut_at):
            cuts.append(inner_list[k])
            cut_at.append(at_list[k])
    return [0, *sorted(cuts), n - 1]


def _median32(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty float32 array, without np.median's overhead.

    >>> v = np.array([3.0, 1.0, 2.5, 7.0], np.float32)
    >>> _median32(v) == float(np.median(v)), _median32(v[:3]) == float(np.median(v[:3]))
    (True, True)
    """
    ordered = np.sort(values)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[half])
    # np.median averages the two middle values in the array's own precision.
    return float((ordered[half - 1] + ordered[half]) / 2)


def _clip(value: float, low: float, high: float) -> float:
    """``float(np.clip(value, low, high))`` for floats (numpy's comparison order, not min/max)."""
    value = value if value > low else low
    return value if value < high else high


def _merge_gentle_bends(points: np.ndarray, vertices: list[int], max_turn: float) -> list[int]:
    """Drop interior vertices where the polyline turns by less than ``max_turn`` degrees,
    gentlest first, re-measuring the neighbours' turns after each removal."""
    vertices = list(vertices)
    while len(vertices) > 2:
        turn, k = min((_turn(points, vertices[k - 1], vertices[k], vertices[k + 1]), k)
                      for k in range(1, len(vertices) - 1))
        if turn >= max_turn:
            break
        del vertices[k]
    return vertices


def _turn(points: np.ndarray, a: int, b: int, c: int) -> float:
    before, after = points[b] - points[a], points[c] - points[b]
    cos = float(before @ after) / (float(np.hypot(*before) * np.hypot(*after)) or 1.0)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _absorb_short_pieces(points: np.ndarray, vertices: list[int], min_length: float) -> list[int]:
    """Fold pieces shorter than ``min_length`` into a neighbour by dropping one of their interior
    vertices (the gentler turn), instead of dropping the piece and cutting the chain: a kink
    next to a junction must not cost the limb its connection to the body."""
    vertices = list(vertices)
    while len(vertices) > 2:
        lengths = [float(np.hypot(*(points[vertices[k + 1]] - points[vertices[k]])))
                   for k in range(len(vertices) - 1)]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_length:
            break
        interior = [v for v in (k, k + 1) if 0 < v < len(vertices) - 1]
        drop = min(interior, key=lambda v: _turn(points, vertices[v - 1], vertices[v],
                                                  vertices[v + 1]))
        del vertices[drop]
    return vertices
