"""Evidence for the geometric half: where the grouper finds limbs, and how often it decides.

Synthetic part (``fleck.synth``): for each skin tone and for each pose, N stylised figures
(seeds 0..N-1, the other attributes random) are run through ``fleck.detect``. Reported per row:
decision rate (recall: every figure is a positive), skin-pass rate, rate with >= 1 limb, and the
limb-joint precision / recall against the figure's elbows and knees. A found limb joint is a
*hit* if it lies within one segment width (the larger width of the limb's two segments, input
frame) of an annotated elbow or knee; *joint precision* is the fraction of found limb joints
that are hits, *joint recall* the fraction of visible elbows/knees with a found limb joint
within that limb's width. *chance* is the hit fraction expected from a limb joint dropped on a
uniformly random pixel of the detector's skin map with the same radius, the floor against which
joint precision should be read. Every ``fleck.synth.CONTROLS`` kind x M seeds gives the false
positive rate by kind.

Real part (``../shared/data``, not in the repository): the mmpose person images (heldout:
reported only, never tuned on) with their annotated joints, the same columns per image set, plus
how many visible elbows/knees lie on the detector's skin map at all (most people are clothed).
Every other image in the data folder is a negative (no nudity anywhere); the decision rate per
set is its false-positive rate. Dev/heldout comes from ``manifest.csv``. These sections
(``--section joints``) run the default ``fleck1996`` configuration, or the one named by
``--config``.

Real photos with part labels (``--section real``; ``parsing_people``: ``lip_hpa`` is dev,
``cihp_pgn`` and ``cihp_unet`` held-out), for every configuration of ``fleck.config.CONFIGS``
and any given with ``--configs``, dev and held-out apart. The geometry columns come from the
detector with the 30 % skin gate off (``min_skin_fraction = 0``), so that segments are found on
every photo; *flagged* from the detector as configured (gate on). All in the photo's pixel frame:

- *labelled skin*: the ``_skin`` mask (bare arms, legs, face; CIHP adds torso skin, LIP has no
  such class). *skin P / R / F1*: the detector's skin map at input size against it, pixels
  pooled over the photos of a row (likewise the Kovac RGB rule, pixels only).
- *near*: within ``TOLERANCE`` = 2 pixels of the working resolution, i.e. 2 (H + W) / (h + w)
  input pixels (Euclidean, pixel centres), h x w being the skin map the geometry ran on.
- *spine samples*: points at most 1 input pixel apart along a segment's spine p -> q, ends
  included, rounded to pixels. A segment is *on bare skin* when at least ``MIN_ON_SKIN`` = 50 %
  of its spine samples are near labelled skin; the share is over all segments (torso-only ones
  too).
- *labelled bare limb*: an 8-connected component of one arm or leg class (LIP/CIHP ids 14, 15,
  16, 17; LIP reads the class from the label map's R channel, CIHP from its grey value) whose
  area is at least ``MIN_LIMB_FRACTION`` = 0.5 % of the photo. It is *touched* when any spine
  sample of any segment is near it.
- *limb joint on an arm or leg*: the joint of a limb (G4: two segments meeting) is near a pixel
  of classes 14-17 (any size); the share is over all limb joints.
- *group on bare skin*: every segment of a girdle or spine-thigh group is on bare skin.
- *flagged*: photos decided positive by the configuration as shipped (none is nude). A photo
  whose skin covers less than the gate is never flagged (G8), and the gate changes nothing
  else, so the shipped detector is run only on photos above its gate.
- *skin tone*: a limb's tone is the ITA bin (``fleck.evaldata``) of the median ITA of its
  pixels whose colour has a readable tone; *unreadable* when fewer than ``MIN_READABLE`` = 50 %
  of its pixels have one. *worst / best* is the lowest share of limbs touched over the
  highest, among readable bins holding at least ``MIN_TONE_LIMBS`` = 5 limbs.

The measurements are functions of a Detection and the masks (``real_photo_metrics``,
``load_parts``, ``RealTally``), importable from experiment scripts::

    sys.path.insert(0, "bench"); from geometry_eval import load_parts, real_photo_metrics

Usage (from the repository root)::

    python bench/geometry_eval.py                 # about 3 minutes on 2 cores
    python bench/geometry_eval.py --quick         # fewer figures, seeds and photos
    python bench/geometry_eval.py --section real --split dev    # about 30 s
    python bench/geometry_eval.py --section real --configs fitted@native
    python bench/geometry_eval.py --section joints --config fleck_plus

Writes ``bench/out/geometry_eval.md`` and ``.json`` (joints) and ``geometry_real.md`` and
``.json`` (real photos), and prints the tables; ``--report`` writes each section's block of
``docs/reports/geometry.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import _report  # bench/_report.py: the documentation's report pages
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from a source checkout

from PIL import Image  # noqa: E402

from fleck import synth  # noqa: E402
from fleck.config import CONFIGS, FleckConfig, get_config  # noqa: E402
from fleck.detector import Detection, Detector  # noqa: E402
from fleck.evaldata import ITA_BINS, ita_bin_index, read_manifest, skin_tone  # noqa: E402
from fleck.loading import load_image  # noqa: E402
from fleck.skin_rules import kovac_rgb  # noqa: E402

DATA = REPO.parent / "shared" / "data"
PEOPLE = DATA / "mmpose_people"
SYNTH_TARGETS = ("elbow_l", "elbow_r", "knee_l", "knee_r")
# MPII's 16 joints (mpii/test_mpii.json carries no names; mhp's categories list the same order,
# which load_people() checks): r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle, pelvis, thorax,
# upper_neck, head_top, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow, l_wrist.
MPII_ELBOWS_KNEES = (1, 4, 11, 14)
NEGATIVE_SETS = ("controls/textures_efros_leung", "controls/pypi_bundled",
                 "controls/animals_mmpose", "pratheepan", "fasseg_frontal02", "ecu_subset", "vdm",
                 "abdomen")


@dataclass(frozen=True)
class EvalSettings:
    """Sizes of the run (not detector thresholds)."""

    figures: int = 120
    control_seeds: int = 20
    size: tuple[int, int] = (480, 640)
    abdomen_limit: int | None = None   # the 621 abdomen crops dominate the real-negative time


QUICK = EvalSettings(figures=20, control_seeds=4, abdomen_limit=40)


# ------------------------------------------------------------------------------------------------
# matching found limb joints to annotated elbows and knees


@dataclass
class JointTally:
    """Running counts for one row of a table."""

    images: int = 0
    decided: int = 0
    passes_skin: int = 0
    with_limb: int = 0
    limb_joints: int = 0
    hits: int = 0
    chance: float = 0.0          # sum over limb joints of the chance hit probability
    targets: int = 0
    targets_found: int = 0
    targets_on_skin: int = 0
    rules: Counter = field(default_factory=Counter)
    near: Counter = field(default_factory=Counter)  # nearest annotated joint of non-hits
    positives: list = field(default_factory=list)   # names of images decided positive
    seconds: float = 0.0

    def add(self, det: Detection, targets: np.ndarray, name: str = "",
            all_joints: dict | None = None) -> None:
        self.images += 1
        self.decided += det.decision
        self.passes_skin += det.passes_skin
        self.with_limb += len(det.limbs) > 0
        self.rules[det.rule or "none"] += 1
        if det.decision:
            self.positives.append(name)
        hits, chance, found, on_skin = match_joints(det, targets)
        self.limb_joints += len(det.limbs)
        self.hits += hits
        self.chance += chance
        self.targets += len(targets)
        self.targets_found += found
        self.targets_on_skin += on_skin
        if all_joints:
            self.near.update(nearest_joint_of_misses(det, targets, all_joints))

    def row(self) -> dict:
        def rate(k, n):
            return None if n == 0 else k / n
        return {
            "images": self.images, "decision_rate": rate(self.decided, self.images),
            "skin_pass_rate": rate(self.passes_skin, self.images),
            "limb_rate": rate(self.with_limb, self.images),
            "limb_joints": self.limb_joints, "hits": self.hits,
            "joint_precision": rate(self.hits, self.limb_joints),
            "chance_precision": rate(self.chance, self.limb_joints),
            "targets": self.targets, "targets_found": self.targets_found,
            "joint_recall": rate(self.targets_found, self.targets),
            "targets_on_skin": self.targets_on_skin,
            "on_skin_rate": rate(self.targets_on_skin, self.targets),
            "rules": dict(self.rules), "positives": self.positives,
            "non_hits_nearest": dict(self.near.most_common()),
            "ms_per_image": rate(1e3 * self.seconds, self.images),
        }


def limb_width(det: Detection, limb) -> float:
    """The larger width of the limb's two segments (input frame)."""
    widths = {s.index: s.width for s in det.segments}
    return max(widths[i] for i in limb.segments)


