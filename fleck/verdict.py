"""The three-way verdict (``safe`` / ``review`` / ``unsafe``) and calibrated thresholds.

The detector's score is cut twice: ``unsafe`` when ``score >= unsafe threshold`` (which is
``decision``), ``review`` when ``review threshold <= score < unsafe threshold``, ``safe`` below.
By default the unsafe threshold is the G8 rule's 0.5 and the review threshold the value chosen
on the dev data (:class:`fleck.config.VerdictConfig`). ``fleck compare`` writes thresholds
calibrated on a labelled sample to ``thresholds.json``; :func:`read_thresholds` reads them and
:func:`apply_thresholds` puts them into a configuration (``fleck detect|scan --thresholds``).
Applying thresholds never changes a score, only where it is cut.

>>> verdict_label(0.3, 0.5, 0.26), verdict_label(0.25, 0.5, 0.26), verdict_label(0.5, 0.5, 0.26)
('review', 'safe', 'unsafe')
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from fleck.config import FleckConfig, VerdictConfig

__all__ = ["LABELS", "THRESHOLDS_SCHEMA", "Thresholds", "Verdict", "verdict_label", "cut",
           "read_thresholds", "apply_thresholds"]

LABELS = ("safe", "review", "unsafe")
THRESHOLDS_SCHEMA = 1


def verdict_label(score: float, unsafe_threshold: float,
                  review_threshold: float | None = None) -> str:
    """``'unsafe'``, ``'review'`` or ``'safe'`` for ``score``.

    Parameters
    ----------
    score : float
    unsafe_threshold : float
        ``score >= unsafe_threshold`` is unsafe (the detection's ``decision``).
    review_threshold : float, optional
        ``review_threshold <= score < unsafe_threshold`` is review. None (or a value above the
        unsafe threshold) leaves no review band.

    Returns
    -------
    str

    Examples
    --------
    >>> verdict_label(0.1, 0.5), verdict_label(0.7, 0.5, 0.2)
    ('safe', 'unsafe')
    """
    if score >= unsafe_threshold:
        return "unsafe"
    if review_threshold is not None and score >= review_threshold:
        return "review"
    return "safe"


@dataclass(frozen=True)
class Verdict:
    """A score cut by the verdict configuration: ``decision == score >= threshold``.

    >>> cut(0.3, False, 0.5, "no girdle").review_threshold <= 0.5
    True
    """

    decision: bool
    threshold: float
    review_threshold: float
    reason: str


def cut(score: float, rule_decision: bool, rule_threshold: float, reason: str,
        verdict: VerdictConfig | None = None) -> Verdict:
    """Apply ``verdict`` to a score produced by :func:`fleck.decision.decide`.

    Without a calibrated unsafe threshold the rule's own decision and threshold stand. With one,
    ``decision = score >= unsafe_threshold``, and when that differs from the rule the reason says
    so. The review threshold is capped at the unsafe threshold (an empty band, never an
    inverted one).

    Parameters
    ----------
    score : float
        The detector's score (never changed).
    rule_decision, rule_threshold : bool, float
        The G8 rule's decision and threshold (:class:`fleck.decision.Decision`).
    reason : str
        The rule's one-line reason.
    verdict : VerdictConfig, optional
        Review threshold and optional calibrated unsafe threshold (default: the defaults).

    Returns
    -------
    Verdict

    Examples
    --------
    >>> v = cut(0.62, True, 0.5, "girdle covers 9 %", VerdictConfig(unsafe_threshold=0.7))
    >>> v.decision, v.threshold, v.reason
    (False, 0.7, 'girdle covers 9 %; score 0.620 < calibrated threshold 0.700')
    """
    verdict = verdict or VerdictConfig()
    threshold = rule_threshold if verdict.unsafe_threshold is None else float(
        verdict.unsafe_threshold)
    decision = bool(score >= threshold)
    if decision != rule_decision:
        sign = ">=" if decision else "<"
        reason = f"{reason}; score {score:.3f} {sign} calibrated threshold {threshold:.3f}"
    review = min(float(verdict.review_threshold), threshold)
    return Verdict(decision, threshold, review, reason)


@dataclass(frozen=True)
class Thresholds:
    """One detector's calibrated thresholds, as read from a ``thresholds.json``.

    ``unsafe`` reaches the target precision, ``review`` the target recall (both on the labelled
    sample, re-weighted to ``prevalence``); ``source`` names the file, ``config`` the fleck
    configuration whose scores they were chosen on (None when unknown).

    >>> Thresholds("fleck", unsafe=0.7, review=0.3, source="thresholds.json").review
    0.3
    """

    detector: str
    unsafe: float
    review: float
    source: str
    prevalence: float | None = None
    targets: str = ""
    config: str | None = None


def read_thresholds(path: str | os.PathLike, *, detector: str = "fleck") -> Thresholds:
    """Read ``detector``'s thresholds from a ``thresholds.json`` written by ``fleck compare``.

    Parameters
    ----------
    path : path
        The thresholds file.
    detector : str
        ``"fleck"`` or the name a CNN had in the comparison.

    Returns
    -------
    Thresholds
        The review threshold is capped at the unsafe one.

    Raises
    ------
    ValueError
        If the file is not such a file, lacks ``detector``, or its unsafe threshold could not
        be chosen (the target precision was not reached on the sample). The message names the
        file and says what to do.
    OSError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile, json, os
    >>> path = os.path.join(tempfile.mkdtemp(), "thresholds.json")
    >>> doc = {"schema": 1, "detectors": {"fleck": {"unsafe": {"threshold": 0.7},
    ...                                              "review": {"threshold": 0.3}}}}
    >>> _ = open(path, "w").write(json.dumps(doc))
    >>> t = read_thresholds(path)
    >>> t.unsafe, t.review
    (0.7, 0.3)
    """
    source = os.fspath(path)
    with open(source, encoding="utf-8") as f:
        try:
            document = json.load(f)
        except ValueError as err:
            raise ValueError(f"{source}: not a thresholds file (not JSON: {err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("detectors"), dict):
        raise ValueError(f"{source}: not a thresholds file (no 'detectors'; "
                         "`fleck compare -o OUT` writes OUT/thresholds.json)")
    if document.get("schema", THRESHOLDS_SCHEMA) > THRESHOLDS_SCHEMA:
        raise ValueError(f"{source}: thresholds schema {document['schema']} is newer than this "
                         f"fleck reads ({THRESHOLDS_SCHEMA}); upgrade fleck")
    entry = document["detectors"].get(detector)
    if not isinstance(entry, dict):
        known = ", ".join(document["detectors"]) or "none"
        raise ValueError(f"{source}: no thresholds for {detector!r} (detectors: {known})")
    values = {}
    for name in ("unsafe", "review"):
        value = (entry.get(name) or {}).get("threshold")
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            why = (entry.get(name) or {}).get("note", "no threshold reached the target")
            raise ValueError(f"{source}: {detector} has no {name} threshold ({why}); choose "
                             "another target with fleck compare --target-precision / "
                             "--target-recall")
        values[name] = float(value)
    prevalence = (document.get("prevalence") or {}).get("value")
    targets = document.get("targets") or {}
    described = ", ".join(f"{label}: {metric} {value:g}" for label, t in targets.items()
                          for metric, value in t.items())
    return Thresholds(detector=detector, unsafe=values["unsafe"],
                      review=min(values["review"], values["unsafe"]), source=source,
                      prevalence=prevalence, targets=described, config=entry.get("config"))


def apply_thresholds(config: FleckConfig, thresholds: Thresholds) -> FleckConfig:
    """``config`` with the calibrated thresholds as its verdict, their origin in its notes.

    Parameters
    ----------
    config : FleckConfig
    thresholds : Thresholds
        From :func:`read_thresholds`.

    Returns
    -------
    FleckConfig
        The same configuration (same name, same scores) with ``verdict`` replaced.

    Examples
    --------
    >>> from fleck.config import FLECK_1996, provenance
    >>> t = Thresholds("fleck", unsafe=0.7, review=0.3, source="out/thresholds.json")
    >>> calibrated = apply_thresholds(FLECK_1996, t)
    >>> calibrated.verdict.unsafe_threshold, calibrated.verdict.review_threshold
    (0.7, 0.3)
    >>> provenance(calibrated.verdict, "unsafe_threshold")
    'calibrated: out/thresholds.json (fleck)'
    """
    where = f"calibrated: {thresholds.source} ({thresholds.detector}"
    if thresholds.targets:
        where += f"; {thresholds.targets}"
    if thresholds.prevalence is not None:
        where += f"; prevalence {thresholds.prevalence:g}"
    where += ")"
    notes = (("unsafe_threshold", where), ("review_threshold", where))
    return config.replace(verdict={"unsafe_threshold": thresholds.unsafe,
                                   "review_threshold": thresholds.review, "notes": notes})
