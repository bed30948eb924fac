"""Operating thresholds for moderation, chosen on a labelled sample: ``thresholds.json``.

For each score (fleck's and each CNN's) two thresholds are chosen:

* ``unsafe``: the lowest threshold whose precision is at least the target (default 0.9), i.e.
  the most images flagged while at least 9 in 10 flagged images are truly unsafe;
* ``review``: the highest threshold whose recall is at least the target (default 0.95), i.e.
  the smallest review queue that still holds 95 % of the unsafe images; capped at the unsafe
  threshold (an empty review band, never an inverted one).

Precision depends on how common unsafe images are. A labelled sample usually holds far more
of them than a real stream, so its precision is optimistic. With ``prevalence`` P, every
positive is weighted ``P / p`` and every negative ``(1 - P) / (1 - p)``, p being the sample's
share of positives: precisions, false-positive shares and the share of the stream flagged are
then those expected at prevalence P (recall and the false-positive *rate* do not change).

Each threshold comes with a percentile bootstrap interval: the images are resampled with
replacement and the threshold chosen again on each resample (``low``/``high``; ``n`` counts the
resamples on which the target could be reached). :func:`calibrate` returns the document
``fleck compare`` writes; :func:`fleck.verdict.read_thresholds` reads it back.

>>> import numpy as np
>>> y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
>>> s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
>>> threshold_for_precision(y, s, 0.9), threshold_for_recall(y, s, 0.95)
(0.6, 0.4)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fleck.compare import metrics as M
from fleck.verdict import THRESHOLDS_SCHEMA

__all__ = ["ThresholdTargets", "prevalence_weights", "threshold_for_precision",
           "threshold_for_recall", "rates_at", "calibrate"]


@dataclass(frozen=True)
class ThresholdTargets:
    """What the two thresholds must reach (the defaults of ``fleck compare``).

    >>> ThresholdTargets(precision=0.8).recall
    0.95
    """

    precision: float = 0.9
    """``unsafe``: at least 9 flagged images in 10 are unsafe (at the given prevalence)."""
    recall: float = 0.95
    """``review``: at least 95 % of the unsafe images reach review or unsafe."""

    def __post_init__(self) -> None:
        for name in ("precision", "recall"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"the target {name} must lie in (0, 1], got {value}")


def prevalence_weights(y: ArrayLike, prevalence: float | None) -> np.ndarray:
    """Per-image weights that move the sample's share of positives to ``prevalence``.

    Parameters
    ----------
    y : (n,) bool array_like
        True for positive (unsafe) images.
    prevalence : float or None
        Share of positives wanted, strictly between 0 and 1; None keeps the sample's (all
        weights 1).

    Returns
    -------
    (n,) float ndarray
        ``prevalence / p`` for positives, ``(1 - prevalence) / (1 - p)`` for negatives, p the
        sample's share of positives.

    Raises
    ------
    ValueError
        For a prevalence outside (0, 1), or a sample with a single class.

    Examples
    --------
    >>> prevalence_weights([1, 0, 0, 0], 0.05).round(4).tolist()
    [0.2, 1.2667, 1.2667, 1.2667]
    """
    y = np.asarray(y, bool)
    weights = np.ones(len(y))
    if prevalence is None or len(y) == 0:
        return weights
    if not 0 < prevalence < 1:
        raise ValueError(f"prevalence must lie strictly between 0 and 1, got {prevalence}")
    share = y.mean()
    if share in (0.0, 1.0):
        raise ValueError("re-weighting to a prevalence needs both positive and negative images")
    weights[y] = prevalence / share
    weights[~y] = (1 - prevalence) / (1 - share)
    return weights


class _Curve:
    """One score sorted once; thresholds chosen under any weighting (bootstrap) in O(n)."""

    def __init__(self, y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> None:
        self.sorted = M._SortedScores(y, score)
        self.weights = weights

    def choose(self, kind: str, target: float, draws: np.ndarray | None = None
               ) -> float | None:
        weights = self.weights if draws is None else self.weights * draws
        tps, fps = self.sorted.counts(weights)
        # Only scores present in the (re)sample are thresholds: another value between two of
        # them would give the same predictions under a different number.
        totals = tps + fps
        present = np.diff(np.r_[0.0, totals]) > 0
        if kind == "precision":
            precision = np.divide(tps, totals, out=np.zeros_like(tps), where=totals > 0)
            ok = np.nonzero(present & (precision >= target - 1e-12))[0]
            return float(self.sorted.thresholds[ok[-1]]) if len(ok) else None
        if len(tps) == 0 or tps[-1] <= 0:
            return None
        ok = np.nonzero(present & (tps / tps[-1] >= target - 1e-12))[0]
        return float(self.sorted.thresholds[ok[0]]) if len(ok) else None


def threshold_for_precision(y: ArrayLike, score: ArrayLike, target: float, *,
                            sample_weight: ArrayLike | None = None) -> float | None:
    """The lowest threshold whose (weighted) precision is at least ``target``.

    Parameters
    ----------
    y : (n,) bool array_like
        True for positive images.
    score : (n,) float array_like
        A prediction is positive when ``score >= threshold``.
    target : float
        Precision to reach.
    sample_weight : (n,) array_like, optional
        Per-image weights (e.g. :func:`prevalence_weights`).

    Returns
    -------
    float or None
        One of the scores; None when no threshold reaches the target.

    Examples
    --------
    >>> threshold_for_precision([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.6)
    0.3
    """
    y, score, weights = _arrays(y, score, sample_weight)
    return _Curve(y, score, weights).choose("precision", target)


def threshold_for_recall(y: ArrayLike, score: ArrayLike, target: float, *,
                         sample_weight: ArrayLike | None = None) -> float | None:
    """The highest threshold whose recall is at least ``target``.

    Parameters
    ----------
    y : (n,) bool array_like
        True for positive images.
    score : (n,) float array_like
        A prediction is positive when ``score >= threshold``.
    target : float
        Recall to reach.
    sample_weight : (n,) array_like, optional
        Per-image weights (weights equal within the positives, as prevalence weights are, leave
        recall unchanged).

    Returns
    -------
    float or None
        One of the scores; None without positives.

    Examples
    --------
    >>> threshold_for_recall([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.5)
    0.8
    """
    y, score, weights = _arrays(y, score, sample_weight)
    return _Curve(y, score, weights).choose("recall", target)


def _arrays(y, score, sample_weight):
    y = M._as_labels(y)
    return y, M._as_scores(score, len(y)), M._as_weights(sample_weight, len(y))


def rates_at(y: ArrayLike, score: ArrayLike, threshold: float,
             weights: np.ndarray) -> dict[str, float | None]:
    """Precision, recall, false-positive rate and share flagged at ``threshold``.

    Parameters
    ----------
    y : (n,) bool array_like
        True for positive images.
    score : (n,) float array_like
        A prediction is positive when ``score >= threshold``.
    threshold : float
    weights : (n,) float ndarray
        Per-image weights (e.g. :func:`prevalence_weights`).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``fpr`` (None where undefined) and ``flagged``, the weighted
        share of images at or above ``threshold``.

    Examples
    --------
    >>> rates_at([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.5, np.ones(4))["flagged"]
    0.5
    """
    y = M._as_labels(y)
    predicted = np.asarray(score) >= threshold
    rates = M.binary_metrics(y, predicted, sample_weight=weights)
    total = float(np.sum(weights))
    flagged = float(np.sum(weights[predicted]) / total) if total > 0 else None
    return {"precision": rates["precision"], "recall": rates["recall"], "fpr": rates["fpr"],
            "flagged": flagged}


def _pair(curve: _Curve, targets: ThresholdTargets, draws: np.ndarray | None
          ) -> tuple[float | None, float | None, bool]:
    """(unsafe, review, capped) on one (re)sample; review is never above unsafe."""
    unsafe = curve.choose("precision", targets.precision, draws)
    review = curve.choose("recall", targets.recall, draws)
    if unsafe is not None and review is not None and review > unsafe:
        return unsafe, unsafe, True
    return unsafe, review, False


def calibrate(y: ArrayLike, scores: Mapping[str, np.ndarray], *,
              targets: ThresholdTargets = ThresholdTargets(), prevalence: float | None = None,
              n_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95) -> dict:
    """The thresholds document for every score in ``scores`` (see the module docstring).

    Parameters
    ----------
    y : (n,) bool array-like
        True for unsafe images.
    scores : mapping name -> (n,) float array
    targets : ThresholdTargets
    prevalence : float, optional
        Share of unsafe images in the stream the thresholds are for (default: the sample's).
    n_bootstrap, seed, confidence
        Resamples, seed and level of the percentile intervals (0 resamples: no intervals).

    Returns
    -------
    dict
        ``{"schema", "prevalence", "targets", "bootstrap", "sample", "detectors": {name:
        {"unsafe": {...}, "review": {...}, "review_share": ...}}}``; each threshold entry holds
        ``threshold`` (None when the target is out of reach, with a ``note``), ``low``, ``high``,
        ``n`` and the rates there (precision, recall, fpr, flagged).

    Examples
    --------
    >>> y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    >>> s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    >>> doc = calibrate(y, {"fleck": s}, n_bootstrap=50)
    >>> doc["detectors"]["fleck"]["unsafe"]["threshold"], doc["prevalence"]["value"]
    (0.6, 0.5)
    """
    y = M._as_labels(y)
    weights = prevalence_weights(y, prevalence)
    sample_share = float(y.mean()) if len(y) else None
    rng = np.random.default_rng(seed)
    draws = [np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float)
             for _ in range(n_bootstrap if len(y) else 0)]
    tail = 100 * (1 - confidence) / 2
    detectors = {}
    for name, score in scores.items():
        score = M._as_scores(score, len(y))
        curve = _Curve(y, score, weights)
        chosen = [_pair(curve, targets, None)] + [_pair(curve, targets, d) for d in draws]
        entries = {}
        for k, (label, kind, target) in enumerate((("unsafe", "precision", targets.precision),
                                                   ("review", "recall", targets.recall))):
            threshold = chosen[0][k]
            again = [pair[k] for pair in chosen[1:] if pair[k] is not None]
            low, high = (np.percentile(again, [tail, 100 - tail]).tolist() if again
                         else (None, None))
            entry = {"threshold": threshold, "low": low, "high": high, "n": len(again),
                     "target": {kind: target}}
            if threshold is None:
                entry["note"] = (f"no threshold reaches {kind} {target:g} on this sample"
                                 + ("" if prevalence is None else f" at prevalence {prevalence:g}"))
            else:
                entry.update(rates_at(y, score, threshold, weights))
            entries[label] = entry
        unsafe = entries["unsafe"]["threshold"]
        if unsafe is not None and chosen[0][2]:
            entries["review"]["note"] = (f"recall {targets.recall:g} is reached above the unsafe "
                                         "threshold: no review band")
        if unsafe is not None and entries["review"]["threshold"] is not None:
            band = (score >= entries["review"]["threshold"]) & (score < unsafe)
            entries["review_share"] = float(np.sum(weights[band]) / np.sum(weights))
        detectors[name] = entries
    return {
        "schema": THRESHOLDS_SCHEMA,
        "prevalence": {"value": prevalence if prevalence is not None else sample_share,
                       "sample": sample_share, "given": prevalence is not None},
        "targets": {"unsafe": {"precision": targets.precision},
                    "review": {"recall": targets.recall}},
        "bootstrap": {"n_resamples": n_bootstrap, "seed": seed, "confidence": confidence},
        "sample": {"n": int(len(y)), "positives": int(y.sum()), "negatives": int((~y).sum())},
        "detectors": detectors,
    }