def nearest_joint_of_misses(det: Detection, targets: np.ndarray, joints: dict) -> list[str]:
    """For each limb joint that is not a hit: the kind of annotated joint (``"hip"``, ...,
    sides merged) nearest to it if within the limb's width, else ``"none"``."""
    names = []
    points = np.array(list(joints.values()), float)
    kinds = [n.split("_")[0] for n in joints]
    for limb in det.limbs:
        radius = limb_width(det, limb)
        if len(targets) and np.hypot(*(targets - limb.joint).T).min() <= radius:
            continue
        dist = np.hypot(*(points - limb.joint).T)
        names.append(kinds[int(dist.argmin())] if dist.min() <= radius else "none")
    return names


def match_joints(det: Detection, targets: np.ndarray) -> tuple[int, float, int, int]:
    """(hits, chance hits, targets found, targets on skin) for one detection.

    ``targets`` is a (K, 2) array of (row, col) elbows/knees in the input frame. A limb joint is
    a hit when some target lies within the limb's width; a target is found when some limb joint
    lies within that limb's width of it. The chance term is, per limb, the share of skin pixels
    lying within the same radius of a target: where a joint dropped at random on skin would hit.
    """
    h, w = det.image_size
    skin = det.mask_at((h, w))
    inside = np.round(targets).astype(int) if len(targets) else np.zeros((0, 2), int)
    inside = inside[(inside[:, 0] >= 0) & (inside[:, 0] < h) & (inside[:, 1] >= 0)
                    & (inside[:, 1] < w)]
    on_skin = int(skin[inside[:, 0], inside[:, 1]].sum()) if len(inside) else 0
    if not det.limbs or not len(targets):
        return 0, 0.0, 0, on_skin
    joints = np.array([limb.joint for limb in det.limbs], float)
    radii = np.array([limb_width(det, limb) for limb in det.limbs])
    dist = np.hypot(*(joints[:, None, :] - targets[None, :, :]).transpose(2, 0, 1))  # (L, K)
    within = dist <= radii[:, None]
    hits = int(within.any(axis=1).sum())
    found = int(within.any(axis=0).sum())
    # distance of every pixel to its nearest target, for the chance term
    seeds = np.full((h, w), 255, np.uint8)
    seeds[inside[:, 0], inside[:, 1]] = 0
    if len(inside) and skin.any():
        to_target = cv2.distanceTransform(seeds, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[skin]
        chance = float(sum((to_target <= r).mean() for r in radii))
    else:
        chance = 0.0
    return hits, chance, found, on_skin


# ------------------------------------------------------------------------------------------------
# synthetic figures and controls


def synthetic(settings: EvalSettings, detector: Detector) -> dict:
    tables: dict[str, dict[str, dict]] = {"tone": {}, "pose": {}, "controls": {}}
    for axis, values in (("tone", tuple(synth.TONES)), ("pose", synth.POSES)):
        pooled = JointTally()
        for value in values:
            tally = JointTally()
            for seed in range(settings.figures):
                scene = synth.figure(seed, size=settings.size, **{axis: value})
                targets = np.array([scene.joints[j] for j in SYNTH_TARGETS if j in scene.joints],
                                   float).reshape(-1, 2)
                start = time.perf_counter()
                det = detector.detect(scene.image)
                tally.seconds += time.perf_counter() - start
                for t in (tally, pooled):
                    t.add(det, targets, f"{axis}={value} seed={seed}", scene.joints)
            tables[axis][value] = tally.row()
        tables[axis]["all"] = pooled.row()
    pooled = JointTally()
    for kind in synth.CONTROLS:
        tally = JointTally()
        for seed in range(settings.control_seeds):
            scene = synth.scene(kind, seed, size=settings.size)
            start = time.perf_counter()
            det = detector.detect(scene.image)
            tally.seconds += time.perf_counter() - start
            for t in (tally, pooled):
                t.add(det, np.zeros((0, 2)), f"{kind} seed={seed}")
        tables["controls"][kind] = tally.row()
    tables["controls"]["all"] = pooled.row()
    return tables


# ------------------------------------------------------------------------------------------------
# real people with annotated joints


def _visible(points: np.ndarray, visible: np.ndarray, indices) -> list[tuple[float, float]]:
    """(row, col) of the listed keypoints that are annotated as visible (x, y given as col, row)."""
    return [(float(points[i, 1]), float(points[i, 0])) for i in indices
            if i < len(points) and visible[i] > 0]


def _elbow_knee_indices(names: list[str]) -> list[int]:
    """Indices of elbows and knees, read from a COCO-style category's keypoint names."""
    found = [i for i, n in enumerate(names) if "elbow" in n.lower() or "knee" in n.lower()]
    if len(found) != 4:
        raise ValueError(f"expected 2 elbows and 2 knees among {names}")
    return found


def load_people() -> dict[str, dict[Path, list[tuple[float, float]]]]:
    """image set -> image path -> visible elbows/knees (row, col) of every annotated person."""
    sets: dict[str, dict[Path, list]] = {}
    coco_style = {"coco": "coco/test_coco.json", "ochuman": "ochuman/test_ochuman.json",
                  "crowdpose": "crowdpose/test_crowdpose.json", "aic": "aic/test_aic.json",
                  "mhp": "mhp/test_mhp.json", "humanart": "humanart/test_humanart.json"}
    for name, rel in coco_style.items():
        data = json.loads((PEOPLE / rel).read_text())
        (category,) = [c for c in data["categories"] if c.get("name") == "person"]
        indices = _elbow_knee_indices(category["keypoints"])
        if name == "mhp" and indices != sorted(MPII_ELBOWS_KNEES):
            raise ValueError(f"MHP (MPII order) elbows/knees at {indices}, "
                             f"expected {MPII_ELBOWS_KNEES}")
        files = {}
        for image in data["images"]:
            path = PEOPLE / name / image["file_name"].removeprefix("HumanArt/images/")
            if path.is_file():   # the humanart JSON lists drawn images that were not copied
                files[image["id"]] = path
        joints: dict[Path, list] = {path: [] for path in files.values()}
        for ann in data["annotations"]:
            if ann["image_id"] in files:
                kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
                joints[files[ann["image_id"]]] += _visible(kp[:, :2], kp[:, 2], indices)
        sets[name] = joints
    mpii: dict[Path, list] = {}
    for ann in json.loads((PEOPLE / "mpii" / "test_mpii.json").read_text()):
        path = PEOPLE / "mpii" / ann["image"]
        points = np.asarray(ann["joints"], float)
        visible = np.asarray(ann["joints_vis"], float)
        mpii.setdefault(path, []).extend(_visible(points, visible, MPII_ELBOWS_KNEES))
    sets["mpii"] = mpii
    return dict(sorted(sets.items()))


def real_people(detector: Detector) -> dict[str, dict]:
    """Per image set: the detector as configured, and with the 30 % skin gate off (so that the
    segment finder and grouper run on every image: clothed people rarely show 30 % skin)."""
    ungated = Detector(gate_off(detector.config))
    rows = {}
    pooled, pooled_off = JointTally(), JointTally()
    for name, images in load_people().items():
        tally, tally_off = JointTally(), JointTally()
        for path, joints in sorted(images.items()):
            targets = np.array(joints, float).reshape(-1, 2)
            rel = str(path.relative_to(DATA))
            start = time.perf_counter()
            det = detector.detect(path)
            tally.seconds += time.perf_counter() - start
            for t in (tally, pooled):
                t.add(det, targets, rel)
            det = ungated.detect(path)
            for t in (tally_off, pooled_off):
                t.add(det, targets, rel)
        rows[name] = {**tally.row(), "gate_off": tally_off.row()}
    rows["all"] = {**pooled.row(), "gate_off": pooled_off.row()}
    return rows


def real_negatives(settings: EvalSettings, detector: Detector) -> dict[str, dict]:
    manifest = read_manifest(DATA)
    rows = {}
    for dataset in NEGATIVE_SETS:
        for split in ("dev", "heldout"):
            images = [r["image"] for r in manifest
                      if r["dataset"] == dataset and r["split"] == split]
            if dataset == "abdomen" and settings.abdomen_limit is not None:
                images = images[: settings.abdomen_limit]
            if not images:
                continue
            tally = JointTally()
            for rel in images:
                start = time.perf_counter()
                det = detector.detect(DATA / rel)
                tally.seconds += time.perf_counter() - start
                tally.add(det, np.zeros((0, 2)), rel)
            rows[f"{dataset} ({split})"] = {"dataset": dataset, "split": split, **tally.row()}
    return rows


# ------------------------------------------------------------------------------------------------
# real photos with per-part labels (parsing_people): do the segments lie on bare skin?

PARSING = "parsing_people/"     # prefix of the parsing sets' names in manifest.csv
ARM_CLASSES = (14, 15)          # left arm, right arm (LIP and CIHP class ids)
LEG_CLASSES = (16, 17)          # left leg, right leg
LIMB_CLASSES = ARM_CLASSES + LEG_CLASSES
TOLERANCE = 2.0                 # "near": within 2 pixels of the working resolution
MIN_ON_SKIN = 0.5               # a segment is on bare skin when >= half its spine samples are
MIN_LIMB_FRACTION = 0.005       # labelled limbs smaller than 0.5 % of the image are not counted
MIN_READABLE = 0.5              # a limb's tone is read when >= half its pixels have a readable tone
MIN_TONE_LIMBS = 5              # tone bins with fewer limbs are left out of the worst/best ratio
TONE_KEYS = (*range(len(ITA_BINS)), None)           # ITA bin index; None = unreadable tone
TONE_NAMES = (*(name for name, _, _ in ITA_BINS), "unreadable")


@dataclass(frozen=True)
class PartTruth:
    """The labels of one photo, in its pixel frame: ``skin`` the ``_skin`` mask (bare arms, legs,
    face, and torso skin where the label set has it), ``labels`` the class id of every pixel."""

    skin: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class LabelledLimb:
    """One labelled bare limb (a connected component of one arm or leg class): its ``part``
    (class id), ``area`` in pixels, whether a segment spine ``touched`` it, and its ``tone``
    (index into ``fleck.evaldata.ITA_BINS``; None when unreadable or not measured)."""

    part: int
    area: int
    touched: bool
    tone: int | None = None


@dataclass(frozen=True)
class PhotoMetrics:
    """What :func:`real_photo_metrics` measured on one photo (see the module docstring).

    The per-item tuples follow ``Detection.segments``, ``.limbs`` and ``.groups``, so that an
    experiment can ask which segments were off skin; the counts are derived from them.
    """

    skin_tp: int
    skin_fp: int
    skin_fn: int
    segment_on_skin: tuple[bool, ...]
    joint_on_limb: tuple[bool, ...]
    group_on_skin: tuple[bool, ...]
    limbs: tuple[LabelledLimb, ...]
    tolerance: float

    @property
    def segments_on_skin(self) -> int:
        return sum(self.segment_on_skin)

    @property
    def limbs_touched(self) -> int:
        return sum(limb.touched for limb in self.limbs)

    @property
    def joints_on_limb(self) -> int:
        return sum(self.joint_on_limb)

    @property
    def groups_on_skin(self) -> int:
        return sum(self.group_on_skin)


def load_parts(image: str | Path, root: Path = DATA) -> tuple[np.ndarray, PartTruth]:
    """The RGB pixels of a parsing_people photo (``image`` relative to ``root``, as in
    ``manifest.csv``) and its labels: ``<set>/masks/<stem>_skin.png`` (> 127) and
    ``<set>/labels/<stem>.png`` (LIP: class in the R channel; CIHP: the grey value)."""
    path = root / image
    folder, stem = path.parents[1], path.stem
    rgb = load_image(path)
    labels = np.asarray(Image.open(folder / "labels" / f"{stem}.png"))
    if labels.ndim == 3:
        labels = labels[..., 0]
    skin = np.asarray(Image.open(folder / "masks" / f"{stem}_skin.png"))
    skin = (skin[..., 0] if skin.ndim == 3 else skin) > 127
    if labels.shape != rgb.shape[:2] or skin.shape != rgb.shape[:2]:
        raise ValueError(f"{image}: labels {labels.shape} / skin {skin.shape} differ from the "
                         f"image {rgb.shape[:2]}")
    return rgb, PartTruth(skin, labels)


def tolerance_px(det: Detection, tolerance: float = TOLERANCE) -> float:
    """``tolerance`` pixels of the working resolution (the skin map the geometry ran on), in
    the input frame: times (H + W) / (h + w) of the input and working sizes.

    Examples
    --------
    >>> import fleck
    >>> tolerance_px(fleck.detect(np.zeros((480, 640, 3), np.uint8)))  # worked at 137 x 183
    7.0
    """
    return tolerance * sum(det.image_size) / sum(det.mask.shape)


def near(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels whose centre lies within ``radius`` (Euclidean) of a True pixel of ``mask``.

    Examples
    --------
    >>> near(np.array([[0, 0, 1, 0, 0]], bool), 1.5).astype(int).tolist()
    [[0, 1, 1, 1, 0]]
    """
    if not mask.any():
        return np.zeros(mask.shape, bool)
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= radius


def spine_samples(segment, shape: tuple[int, int], spacing: float = 1.0) -> np.ndarray:
    """Pixels (row, col) of points at most ``spacing`` apart along the spine ``p`` -> ``q``,
    both ends included, rounded and clipped to an image of ``shape``.

    Examples
    --------
    >>> from fleck.segments import Segment
    >>> spine_samples(Segment(0, (1.0, 0.0), (1.0, 3.0), 2.0, 0, 1), (3, 3)).tolist()
    [[1, 0], [1, 1], [1, 2], [1, 2]]
    """
    n = max(2, int(np.ceil(segment.length / spacing)) + 1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    p, q = np.asarray(segment.p, float), np.asarray(segment.q, float)
    return pixels(p + t * (q - p), shape)


def pixels(points, shape: tuple[int, int]) -> np.ndarray:
    """(row, col) points rounded to the nearest pixel and clipped to an image of ``shape``.

    >>> pixels([(2.4, -1.0), (0.6, 9.0)], (3, 4)).tolist()
    [[2, 0], [1, 3]]
    """
    points = np.rint(np.asarray(points, float).reshape(-1, 2)).astype(int)
    points[:, 0] = points[:, 0].clip(0, shape[0] - 1)
    points[:, 1] = points[:, 1].clip(0, shape[1] - 1)
    return points


def limb_components(labels: np.ndarray, classes=LIMB_CLASSES,
                    min_fraction: float = MIN_LIMB_FRACTION) -> list[tuple[int, np.ndarray]]:
    """The labelled bare limbs: (class id, mask) of every 8-connected component of each class's
    pixels whose area is at least ``min_fraction`` of the image.

    Examples
    --------
    >>> labels = np.zeros((20, 20), np.uint8)  # 0.5 % of the image is 2 pixels
    >>> labels[1:9, 2:4] = 14; labels[0, 19] = 14; labels[15:17, 10:18] = 16
    >>> [(part, int(mask.sum())) for part, mask in limb_components(labels)]
    [(14, 16), (16, 16)]
    """
    found = []
    for part in classes:
        count, components, stats, _ = cv2.connectedComponentsWithStats(
            (labels == part).astype(np.uint8), connectivity=8)
        for k in range(1, count):
            if stats[k, cv2.CC_STAT_AREA] >= min_fraction * labels.size:
                found.append((part, components == k))
    return found


def pixel_counts(predicted: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of a boolean map against the truth.

    Examples
    --------
    >>> pixel_counts(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    (1, 1, 1)
    """
    tp = int(np.count_nonzero(predicted & truth))
    return tp, int(np.count_nonzero(predicted)) - tp, int(np.count_nonzero(truth)) - tp


def limb_tone(ita: np.ndarray, readable: np.ndarray, limb: np.ndarray) -> int | None:
    """ITA bin index of a limb (median ITA of its pixels with a readable tone), or None when
    fewer than ``MIN_READABLE`` of its pixels have a readable tone.

    Examples
    --------
    >>> limb_tone(np.array([60.0, 30.0, 35.0]), np.array([False, True, True]), np.ones(3, bool))
    2
    """
    tone = readable & limb
    if np.count_nonzero(tone) < MIN_READABLE * np.count_nonzero(limb):
        return None
    return int(ita_bin_index(np.median(ita[tone])))


def real_photo_metrics(det: Detection, skin: np.ndarray, labels: np.ndarray, *,
                       image: np.ndarray | None = None, tolerance: float = TOLERANCE,
                       min_on_skin: float = MIN_ON_SKIN,
                       min_limb_fraction: float = MIN_LIMB_FRACTION) -> PhotoMetrics:
    """Measure one detection against the part labels of its photo (all in the input frame).

    Parameters
    ----------
    det : Detection
        The detector's output on the photo (run with the skin gate off to measure the geometry
        on every photo).
    skin : (H, W) bool ndarray
        Labelled bare skin (the ``_skin`` mask: limbs + face, + torso skin where labelled).
    labels : (H, W) int ndarray
        Class id per pixel; the arm and leg classes are ``LIMB_CLASSES``.
    image : (H, W, 3) uint8 ndarray, optional
        The photo, to read each labelled limb's skin tone (``LabelledLimb.tone``).
    tolerance : float
        "Near" means within this many pixels of the working resolution (:func:`tolerance_px`).
    min_on_skin : float
        Share of a spine's samples that must be near labelled skin for its segment to count
        as on bare skin.
    min_limb_fraction : float
        Labelled limbs (components of one arm/leg class) smaller than this share of the image
        are not counted.

    Returns
    -------
    PhotoMetrics

    Raises
    ------
    ValueError
        If the masks' shape is not the detection's input size.

    Examples
    --------
    >>> import fleck
    >>> labels = np.zeros((60, 80), np.uint8); labels[10:50, 30:40] = 14  # an arm
    >>> image = np.zeros((60, 80, 3), np.uint8); image[labels == 14] = (220, 160, 130)
    >>> det = fleck.detect(image, gate_off(fleck.get_config("fitted")))
    >>> m = real_photo_metrics(det, labels > 0, labels)
    >>> m.segment_on_skin, [(limb.part, limb.touched) for limb in m.limbs], m.skin_fp
    ((True,), [(14, True)], 0)
    """
    shape = tuple(det.image_size)
    if skin.shape != shape or labels.shape != shape:
        raise ValueError(f"masks {skin.shape} / {labels.shape} differ from the detection's "
                         f"input size {shape}")
    radius = tolerance_px(det, tolerance)
    tp, fp, fn = pixel_counts(det.mask_at(shape), skin)
    near_skin = near(skin, radius)
    samples = {s.index: spine_samples(s, shape) for s in det.segments}
    on_skin = {i: bool(near_skin[pts[:, 0], pts[:, 1]].mean() >= min_on_skin)
               for i, pts in samples.items()}
    near_limb = near(np.isin(labels, LIMB_CLASSES), radius)
    joints = pixels([limb.joint for limb in det.limbs], shape)
    all_samples = (np.concatenate(list(samples.values())) if samples
                   else np.zeros((0, 2), int))
    ita = readable = None
    if image is not None:
        ita, readable = skin_tone(image)
    limbs = []
    for part, mask in limb_components(labels, min_fraction=min_limb_fraction):
        touched = bool(near(mask, radius)[all_samples[:, 0], all_samples[:, 1]].any())
        tone = None if ita is None else limb_tone(ita, readable, mask)
        limbs.append(LabelledLimb(part, int(np.count_nonzero(mask)), touched, tone))
    return PhotoMetrics(
        tp, fp, fn, tuple(on_skin[s.index] for s in det.segments),
        tuple(bool(near_limb[r, c]) for r, c in joints),
        tuple(all(on_skin[i] for i in g.segments) for g in det.groups), tuple(limbs), radius)


def gate_off(config: FleckConfig) -> FleckConfig:
    """``config`` with the skin gate off (every image goes on to the geometry)."""
    return config.replace(skin={"min_skin_fraction": 0.0})


def prf(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 from pixel counts (None where undefined).

    >>> prf(1, 1, 3)
    (0.5, 0.25, 0.3333333333333333)
    """
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p and r else None
    return p, r, f1


@dataclass
class RealTally:
    """Running sums of :class:`PhotoMetrics` over a set of photos (one row of a table)."""

    images: int = 0
    flagged: list = field(default_factory=list)    # names of photos decided positive (gate on)
    skin: list = field(default_factory=lambda: [0, 0, 0])
    segments: int = 0
    segments_on_skin: int = 0
    limbs: int = 0
    limbs_touched: int = 0
    limb_joints: int = 0
    joints_on_limb: int = 0
    groups: int = 0
    groups_on_skin: int = 0
    tone_limbs: Counter = field(default_factory=Counter)     # ITA bin (None: unreadable)
    tone_touched: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, m: PhotoMetrics, flagged: bool = False, name: str = "") -> None:
        self.images += 1
        if flagged:
            self.flagged.append(name)
        for k, v in enumerate((m.skin_tp, m.skin_fp, m.skin_fn)):
            self.skin[k] += v
        self.segments += len(m.segment_on_skin)
        self.segments_on_skin += m.segments_on_skin
        self.limbs += len(m.limbs)
        self.limbs_touched += m.limbs_touched
        self.limb_joints += len(m.joint_on_limb)
        self.joints_on_limb += m.joints_on_limb
        self.groups += len(m.group_on_skin)
        self.groups_on_skin += m.groups_on_skin
        for limb in m.limbs:
            self.tone_limbs[limb.tone] += 1
            self.tone_touched[limb.tone] += limb.touched

    def tone_ratio(self) -> float | None:
        """Worst / best share of limbs touched over the readable ITA bins holding at least
        ``MIN_TONE_LIMBS`` limbs (None with fewer than two such bins)."""
        shares = [self.tone_touched[b] / n for b, n in self.tone_limbs.items()
                  if b is not None and n >= MIN_TONE_LIMBS]
        if len(shares) < 2 or max(shares) == 0:
            return None
        return min(shares) / max(shares)

    def row(self) -> dict:
        p, r, f1 = prf(*self.skin)
        tones = {name: {"limbs": self.tone_limbs[b], "touched": self.tone_touched[b]}
                 for b, name in zip(TONE_KEYS, TONE_NAMES, strict=True)}
        return {"images": self.images, "flagged": len(self.flagged),
                "flagged_images": self.flagged, "skin_tp_fp_fn": list(self.skin),
                "skin_precision": p, "skin_recall": r, "skin_f1": f1,
                "segments": self.segments, "segments_on_skin": self.segments_on_skin,
                "limbs": self.limbs, "limbs_touched": self.limbs_touched,
                "limb_joints": self.limb_joints, "joints_on_limb": self.joints_on_limb,
                "groups": self.groups, "groups_on_skin": self.groups_on_skin,
                "tones": tones, "tone_ratio": self.tone_ratio(),
                "ms_per_image": 1e3 * self.seconds / self.images if self.images else None}


def parsing_photos(split: str, root: Path = DATA) -> list[tuple[str, str]]:
    """(set, image path relative to ``root``) of the parsing_people photos of ``split``."""
    return [(r["dataset"].removeprefix(PARSING), r["image"]) for r in read_manifest(root)
            if r["dataset"].startswith(PARSING) and r["split"] == split]


def real_photos(configs: list[FleckConfig], splits=("dev", "heldout"), root: Path = DATA,
                limit: int | None = None) -> dict:
    """Per split: the Kovac rule and every configuration (gate off for the geometry, gate on
    as configured for *flagged*), pooled (``"all"``) and per image set."""
    detectors = [(Detector(gate_off(c)), Detector(c)) for c in configs]
    result: dict = {}
    for split in splits:
        photos = parsing_photos(split, root)[:limit]
        kovac: dict[str, RealTally] = {}
        tallies = {c.name: {} for c in configs}
        start = time.perf_counter()
        for dataset, rel in photos:
            image, truth = load_parts(rel, root)
            counts = pixel_counts(kovac_rgb(image), truth.skin)
            for key in ("all", dataset):
                kovac.setdefault(key, RealTally()).add(PhotoMetrics(*counts, (), (), (), (), 0))
            for ungated, shipped in detectors:
                clock = time.perf_counter()
                det = ungated.detect(image)
                seconds = time.perf_counter() - clock
                metrics = real_photo_metrics(det, truth.skin, truth.labels, image=image)
                # G8: a photo under the gate is never flagged; the skin map does not depend on
                # the gate, so the shipped detector only needs to run on photos above it.
                flagged = (det.skin_fraction >= shipped.config.skin.min_skin_fraction
                           and shipped.detect(image).decision)
                for key in ("all", dataset):
                    tally = tallies[shipped.config.name].setdefault(key, RealTally())
                    tally.add(metrics, flagged, rel)
                    tally.seconds += seconds
        result[split] = {
            "images": len(photos), "seconds": time.perf_counter() - start,
            "kovac": {k: t.row() for k, t in kovac.items()},
            "configs": {name: {k: t.row() for k, t in rows.items()}
                        for name, rows in tallies.items()},
        }
    return result


# ------------------------------------------------------------------------------------------------
# presentation


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}"


def _frac(k: int, n: int) -> str:
    return f"{k}/{n}" + ("" if n == 0 else f" ({100 * k / n:.0f} %)")


def _rules(rules: dict) -> str:
    short = {"limb_limb_girdle": "LL", "limb_segment_girdle": "LS", "spine_thigh": "ST"}
    fired = [f"{short[k]} {v}" for k, v in sorted(rules.items()) if k in short]
    return ", ".join(fired) or "–"


def figure_table(title: str, rows: dict[str, dict], first: str) -> list[str]:
    lines = [f"### {title}", "",
             f"| {first} | figures | decided % | skin-pass % | >= 1 limb % | limb joints | "
             "joint precision % | chance % | joint recall % | rules fired | non-hits nearest |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for key, r in rows.items():
        label = f"**{key}**" if key == "all" else key
        lines.append(
            f"| {label} | {r['images']} | {_pct(r['decision_rate'])} | "
            f"{_pct(r['skin_pass_rate'])} | {_pct(r['limb_rate'])} | {r['limb_joints']} | "
            f"{_pct(r['joint_precision'])} | {_pct(r['chance_precision'])} | "
            f"{_pct(r['joint_recall'])} ({r['targets_found']}/{r['targets']}) | "
            f"{_rules(r['rules'])} | {_near(r['non_hits_nearest'])} |")
    return lines + [""]


def _near(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "–"


def control_table(rows: dict[str, dict]) -> list[str]:
    lines = ["### Synthetic controls (false positives)", "",
             "| kind | scenes | decided % | skin-pass % | >= 1 limb % | rules fired |",
             "|---|---:|---:|---:|---:|---|"]
    for key, r in rows.items():
        label = f"**{key}**" if key == "all" else key
        lines.append(f"| {label} | {r['images']} | {_pct(r['decision_rate'])} | "
                     f"{_pct(r['skin_pass_rate'])} | {_pct(r['limb_rate'])} | "
                     f"{_rules(r['rules'])} |")
    return lines + [""]


def people_table(rows: dict[str, dict]) -> list[str]:
    lines = ["### Real people with annotated joints (mmpose samples, all **heldout**)", "",
             "The first columns are the detector as configured; the columns from *gate off* on "
             "are the same detector with the 30 % skin gate off, so that the segment finder and "
             "grouper run on every image (limbs are counted there).", "",
             "| image set | images | skin-pass | decided | elbows/knees visible | on skin map "
             "| *gate off:* >= 1 limb | limb joints | within 1 width of elbow/knee | chance % | "
             "elbows/knees found | decided |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, r in rows.items():
        n, off = r["images"], r["gate_off"]
        label = f"**{key}**" if key == "all" else key
        lines.append(
            f"| {label} | {n} | {round(r['skin_pass_rate'] * n)}/{n} | "
            f"{round(r['decision_rate'] * n)}/{n} | {r['targets']} | "
            f"{_frac(r['targets_on_skin'], r['targets'])} | "
            f"{round(off['limb_rate'] * n)}/{n} | {off['limb_joints']} | "
            f"{_frac(off['hits'], off['limb_joints'])} | {_pct(off['chance_precision'])} | "
            f"{_frac(off['targets_found'], off['targets'])} | "
            f"{round(off['decision_rate'] * n)}/{n} |")
    return lines + [""]


def negative_table(rows: dict[str, dict]) -> list[str]:
    lines = ["### Real negatives (no nudity in any image): decision rate = false positives", "",
             "| image set | split | images | skin-pass | >= 1 limb | decided | rules fired | "
             "decided images |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows.values():
        n = r["images"]
        split = "**heldout**" if r["split"] == "heldout" else "dev"
        named = ", ".join(Path(p).name for p in r["positives"][:4])
        named += ", ..." if len(r["positives"]) > 4 else ""
        lines.append(
            f"| {r['dataset']} | {split} | {n} | {round(r['skin_pass_rate'] * n)} | "
            f"{round(r['limb_rate'] * n)} | {_frac(round(r['decision_rate'] * n), n)} | "
            f"{_rules(r['rules'])} | {named or '–'} |")
    return lines + [""]


def _skin_prf(r: dict) -> str:
    if r["skin_f1"] is None:
        return "–"
    return (f"{100 * r['skin_precision']:.0f} / {100 * r['skin_recall']:.0f} / "
            f"{100 * r['skin_f1']:.1f}")


def real_table(split: str, result: dict) -> list[str]:
    """The main table of one split: a row per configuration (pooled, then per image set when the
    split has several) and the Kovac rule's pixels."""
    rows = result[split]
    sets = sorted(k for k in rows["kovac"] if k != "all")
    heading = "**held-out**" if split == "heldout" else "dev"
    lines = [f"### Real photos with part labels: {heading} ({', '.join(sets)}; "
             f"{rows['images']} photos)", "",
             "| configuration | skin P / R / F1 (limbs + face) | segments on bare skin | "
             "bare limbs touched | limb joints on an arm or leg | groups all on bare skin | "
             "flagged (gate on) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, per_set in rows["configs"].items():
        keys = ["all", *sets] if len(sets) > 1 else ["all"]
        for key in keys:
            r = per_set[key]
            label = name if key == "all" else f"&nbsp;&nbsp;{name}: {key} only"
            lines.append(
                f"| {label} | {_skin_prf(r)} | {_frac(r['segments_on_skin'], r['segments'])} | "
                f"{_frac(r['limbs_touched'], r['limbs'])} | "
                f"{_frac(r['joints_on_limb'], r['limb_joints'])} | "
                f"{_frac(r['groups_on_skin'], r['groups'])} | {r['flagged']}/{r['images']} |")
    for key in ["all", *sets] if len(sets) > 1 else ["all"]:
        label = "Kovac RGB rule (pixels only)" + ("" if key == "all" else f": {key} only")
        lines.append(f"| {label} | {_skin_prf(rows['kovac'][key])} | – | – | – | – | – |")
    flagged = [f"{name} {', '.join(Path(p).stem for p in per_set['all']['flagged_images'])}"
               for name, per_set in rows["configs"].items() if per_set["all"]["flagged"]]
    if flagged:
        lines += ["", "Flagged photos: " + "; ".join(flagged) + "."]
    return lines + [""]


def tone_table(split: str, result: dict) -> list[str]:
    """Labelled bare limbs touched per ITA bin of the limb's own skin, and worst / best."""
    rows = result[split]
    first = next(iter(rows["configs"].values()))["all"]["tones"]
    heading = "**held-out**" if split == "heldout" else "dev"
    lines = [f"#### Bare limbs touched by skin tone ({heading})", "",
             "| configuration | " + " | ".join(f"{name} ({first[name]['limbs']})"
                                             for name in TONE_NAMES)
             + f" | worst / best (bins with >= {MIN_TONE_LIMBS} limbs) |",
             "|---|" + "---:|" * (len(TONE_NAMES) + 1)]
    for name, per_set in rows["configs"].items():
        r = per_set["all"]
        cells = [_frac(t["touched"], t["limbs"]) if t["limbs"] else "–"
                 for t in r["tones"].values()]
        ratio = "–" if r["tone_ratio"] is None else f"{r['tone_ratio']:.2f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    return lines + [""]


def joints_section(settings: EvalSettings, out: Path, config: str = "fleck1996") -> None:
    """Synthetic figures, controls, annotated people and real negatives (one configuration,
    default fleck1996): printed, and written to ``out/geometry_eval.md`` and ``.json`` (with
    ``_<config>`` before the suffix for another configuration)."""
    detector = Detector(config)
    start = time.perf_counter()
    result: dict = {"settings": asdict(settings), "config": detector.config.name}
    result["synthetic"] = synthetic(settings, detector)
    named = "" if detector.config.name == "fleck1996" else f" (`{detector.config.name}`)"
    lines = [f"## Geometry: synthetic figures and real people{named}", "",
             f"{settings.figures} figures per tone (pose random) and per pose (tone random), "
             f"seeds 0..{settings.figures - 1}, {settings.size[0]}x{settings.size[1]}; "
             f"{settings.control_seeds} seeds per control kind. Rules: LL limb-limb girdle, "
             "LS limb-segment girdle, ST spine-thigh group.", ""]
    lines += figure_table("Synthetic figures by skin tone", result["synthetic"]["tone"], "tone")
    lines += figure_table("Synthetic figures by pose", result["synthetic"]["pose"], "pose")
    lines += control_table(result["synthetic"]["controls"])
    if (DATA / "manifest.csv").is_file():
        result["people"] = real_people(detector)
        result["negatives"] = real_negatives(settings, detector)
        lines += people_table(result["people"])
        lines += negative_table(result["negatives"])
    else:
        lines += [f"(real data not found at {DATA}: real tables skipped)", ""]
    result["seconds"] = time.perf_counter() - start
    lines.append(f"Run time {result['seconds']:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    stem = "geometry_eval" + ("" if not named else f"_{detector.config.name}")
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))


def real_section(configs: list[FleckConfig], splits: tuple[str, ...], out: Path,
                 limit: int | None = None) -> None:
    """The real-photo tables for ``configs``: printed, and written to ``out/geometry_real.md``
    and ``.json``."""
    if not (DATA / "manifest.csv").is_file():
        print(f"(real data not found at {DATA}: the real-photo section is skipped)\n")
        return
    result = real_photos(configs, splits, limit=limit)
    lines = ["## Real photos with part labels (parsing_people)", "",
             f"Skin gate off for the geometry columns, on (as configured) for *flagged*; near = "
             f"within {TOLERANCE:g} px of the working resolution; a segment is on bare skin when "
             f">= {100 * MIN_ON_SKIN:.0f} % of its spine samples are near labelled skin; labelled "
             f"limbs are components of one arm or leg class >= {100 * MIN_LIMB_FRACTION:g} % of "
             "the photo. Percentages with their counts.", ""]
    for split in splits:
        lines += real_table(split, result)
        lines += tone_table(split, result)
    timing = ", ".join(f"{split} {result[split]['seconds']:.0f} s ({result[split]['images']} "
                       f"photos x {len(configs)} configurations)" for split in splits)
    lines.append(f"Run time {timing}.")
    text = "\n".join(lines) + "\n"
    print(text)
    (out / "geometry_real.md").write_text(text)
    (out / "geometry_real.json").write_text(json.dumps(result, indent=1, default=str))


SCRIPT = "bench/geometry_eval.py"
PAGE = "docs/reports/geometry.md"
REAL_BLOCK = "bench/geometry_eval.py --section real"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, PAGE)
    parser.add_argument("--section", choices=("all", "joints", "real"), default="all",
                        help="joints: synthetic figures, controls, annotated people and real "
                             "negatives; real: photos with part labels (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="20 figures, 4 control seeds, 40 abdomen crops; 20 photos per "
                             "split in the real section")
    parser.add_argument("--figures", type=int, help="figures per tone and per pose")
    parser.add_argument("--control-seeds", type=int, help="seeds per control kind")
    parser.add_argument("--config", default="fleck1996", metavar="NAME",
                        help="joints section: the configuration measured (default fleck1996; "
                             "another one writes its own block of the report)")
    parser.add_argument("--configs", nargs="+", default=[], metavar="NAME",
                        help="real section: configurations measured besides every one of "
                             "fleck.config.CONFIGS (names as fleck.get_config reads them, e.g. "
                             "fitted@native)")
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all",
                        help="real section: which split (held-out only once a choice is made)")
    parser.add_argument("--limit", type=int, help="real section: photos per split")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else EvalSettings()
    if args.figures or args.control_seeds:
        settings = EvalSettings(args.figures or settings.figures,
                                args.control_seeds or settings.control_seeds, settings.size,
                                settings.abdomen_limit)
    args.out.mkdir(parents=True, exist_ok=True)
    blocks = []
    if args.section in ("all", "joints"):
        with _report.tee_stdout() as printed:
            joints_section(settings, args.out, args.config)
        block = SCRIPT if args.config == "fleck1996" else f"{SCRIPT} --config {args.config}"
        blocks.append((block, printed.getvalue()))
    if args.section in ("all", "real"):
        names = list(dict.fromkeys([*CONFIGS, *args.configs]))
        splits = ("dev", "heldout") if args.split == "all" else (args.split,)
        limit = args.limit or (20 if args.quick else None)
        with _report.tee_stdout() as printed:
            real_section([get_config(n) for n in names], splits, args.out, limit)
        blocks.append((REAL_BLOCK, printed.getvalue()))
    if args.report:
        for block, body in blocks:
            _report.write_block(args.report, SCRIPT, body, title="Geometry", argv=argv,
                                block=block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
