"""Frozen copies of the detector's functions as they were before they were made faster.

The speed work replaced these with faster code that must give bit-identical detections.
``tests/test_fast_paths.py`` runs the detector with :func:`install` (these slow, obviously
correct versions) and without (the fast ones) and compares every field of the detections.

Keep this file in step with semantic changes: a change to what a stage computes belongs in both
the fast function and its reference here (the identity test fails until both agree).
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import skeletonize

from fleck.chains import _OFFSETS, _absorb_short_pieces, _merge_gentle_bends, _simplify
from fleck.colour import _zero_response
from fleck.config import GeometryConfig, SkinConfig
from fleck.segments import Segment, SegmentSet
from fleck.skin import _in_image_counts, _median_u8, disk_footprint, scaled_radius


def install(monkeypatch) -> None:
    """Make the detector use the reference functions of this module (pytest monkeypatch)."""
    import fleck.colour
    import fleck.segments
    import fleck.skin

    for module, names in ((fleck.segments, SEGMENT_FUNCTIONS), (fleck.colour, COLOUR_FUNCTIONS),
                          (fleck.skin, SKIN_FUNCTIONS)):
        for name in names:
            monkeypatch.setattr(module, name, globals()[name])
    monkeypatch.setattr(fleck.skin, "log_opponent", log_opponent)
    import fleck.grouper

    monkeypatch.setitem(fleck.grouper._FINDERS, fleck.grouper.SPINE_THIGH, spine_thigh_groups)


SEGMENT_FUNCTIONS = ("_find_segments", "_trace_chains", "_bend_vertices", "_flanks_clear",
                     "_skeleton", "_fill_small_holes", "_piece_width", "_extend_free_end")
COLOUR_FUNCTIONS = ("log_opponent", "local_noise")
SKIN_FUNCTIONS = ("texture_difference", "density_growth")


def _find_segments(mask: np.ndarray, scale: float, config: GeometryConfig,
                   keep_skeleton: bool) -> SegmentSet:
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
        points = chain.astype(np.float64)
        if start_node >= 0:
            points = np.vstack([node_positions[start_node], points])
        if end_node >= 0:
            points = np.vstack([points, node_positions[end_node]])
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


def _trace_chains(skeleton: np.ndarray):
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
    index = np.full((rows + 2, cols + 2), -1, np.int64)
    index[coords[:, 0] + 1, coords[:, 1] + 1] = np.arange(len(coords))
    # A chain may end a pixel short of its junction cluster (8-connected Y shapes), so ends
    # within 2 px of a junction attach to it: look up the labels dilated by one pixel.
    padded_junctions = np.zeros((rows + 2, cols + 2), np.int32)
    padded_junctions[1:-1, 1:-1] = cv2.dilate(junction_labels.astype(np.float32),
                                              np.ones((3, 3), np.uint8)).astype(np.int32)
    chain_nb = np.stack([index[coords[:, 0] + 1 + dr, coords[:, 1] + 1 + dc]
                         for dr, dc in _OFFSETS], axis=1)
    junction_nb = np.stack([padded_junctions[coords[:, 0] + 1 + dr, coords[:, 1] + 1 + dc]
                            for dr, dc in _OFFSETS], axis=1)
    degree = (chain_nb >= 0).sum(axis=1)
    # Plain Python lists: the walk below is a tight loop over small ints.
    adjacency = chain_nb.tolist()
    touches = (junction_nb.max(axis=1) - 1).tolist()

    visited = [False] * len(coords)
    chains = []
    # Open chains start at pixels with at most one chain neighbour; what is left are cycles.
    for start in np.concatenate([np.flatnonzero(degree <= 1), np.arange(len(coords))]).tolist():
        if visited[start]:
            continue
        order = [start]
        visited[start] = True
        current = start
        while True:
            for step in adjacency[current]:
                if step >= 0 and not visited[step]:
                    break
            else:
                break
            visited[step] = True
            order.append(step)
            current = step
        chains.append((coords[order], touches[order[0]], touches[order[-1]]))
    return chains, node_positions


def _bend_vertices(points: np.ndarray, distance: np.ndarray, scale: float, min_length: float,
                   config: GeometryConfig) -> list[int]:
    n = len(points)
    if n < 3:
        return [0, n - 1]
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    total = float(arc[-1])
    index = np.rint(points).astype(np.intp)
    width = 2.0 * float(np.median(distance[index[:, 0], index[:, 1]]))
    m = float(np.clip(config.bend_scale * width, config.bend_min * scale,
                      config.bend_max * scale))
    m = max(m, 0.5 * min_length)
    inner = np.flatnonzero((arc >= m) & (arc <= total - m))
    if len(inner) == 0:
        return [0, n - 1]
    behind = np.stack([np.interp(arc[inner] - m, arc, points[:, k]) for k in (0, 1)], axis=1)
    ahead = np.stack([np.interp(arc[inner] + m, arc, points[:, k]) for k in (0, 1)], axis=1)
    u, v = points[inner] - behind, ahead - points[inner]
    cos = np.einsum("ij,ij->i", u, v) / np.maximum(
        np.hypot(u[:, 0], u[:, 1]) * np.hypot(v[:, 0], v[:, 1]), 1e-9)
    bend = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    # Bends measured less than 2m apart share chords: one joint (a rounded elbow, whose thick
    # outline puts two corners in the skeleton) is cut once.
    at = arc[inner]
    cuts: list[int] = []
    for k in np.argsort(-bend, kind="stable"):
        if bend[k] < config.merge_angle:
            break
        if all(abs(at[k] - arc[c]) >= 2 * m for c in cuts):
            cuts.append(int(inner[k]))
    return [0, *sorted(cuts), n - 1]


def _flanks_clear(points: np.ndarray, width: float, skin: np.ndarray, offset: float,
                  max_skin: float, sides: int, frame_is_edge: bool = False) -> bool:
    n = len(points)
    if n < 3:
        return False
    ahead = points[np.minimum(np.arange(n) + 3, n - 1)]
    behind = points[np.maximum(np.arange(n) - 3, 0)]
    tangent = ahead - behind
    norms = np.hypot(tangent[:, 0], tangent[:, 1])
    keep = norms > 0
    middle = np.zeros(n, bool)
    middle[int(0.15 * n):max(int(0.85 * n), int(0.15 * n) + 1):2] = True
    keep &= middle
    if not keep.any():
        return False
    centre, tangent = points[keep], tangent[keep] / norms[keep, None]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    rows, cols = skin.shape
    clear = 0
    for sign in (1.0, -1.0):
        probe = centre + sign * (width / 2 + offset * width) * normal
        inside = ((probe[:, 0] >= 0) & (probe[:, 0] <= rows - 1)
                  & (probe[:, 1] >= 0) & (probe[:, 1] <= cols - 1))
        index = np.rint(probe[inside]).astype(np.intp)
        in_skin = float(np.count_nonzero(skin[index[:, 0], index[:, 1]]))
        if frame_is_edge:  # beyond the frame counts as background
            clear += in_skin / len(probe) <= max_skin
        elif 2 * len(index) >= len(probe):  # else no evidence; mostly beyond it: not clear
            clear += in_skin / len(index) <= max_skin
    return clear >= sides


def _skeleton(mask: np.ndarray) -> np.ndarray:
    col, row, width, height = cv2.boundingRect(mask)
    r0, c0 = max(row - 1, 0), max(col - 1, 0)
    r1, c1 = min(row + height + 1, mask.shape[0]), min(col + width + 1, mask.shape[1])
    skeleton = np.zeros(mask.shape, bool)
    skeleton[r0:r1, c0:c1] = skeletonize(mask[r0:r1, c0:c1].astype(bool))
    return skeleton


def _fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
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
    direction = end - other
    norm = float(np.hypot(*direction))
    if norm == 0:
        return end
    rows, cols = distance.shape
    r = int(np.clip(round(end[0]), 0, rows - 1))
    c = int(np.clip(round(end[1]), 0, cols - 1))
    extended = end + direction / norm * float(distance[r, c])
    # A limb cut by the frame ends at the frame, not beyond it.
    return np.clip(extended, (0.0, 0.0), (rows - 1.0, cols - 1.0))


def log_opponent(image: np.ndarray, skin: SkinConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rgb = image.astype(np.float32)
    if skin.zero_response:
        rgb -= min(_zero_response(image, skin.zero_response_border), skin.zero_response_max)
        np.maximum(rgb, 0.0, out=rgb)
    rgb += 1.0
    if skin.noise:
        rgb += local_noise(image)
    logs = np.log10(rgb)
    logs *= skin.log_gain
    log_r, log_g, log_b = logs[..., 0], logs[..., 1], logs[..., 2]
    rg = log_r - log_g
    by = log_b - (log_g + log_r) * 0.5
    intensity = log_g.copy() if skin.intensity == "green" else logs.mean(axis=2)
    return intensity, rg, by


def local_noise(image: np.ndarray) -> np.ndarray:
    padded = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_REPLICATE).astype(np.uint32)
    around = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    key = padded[1:-1, 1:-1] | (around << np.uint32(8))
    key |= np.arange(image.shape[2], dtype=np.uint32) << np.uint32(18)
    # The 32-bit finaliser of MurmurHash3: every input bit affects every output bit.
    key ^= key >> np.uint32(16)
    key *= np.uint32(0x85EBCA6B)
    key ^= key >> np.uint32(13)
    key *= np.uint32(0xC2B2AE35)
    key ^= key >> np.uint32(16)
    return (key >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def texture_difference(intensity: np.ndarray, scale: float, skin: SkinConfig) -> np.ndarray:
    quantised = np.clip(np.rint(intensity), 0, 255).astype(np.uint8)
    smooth = _median_u8(quantised, scaled_radius(skin.texture_smooth_radius, scale), skin)
    diff = np.abs(intensity - smooth)
    diff *= 4.0
    return np.clip(np.rint(diff), 0, 255).astype(np.uint8)


def density_growth(stage1: np.ndarray, radius: int, fraction: float) -> np.ndarray:
    kernel = disk_footprint(radius).astype(np.float32)
    marked = cv2.filter2D(stage1.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return marked >= fraction * _in_image_counts(stage1.shape, radius) - 1e-3


def spine_thigh_groups(segments, limbs, config: GeometryConfig, skin: np.ndarray | None = None):
    from scipy.spatial import cKDTree

    from fleck.grouper import SPINE_THIGH, Group, _angle, _line_fraction, _other_end, _overlap

    if len(segments) < 3:
        return
    ends = np.array([end for s in segments for end in (s.p, s.q)])
    tree = cKDTree(ends)
    low_w, high_w = config.thigh_width_range
    low_r, high_r = config.thigh_width_ratio
    for torso in segments:
        for end, other in ((torso.p, torso.q), (torso.q, torso.p)):
            outward = np.subtract(end, other)
            thighs = []
            for k in sorted(tree.query_ball_point(end, config.torso_attach_distance * torso.width)):
                thigh = segments[k // 2]
                if thigh.index == torso.index or thigh.torso_only:
                    continue
                if not low_w * torso.width <= thigh.width <= high_w * torso.width:
                    continue
                near = ends[k]
                direction = np.subtract(_other_end(thigh, tuple(near)), near)
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
