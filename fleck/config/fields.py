"""The configuration's dataclasses: every field with its default and its provenance.

See :mod:`fleck.config` for what the provenance strings cite.

>>> from fleck.config.fields import SkinConfig
>>> provenance(SkinConfig(), "texture_max")
'spec 1.7 [H]: stage-1 texture amplitude no larger than 5'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Box", "param", "provenance", "SkinConfig", "GeometryConfig", "VerdictConfig",
           "FleckConfig", "describe"]

Box = tuple[float, float, float, float]  # hue_min, hue_max, sat_min, sat_max (degrees, log units)


def param(default: Any, provenance: str) -> Any:
    """A dataclass field carrying its provenance in ``metadata["provenance"]``."""
    return field(default=default, metadata={"provenance": provenance})


def provenance(config: Any, name: str) -> str:
    """The provenance string of field ``name`` of a config dataclass.

    A named parameter set that changes a default says why in its ``notes`` ((field, reason)
    pairs); that reason is the provenance of its value.

    >>> from fleck.config import KAPUR
    >>> provenance(KAPUR.skin, "texture_max").startswith("spec 1.11 Kapur")
    True
    """
    notes = dict(getattr(config, "notes", ()))
    if name in notes:
        return notes[name]
    for f in dataclasses.fields(config):
        if f.name == name:
            return f.metadata.get("provenance", "")
    raise KeyError(f"{type(config).__name__} has no field {name!r}")


@dataclass(frozen=True)
class SkinConfig:
    """Constants of the colour/texture skin filter (method step 1)."""

    name: str = param("fleck1996", "label of this parameter set")
    notes: tuple[tuple[str, str], ...] = param(
        (), "(field, reason) pairs: the provenance of each value this named set changes from "
        "the defaults below (read by provenance() and describe())")
    zero_response: bool = param(True, "spec 1.1 [H]: subtract the camera's zero response")
    zero_response_border: int = param(
        10, "spec 1.1 [H]: pixels within 10 px of the border are excluded from the minimum "
        "(applied at the working resolution)")
    zero_response_max: float = param(
        24.0, "PROPOSAL (spec 1.1 is silent): the minimum is used as the camera's zero response "
        "only up to 24; a higher minimum means the scene has no dark pixels (flat fields, skin "
        "close-ups), where subtracting it would saturate every colour. Full-scene photos in "
        "shared/data dev have minima <= 17, so they are processed exactly as published")
    log_gain: float = param(105.0, "spec 1.2 [H]: L(x) = 105 log10(x + 1 + n)")
    intensity: str = param(
        "green", "spec 1.2 [H]: I = L(G) ('green'); the Kapur variant uses the mean of the "
        "three log channels ('mean')")
    noise: bool = param(
        True, "spec 1.2 [H]: uniform [0, 1) noise n per value against banding; PROPOSAL: "
        "a hash of each value and its four neighbours (fleck.colour.local_noise), so the same "
        "input gives the same output and a mirrored or cropped one the mirrored or cropped noise")
    chroma_median_radius: float = param(2.0, "spec 1.4 [H]: median of Rg, By, radius 2 SCALE")
    texture_smooth_radius: float = param(4.0, "spec 1.5 [H]: S = median(I), radius 4 SCALE")
    texture_radius: float = param(6.0, "spec 1.5 [H]: texture = median(|I - S|), radius 6 SCALE")
    texture_max: float = param(5.0, "spec 1.7 [H]: stage-1 texture amplitude no larger than 5")
    stage1_boxes: tuple[Box, ...] = param(
        ((110.0, 150.0, 20.0, 60.0), (130.0, 170.0, 30.0, 130.0)),
        "spec 1.7 [H]: hue 110-150 & sat 20-60, or hue 130-170 & sat 30-130")
    growth: str = param(
        "density", "spec 1.8 [H]: 'density' = keep pixels with >= 1/8 stage-1 pixels in a "
        "disk; 'iterative' = Kapur's 8-neighbour growth (spec 1.11)")
    density_radius: float = param(24.0, "spec 1.8 [H]: disk radius 24 SCALE")
    density_fraction: float = param(0.125, "spec 1.8 [H]: at least 1/8 of the disk marked")
    growth_iterations: int = param(5, "spec 1.11: Kapur variant, 5 iterations of growth")
    stage2_hue: tuple[float, float] = param((110.0, 180.0), "spec 1.9 [M]: lenient hue 110-180")
    stage2_sat: tuple[float, float] = param((0.0, 180.0), "spec 1.9 [M]: lenient sat 0-180")
    stage2_texture_max: float | None = param(
        None, "spec 1.9 PROPOSAL: no texture test in stage 2 (10 is the optional bound)")
    intensity_range: tuple[float, float] | None = param(
        None, "spec 1.11: Kapur keeps skin whose grey level (I, log units) lies in 95-240")
    min_skin_fraction: float = param(
        0.30, "spec 1.10 [M-H]: the image passes if >= 30 % of its area is skin")
    median_window: str = param(
        "square", "spec 1.5 PROPOSAL: a square (2r+1)^2 window is the accepted fast substitute "
        "for Fleck's approximately circular median ('disk' is exact but slower)")
    colour_model: str = param(
        "boxes", "spec 1.7 [H]: 'boxes' = the hue/saturation boxes above; 'table' = the fitted "
        "skin/non-skin log-likelihood-ratio table over (Rg, By, I) (fleck.skin_model), "
        "replacing only the colour tests of stages 1 and 2")
    colour_table: str = param(
        "skin_llr", "name of the fitted table in fleck/data (<name>.npz), written by "
        "tools/fit_skin_model.py from the dev split of shared/data; used when colour_model='table'")
    table_stage1_min: float = param(
        0.0, "fitted on dev (tools/fit_skin_model.py): stage-1 colour test "
        "LLR >= 0 (natural log of P(colour | skin) / P(colour | non-skin))")
    table_stage2_min: float = param(
        -0.5, "fitted on dev (tools/fit_skin_model.py): lenient stage-2 colour test "
        "LLR >= -0.5; with stage 1 and the texture bound, the best 3-fold cross-validated mean "
        "dev F1 (pratheepan, abdomen) whose worst skin-tone (ITA) bin keeps >= 0.8 of the best "
        "bin's recall")
    adaptive: bool = param(
        False, "PROPOSAL (fleck_plus; not in the 1996 method, whose design rationale deliberately "
        "uses no colour constancy): with colour_model='table', fit a Gaussian over (Rg, By, I) "
        "to the photo's most confident skin pixels and shift each pixel's LLR towards or away "
        "from it before both colour tests (fleck.adaptive); False = the fixed table alone. "
        "lip_hpa dev, fitted_strict -> fitted_strict + adaptive: skin F1 44.1 -> 48.6 (limbs + "
        "face), segments on bare skin 42 -> 46 %, photos flagged 2 -> 1 of 74")
    adaptive_core_llr: float = param(
        1.5, "PROPOSAL (fleck_plus): the seed's core is drawn from stage-1 pixels with LLR >= 1.5 "
        "(the top third of lip_hpa dev stage-1 pixels); 2.0 and 2.5 left more dev photos "
        "without a seed (20, 42 of 74 against 9) and lowered skin F1 (48.3, 45.7 against 48.6)")
    adaptive_bin: float = param(
        4.0, "PROPOSAL (fleck_plus): those pixels' (Rg, By) are binned in 4-unit bins weighted "
        "by LLR, smoothed by a Gaussian of one bin; the highest bin is the photo's commonest "
        "confident skin chroma")
    adaptive_core_radius: float = param(
        10.0, "PROPOSAL (fleck_plus): the core is those pixels within 10 units of that bin's "
        "centre in (Rg, By); 6 scored the same skin F1 on lip_hpa dev (48.7) and touched fewer "
        "bare limbs (93 against 99 of 139)")
    adaptive_floor: tuple[float, float, float] = param(
        (3.0, 3.0, 10.0), "PROPOSAL (fleck_plus): standard deviations (Rg, By, I) added in "
        "quadrature to the fitted covariance, so a small or uniform seed gives no needle-thin "
        "model")
    adaptive_expand: float = param(
        2.0, "PROPOSAL (fleck_plus): the seed is every stage-1 pixel within Mahalanobis distance "
        "2 of the core's model (the shaded and highlighted parts of the same skin); the model "
        "is fitted again on it. lip_hpa dev: 1.5 touched fewer bare limbs (94 against 99 of "
        "139), 3 lowered skin F1 (45.5 against 48.6)")
    adaptive_gate: float = param(
        3.0, "PROPOSAL (fleck_plus): distance at which the shift changes sign: a pixel gains "
        "weight x (3 - d) nats, d its Mahalanobis distance from the photo's skin colour. "
        "lip_hpa dev: 2 raised skin F1 (50.1 against 48.6) but touched fewer bare limbs (93 "
        "against 99 of 139) and lowered the worst/best skin-tone ratio (0.62 against 0.73)")
    adaptive_weight: float = param(1.0, "PROPOSAL (fleck_plus): nats per unit of distance")
    adaptive_penalty_max: float = param(
        1.0, "PROPOSAL (fleck_plus): a pixel loses at most 1 nat, so colours the table is sure "
        "of stay skin whatever the seed (a wrong seed cannot wipe out a close-up's skin)")
    adaptive_skin_gate: str = param(
        "adapted", "PROPOSAL (fleck_plus): which skin map the 30 % gate (min_skin_fraction) "
        "reads when adaptive: 'adapted', the final map the geometry runs on; or 'table', the "
        "map the fitted table gives without the adaptation (the photo's colour then moves "
        "where skin is, not whether a photo has enough of it)")
    adaptive_min_seed: float = param(
        0.001, "PROPOSAL (fleck_plus): with a core or seed under 0.1 % of the image (and under "
        "10 pixels) the photo has no confident skin and the table alone decides")

    def __post_init__(self) -> None:
        if self.colour_model not in ("boxes", "table"):
            raise ValueError(
                f"SkinConfig.colour_model must be 'boxes' or 'table', got {self.colour_model!r}")
        if self.adaptive and self.colour_model != "table":
            raise ValueError("SkinConfig.adaptive needs colour_model='table' (it shifts the "
                             "fitted table's log-likelihood ratio)")
        if self.adaptive_skin_gate not in ("adapted", "table"):
            raise ValueError("SkinConfig.adaptive_skin_gate must be 'adapted' or 'table', "
                             f"got {self.adaptive_skin_gate!r}")
        if self.intensity not in ("green", "mean"):
            raise ValueError("SkinConfig.intensity must be 'green' or 'mean', "
                             f"got {self.intensity!r}")
        if self.growth not in ("density", "iterative"):
            raise ValueError("SkinConfig.growth must be 'density' or 'iterative', "
                             f"got {self.growth!r}")
        if self.median_window not in ("square", "disk"):
            raise ValueError(
                f"SkinConfig.median_window must be 'square' or 'disk', got {self.median_window!r}")


@dataclass(frozen=True)
class GeometryConfig:
    """Segments, grouping rules and decision (method steps 2-4); lengths in SCALE units."""

    notes: tuple[tuple[str, str], ...] = param(
        (), "(field, reason) pairs: the provenance of each value a named configuration changes "
        "from the defaults below (read by provenance() and describe())")
    finder: str = param(
        "medial_axis", "spec 2.3.2 RECOMMENDED: segments from the medial axis of the skin map "
        "(the prototype found 36/40 figure joints against 16/40 for G1-G3 edge pairs)")
    open_radius: float = param(1.0, "spec 2.3.2: open the skin map with a disk of max(1, SCALE)")
    simplify_tolerance: float = param(
        2.0, "spec 2.3.2: Douglas-Peucker tolerance max(2, 2 SCALE) px")
    splitter: str = param(
        "bend", "PROPOSAL (measured, stability): where a skeleton chain is cut into straight "
        "pieces. 'bend' (default): at its sharpest bends, the angle between the chords to the "
        "points bend_scale widths behind and ahead; 'dp': Douglas-Peucker at max(2, 2 SCALE) "
        "px (spec 2.3.2), gentle bends merged, short pieces absorbed. On dev, 'dp' cut a "
        "limb at one joint in one version of an image and not in its JPEG re-save or 2 % crop "
        "(the commonest flip); 'bend' raised figure recall 20 -> 25 of 60 and cut the share of "
        "flipping figures 57 -> 40 % (docs/reports/stability.md)")
    bend_scale: float = param(
        0.75, "PROPOSAL: 'bend' measures a chain's bend over an arc of 0.75 x its width (2 x "
        "median boundary distance): a joint bends a limb over about its width, a staircase of "
        "skeleton pixels does not")
    bend_min: float = param(4.0, "PROPOSAL: that arc is at least 4 SCALE ...")
    bend_max: float = param(20.0, "PROPOSAL: ... and at most 20 SCALE")
    merge_angle: float = param(
        25.0, "PROPOSAL (measured on synthetic figures): a chain bending by less than 25 deg is "
        "not cut there ('bend'; with 'dp', such polyline vertices are removed), so gently "
        "curving limbs are not cut into pieces too short to pass the elongation test")
    min_segment_length: float = param(8.0, "spec G2/2.3.2: pieces shorter than 8 SCALE dropped")
    width_core: float = param(
        0.70, "spec 2.3.2: width = 2 x median distance over the middle 70 % of the piece")
    min_width: float = param(4.0, "spec G3 PROPOSAL: width >= 4 SCALE")
    max_width: float = param(50.0, "spec G3 PROPOSAL: width <= 50 SCALE")
    max_width_fraction: float = param(0.5, "spec G3 PROPOSAL: width <= 0.5 min(H, W)")
    min_elongation: float = param(
        1.0, "spec G3 PROPOSAL 1.5, lowered to 1.0 (measured on dev): cut at its joints, a limb's "
        "pieces are short for their width (a thigh). With min_explained_skin, fleck1996 decides "
        "194 of 440 generated figures (193 before these two changes) and 12 of 665 real dev "
        "photos (12 before)")
    torso_min_width: float = param(
        15.0, "spec G3 PROPOSAL: stubby pieces with width >= 15 SCALE kept as torso candidates")
    extend_free_ends: bool = param(
        True, "PROPOSAL: a skeleton stops about w/2 short of a rounded limb end; free spine "
        "ends are extended by the distance to the skin boundary there")
    fill_holes: float = param(
        64.0, "PROPOSAL (tuned on dev photos): holes in the skin map under 64 SCALE^2 px (eyes, "
        "mouths, highlights) are filled before the skeleton; alone it cut false positives on "
        "the dev photos from 18/91 to 7/91 and lost no synthetic figure")
    flank_offset: float = param(
        0.3, "spec 2.3.3 (measured for edge pairs): the flank strip lies 0.3 w outside each edge")
    flank_max_skin: float = param(
        0.5, "spec 2.3.3 adapted to the medial axis (tuned on dev photos): a strip just outside "
        "each long edge of a limb segment must be <= 50 % skin; pieces failing it are kept as "
        "torso candidates only. Dev photos 7/91 -> 4/91 false positives, synthetic figures "
        "37/60 -> 28/60 (a min/max boundary-distance ratio >= 0.5 was tried instead and cost "
        "half the figures); 1.0 switches it off")
    frame_is_edge: bool = param(
        False, "PROPOSAL (tuned on dev): flank probes beyond the image frame are no evidence, and "
        "a side mostly beyond it is not clear, so a strip of skin along the frame is no limb. "
        "False: abdomen dev close-ups 27/500 -> 11/500 false positives, synthetic figures "
        "decided 28/60 -> 21/60 (their limbs are often cut by the frame); True restores the "
        "other trade-off")
    flank_sides: int = param(
        2, "PROPOSAL: both flanks must be clear (a ribbon bounded by two edges); spec 2.3.3 asks "
        "one side for edge pairs, which left 5/91 dev false positives")
    max_segments: int = param(300, "spec G3/G10 PROPOSAL: cap at 300 segments, else bail out")
    limb_joint_distance: float = param(
        1.0, "spec G4 PROPOSAL: spine endpoints within 1.0 x max(w1, w2)")
    limb_width_ratio: tuple[float, float] = param((0.5, 2.0), "spec G4 PROPOSAL: w1/w2 in [0.5, 2]")
    limb_min_angle: float = param(
        45.0, "spec G4 PROPOSAL: angle at the joint >= 45 deg (180 = straight limb)")
    limb_joint_skin: float = param(
        0.60, "spec G4 PROPOSAL: >= 60 % skin in a disk of radius 0.5 max(w1, w2) at the joint")
    max_overlap: float = param(
        0.20, "spec G4/G7 PROPOSAL: ribbon interiors overlap < 20 % of the smaller")
    girdle_distance: float = param(
        2.5, "spec 2.3.4 (measured): limb-limb girdle proximal ends within 2.5 x the larger "
        "proximal width (G5's 1.5 missed thighs by 35 px against 32.6)")
    girdle_width_ratio: tuple[float, float] = param(
        (0.67, 1.5), "spec G5 PROPOSAL: proximal width ratio in [0.67, 1.5]")
    girdle_max_angle: float = param(
        120.0, "spec G5 PROPOSAL: proximal segments' included angle <= 120 deg")
    girdle_link_skin: float = param(
        0.8, "PROPOSAL (measured on synthetic stripes): the straight line joining the two ends "
        "a girdle connects must be >= 80 % skin; hips and shoulders are joined through the "
        "body, neighbouring stripes or planks are not")
    torso_width_ratio: float = param(
        1.2, "spec G6 PROPOSAL: torso width >= 1.2 x the limb's proximal width")
    torso_attach_distance: float = param(
        1.0, "spec G6/G7 PROPOSAL: attachment within 1.0 x torso width of a torso spine end")
    thigh_width_range: tuple[float, float] = param(
        (0.3, 0.9), "spec G7 PROPOSAL: thigh widths in [0.3, 0.9] x torso width")
    thigh_width_ratio: tuple[float, float] = param(
        (0.67, 1.5), "spec G7 PROPOSAL: thigh width ratio in [0.67, 1.5]")
    thigh_max_angle: float = param(
        90.0, "spec G7 PROPOSAL: each thigh within 90 deg of the torso's outward direction")
    max_limbs: int = param(1000, "spec 2.3.6 (measured): bail out above 1,000 limbs")
    max_limbs_per_segment: float = param(
        3.0, "spec 2.3.6 (measured): bail out when limbs > 3 x segments (wood grain reached "
        "10x, figures at most 1.4x)")
    max_groups_listed: int = param(
        50, "PROPOSAL: at most 50 groups of each type are listed (figures have about 10; the "
        "decision needs one); Detection.truncated says when the list was cut")
    limb_limb_girdle: bool = param(True, "spec G5/G8: limb-limb girdles may decide")
    limb_segment_girdle: bool = param(True, "spec G6/G8: limb-segment girdles may decide")
    spine_thigh: bool = param(True, "spec G7/G8: spine-thigh groups may decide")
    min_group_coverage: float = param(
        0.05, "spec G8 PROPOSAL, kept by 2.3.5: the group's ribbons cover >= 5 % of the image")
    min_explained_skin: float = param(
        0.25, "PROPOSAL (measured on dev, stability): the ribbons of the groups that reach "
        "min_group_coverage must together cover >= 25 % of the skin map: a body plan accounts for "
        "much of the skin it is made of, while limbs built on hair, faces or the folds of a "
        "close-up explain little of it (a median 13 % on dev false positives, 46 % on generated "
        "figures). Real dev photos decided, before -> after: fleck1996 12 -> 12, kapur 35 -> 12, "
        "fitted 28 -> 14, fitted_strict 24 -> 15 of 665, each deciding as many of 440 generated "
        "figures or more (docs/reports/stability.md); 0 switches it off")
    decision_threshold: float = param(
        0.5, "PROPOSAL: score >= 0.5 exactly when the G8 rule fires (see fleck.decision)")

    def __post_init__(self) -> None:
        if self.splitter not in ("bend", "dp"):
            raise ValueError(
                f"GeometryConfig.splitter must be 'bend' or 'dp', got {self.splitter!r}")
        if self.finder != "medial_axis":
            raise ValueError(f"GeometryConfig.finder must be 'medial_axis', got {self.finder!r}")


@dataclass(frozen=True)
class VerdictConfig:
    """The three-way label (``safe`` / ``review`` / ``unsafe``) from two thresholds on the score.

    ``unsafe`` is ``score >= unsafe threshold`` (which is also ``decision``), ``review`` is
    ``review_threshold <= score < unsafe threshold``, ``safe`` the rest. The defaults keep the
    G8 rule as the unsafe threshold; calibrated thresholds (``fleck compare`` writes them to
    ``thresholds.json``, ``--thresholds FILE`` reads them, :func:`fleck.verdict.apply_thresholds`)
    replace both values and say where they came from in ``notes``.

    >>> VerdictConfig().unsafe_threshold is None
    True
    """

    notes: tuple[tuple[str, str], ...] = param(
        (), "(field, reason) pairs: where calibrated values came from (read by provenance())")
    review_threshold: float = param(
        0.29, "PROPOSAL, chosen on dev by bench/calibrate_verdict.py (report: "
        "docs/reports/verdict-calibration.md): the lowest threshold on a 0.01 grid that sends at "
        "most 5 % of the dev images (all safe; pooled) to review or unsafe: 4.4 % there against "
        "1.8 % at 0.5, while 49.5 % of 200 synthetic figures reach review or unsafe against "
        "43.5 % at 0.5. At 0.25 lie the images whose skin passes with no limb and no group, 56 % "
        "of the dev images")
    unsafe_threshold: float | None = param(
        None, "None: the decision threshold geometry.decision_threshold (0.5), i.e. the G8 rule "
        "itself; a calibrated value replaces it (the score is not changed, only where it is cut)")

    def __post_init__(self) -> None:
        values = [("review_threshold", self.review_threshold),
                  ("unsafe_threshold", self.unsafe_threshold)]
        for name, value in values:
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"VerdictConfig.{name} must lie in [0, 1], got {value!r}")


@dataclass(frozen=True)
class FleckConfig:
    """The whole detector's configuration: skin filter, geometry, decision, working size."""

    name: str = param("fleck1996", "label of this configuration")
    skin: SkinConfig = field(default_factory=SkinConfig)
    geometry: GeometryConfig = field(default_factory=GeometryConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)
    working_size: int | None = param(
        320, "spec 1.12 / 2.3.7 PROPOSAL, confirmed by bench/skin_accuracy.py: the image is "
        "shrunk (never enlarged) so that H + W = 320 (SCALE = 1); None = native size")
    max_pixels: int = param(
        100_000_000, "PROPOSAL: refuse images over ~100 megapixels (decompression bombs)")
    min_size: int = param(16, "PROPOSAL: refuse images whose smaller side is under 16 px")

    def replace(self, **changes: Any) -> FleckConfig:
        """A copy with some fields changed; ``skin=dict(...)``/``geometry=dict(...)``/
        ``verdict=dict(...)`` update those.

        >>> FleckConfig().replace(geometry={"spine_thigh": False}).geometry.spine_thigh
        False
        """
        for part in ("skin", "geometry", "verdict"):
            if isinstance(changes.get(part), dict):
                changes[part] = dataclasses.replace(getattr(self, part), **changes[part])
        return dataclasses.replace(self, **changes)


def describe(config: Any, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Flatten a config into ``(dotted name, value, provenance)`` rows, nested configs included."""
    rows = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, prefix + f.name + "."))
        elif f.name != "notes":  # notes are shown as the provenance of the values they explain
            rows.append((prefix + f.name, value, provenance(config, f.name)))
    return rows
