"""The decision rule (spec G8) and a continuous score whose threshold reproduces it.

G8: report a body plan iff the image passed the skin filter AND the grouper found a limb-limb
girdle, limb-segment girdle or spine-thigh group (each type switchable) whose ribbons cover at
least 5 % of the image. We add (PROPOSAL, measured: see ``GeometryConfig.min_explained_skin``)
that the ribbons of the groups reaching that coverage together cover at least 25 % of the skin
map: a body plan accounts for much of the skin it is made of, while the limbs the grouper
builds on hair, faces or the folds of a close-up explain little of it.

The score lies in [0, 1] and ``decision == (score >= threshold)`` with threshold 0.5, so ROC curves
drawn from the score pass through the rule's operating point. With f the skin fraction (pass mark
f0 = 0.30), c the largest coverage among groups of the enabled types (mark c0 = 0.05), e the
explained share of the skin (mark e0 = 0.25), n the number of limbs and k the number of distinct
group types that reach c0:

* rule not met:  score = 0.5 * (0.5 min(f/f0, 1) + 0.3 min(n/4, 1) [passed]
  + 0.2 min(c/c0, 1) min(e/e0, 1)) which stays below 0.5 because f < f0, c < c0 or e < e0;
* rule met:      score = 0.5 + 0.5 (1 - exp(-(0.2 + (c - c0) / (2 c0) + (e - e0) / (2 e0)
  + 0.3 (k - 1))))

so the score rises with skin, limbs, group coverage, explained skin and the variety of group
types (PROPOSAL: the papers report only the binary decision).

>>> d = decide(0.42, True, n_limbs=3, groups=(), bailed_out=None)
>>> d.decision, round(d.score, 3), d.rule
(False, 0.362, None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleck.config import GeometryConfig, SkinConfig
from fleck.grouper import Group, enabled_kinds

__all__ = ["Decision", "decide"]

_KIND_NAMES = {
    "limb_limb_girdle": "limb-limb girdle",
    "limb_segment_girdle": "limb-segment girdle",
    "spine_thigh": "spine-thigh group",
}


@dataclass(frozen=True)
class Decision:
    """The answer: ``decision``, ``score`` and ``threshold``; ``rule`` is the group type that
    fired (None when none did), ``reason`` a one-line explanation, ``group`` the index of the
    deciding group in the grouping's groups."""

    decision: bool
    score: float
    threshold: float
    rule: str | None
    reason: str
    group: int | None = None


def decide(skin_fraction: float, passes_skin: bool, *, n_limbs: int, groups: tuple[Group, ...],
           bailed_out: str | None, geometry: GeometryConfig | None = None,
           skin: SkinConfig | None = None, explained: float = 1.0) -> Decision:
    """Apply G8 and compute the score; see the module docstring for the formula.

    ``explained`` is the share of the skin map under the ribbons of the groups that reach the
    coverage mark (``Grouping.explained``); it must reach ``geometry.min_explained_skin``.
    """
    geometry = geometry or GeometryConfig()
    skin = skin or SkinConfig()
    f0, c0 = skin.min_skin_fraction, geometry.min_group_coverage
    threshold = geometry.decision_threshold
    enabled = set(enabled_kinds(geometry))
    candidates = [(g.coverage, i) for i, g in enumerate(groups) if g.kind in enabled]
    best_coverage, best = max(candidates, default=(0.0, None))
    deciding_kinds = {groups[i].kind for c, i in candidates if c >= c0}

    e0 = geometry.min_explained_skin
    explains = explained >= e0
    if passes_skin and best is not None and best_coverage >= c0 and explains:
        z = 0.2 + (best_coverage - c0) / (2 * c0) + 0.3 * (len(deciding_kinds) - 1)
        if e0 > 0:
            z += (min(explained, 1.0) - e0) / (2 * e0)
        score = threshold + (1 - threshold) * (1 - math.exp(-z))
        winner = groups[best]
        reason = (f"{_KIND_NAMES[winner.kind]} of segments {list(winner.segments)} covers "
                  f"{100 * best_coverage:.1f} % of the image (>= {100 * c0:g} %); "
                  f"skin {100 * skin_fraction:.0f} %"
                  + (f", {100 * explained:.0f} % of it explained" if e0 > 0 else ""))
        return Decision(True, min(score, 1.0), threshold, winner.kind, reason, best)

    evidence = 0.5 * (min(skin_fraction / f0, 1.0) if f0 > 0 else 1.0)
    if passes_skin:
        evidence += 0.3 * min(n_limbs / 4, 1.0) + 0.2 * min(best_coverage / c0, 1.0) * (
            min(explained / e0, 1.0) if e0 > 0 else 1.0)
    score = threshold * evidence
    if not passes_skin:
        reason = f"skin covers {100 * skin_fraction:.1f} % of the image (< {100 * f0:g} %)"
    elif bailed_out:
        reason = f"grouper gave up: {bailed_out}"
    elif best is None:
        reason = (f"skin {100 * skin_fraction:.0f} %, {n_limbs} limbs, but no girdle or "
                  "spine-thigh group")
    elif best_coverage < c0:
        reason = (f"largest group ({_KIND_NAMES[groups[best].kind]}) covers only "
                  f"{100 * best_coverage:.1f} % of the image (< {100 * c0:g} %)")
    else:
        reason = (f"{_KIND_NAMES[groups[best].kind]} of segments {list(groups[best].segments)} "
                  f"covers {100 * best_coverage:.1f} % of the image but the body plan explains "
                  f"only {100 * explained:.0f} % of the skin (< {100 * e0:g} %)")
    return Decision(False, min(score, threshold - 1e-9), threshold, None, reason, None)
