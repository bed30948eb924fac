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
set is its false-positive rate. Dev/heldout comes from ``manifest.csv``.

Usage (from the repository root)::

    python bench/geometry_eval.py            # about 2 minutes on 2 cores
    python bench/geometry_eval.py --quick    # fewer figures and seeds, no abdomen crops

Writes ``bench/out/geometry_eval.md`` (the tables, also printed) and ``geometry_eval.json``.
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

from fleck import synth  # noqa: E402
from fleck.detector import Detection, Detector  # noqa: E402
from fleck.evaldata import read_manifest  # noqa: E402

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
    # 1e-6, not 0: fleck.decision divides by the pass mark (0 raises ZeroDivisionError)
    ungated = Detector(detector.config.replace(skin={"min_skin_fraction": 1e-6}))
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _report.add_report_option(parser, "docs/reports/geometry.md")
    parser.add_argument("--quick", action="store_true", help="20 figures, 4 control seeds")
    parser.add_argument("--figures", type=int, help="figures per tone and per pose")
    parser.add_argument("--control-seeds", type=int, help="seeds per control kind")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else EvalSettings()
    if args.figures or args.control_seeds:
        settings = EvalSettings(args.figures or settings.figures,
                                args.control_seeds or settings.control_seeds, settings.size,
                                settings.abdomen_limit)
    detector = Detector()
    start = time.perf_counter()
    result: dict = {"settings": asdict(settings), "config": detector.config.name}
    result["synthetic"] = synthetic(settings, detector)
    lines = ["## Geometry: synthetic figures and real people", "",
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
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "geometry_eval.md").write_text(text)
    (args.out / "geometry_eval.json").write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_report.run(main, "bench/geometry_eval.py", "docs/reports/geometry.md",
                         "Geometry: limbs and decisions"))
