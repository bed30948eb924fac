"""Detector metrics in numpy: confusion counts, ROC/PR curves, thresholds, bootstrap, McNemar.

Definitions follow scikit-learn so that numbers can be checked against it (the tests do). The
score curves, their areas and the matched thresholds live in :mod:`fleck.compare.curves` and
are importable from here too. A prediction is positive when ``score >= threshold``.

Undefined values (recall without positives, false-positive rate without negatives, precision with
no predicted positives, an AUC with a single class) are ``None``, never an exception, never 0.

>>> rates = binary_metrics([1, 1, 0, 0], [1, 0, 0, 0])
>>> rates["precision"], rates["recall"], rates["fpr"]
(1.0, 0.5, 0.0)
>>> binary_metrics([0, 0], [0, 0])["recall"] is None  # no positives: recall is undefined
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fleck.compare.curves import (
    _as_labels,
    _as_scores,
    _as_weights,
    _average_precision_from_counts,
    _roc_auc_from_counts,
    _SortedScores,
    average_precision,
    precision_recall_curve,
    roc_auc,
    roc_curve,
    threshold_for_fpr,
    threshold_for_recall,
)

__all__ = ["METRIC_NAMES", "CURVE_METRIC_NAMES", "Counts", "confusion_counts", "binary_metrics",
           "roc_curve", "precision_recall_curve", "roc_auc", "average_precision",
           "threshold_for_recall", "threshold_for_fpr", "bootstrap_intervals", "mcnemar_exact",
           "summarise"]

METRIC_NAMES = ("precision", "recall", "f1", "fpr", "accuracy")
CURVE_METRIC_NAMES = ("roc_auc", "average_precision")


@dataclass(frozen=True)
class Counts:
    """Confusion counts (floats when sample weights were used).

    Examples
    --------
    >>> Counts(tp=3, fp=1, tn=5, fn=1).rates()["precision"]
    0.75
    """

    tp: float
    fp: float
    tn: float
    fn: float

    @property
    def n(self) -> float:
        return self.tp + self.fp + self.tn + self.fn

    def rates(self) -> dict[str, float | None]:
        """Precision, recall, F1, false-positive rate and accuracy; ``None`` where undefined.

        >>> Counts(tp=3, fp=1, tn=4, fn=0).rates()["precision"]
        0.75
        >>> Counts(tp=0, fp=1, tn=4, fn=0).rates()["recall"] is None
        True
        """
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        return {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "fpr": _ratio(fp, fp + tn),
            "accuracy": _ratio(tp + tn, self.n),
        }

    def to_dict(self) -> dict[str, float]:
        return {"tp": _num(self.tp), "fp": _num(self.fp), "tn": _num(self.tn), "fn": _num(self.fn)}


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike, *,
                     sample_weight: ArrayLike | None = None) -> Counts:
    """Confusion counts of binary predictions.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    y_pred : array_like of bool or 0/1
        Predictions.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    Counts

    Examples
    --------
    >>> confusion_counts([1, 0, 1, 0], [1, 1, 0, 0])
    Counts(tp=1.0, fp=1.0, tn=1.0, fn=1.0)
    """
    y = _as_labels(y_true)
    p = _as_labels(y_pred, "y_pred")
    if p.shape != y.shape:
        raise ValueError(f"`y_pred` must have shape {y.shape} like `y_true`, got {p.shape}")
    w = _as_weights(sample_weight, len(y))
    cells = np.bincount(2 * y.astype(int) + p.astype(int), weights=w, minlength=4)
    return Counts(tp=float(cells[3]), fp=float(cells[1]), tn=float(cells[0]), fn=float(cells[2]))


def binary_metrics(y_true: ArrayLike, y_pred: ArrayLike, *,
                   sample_weight: ArrayLike | None = None) -> dict[str, float | None]:
    """Precision, recall, F1, FPR and accuracy of binary predictions (``None`` when undefined).

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    y_pred : array_like of bool or 0/1
        Predictions.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``fpr``, ``accuracy`` (float or None).

    Examples
    --------
    >>> binary_metrics([1, 1, 0, 0], [1, 0, 0, 0])["recall"]
    0.5
    """
    return confusion_counts(y_true, y_pred, sample_weight=sample_weight).rates()


def bootstrap_intervals(y_true: ArrayLike, *, predictions: Mapping[str, np.ndarray] | None = None,
                        scores: Mapping[str, np.ndarray] | None = None,
                        n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95,
                        ) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Percentile bootstrap intervals, resampling images with replacement (paired across detectors).

    Every detector is evaluated on the same resamples. Resamples in which a metric is undefined
    (e.g. no positive drawn, so recall is undefined) are left out of that metric's interval; the
    number that counted is returned as ``n``. Thresholds are whatever produced ``predictions``:
    held fixed, so the interval does not include threshold-selection uncertainty.

    Returns ``{name: {metric: {"low": ..., "high": ..., "n": valid resamples}}}`` with metrics
    ``precision, recall, f1, fpr, accuracy`` for ``predictions`` and ``roc_auc,
    average_precision`` for ``scores``.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels.
    predictions : mapping of str to ndarray, optional
        Binary detectors: intervals of precision, recall, F1, FPR and accuracy.
    scores : mapping of str to ndarray, optional
        Continuous scores: intervals of ROC AUC and average precision.
    n_resamples : int
        Bootstrap resamples (0: every interval is None).
    seed : int
        Seed of the resampling.
    confidence : float
        Coverage of the percentile interval.

    Returns
    -------
    dict
        ``{name: {metric: {"low": float or None, "high": float or None}}}``.

    Examples
    --------
    >>> r = bootstrap_intervals([0, 1, 0, 1], predictions={"a": [0, 1, 1, 1]}, n_resamples=50)
    >>> sorted(r["a"])
    ['accuracy', 'f1', 'fpr', 'precision', 'recall']
    """
    y = _as_labels(y_true)
    n = len(y)
    predictions = {k: _as_labels(v, f"predictions[{k!r}]") for k, v in (predictions or {}).items()}
    sorted_scores = {k: _SortedScores(y, _as_scores(v, n)) for k, v in (scores or {}).items()}
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must lie in (0, 1), got {confidence}")
    cells = {k: 2 * y.astype(int) + p.astype(int) for k, p in predictions.items()}
    # A name may have both binary predictions and a score (e.g. fleck's decision and score).
    samples: dict[str, dict[str, list[float]]] = {}
    for k in predictions:
        samples.setdefault(k, {}).update({m: [] for m in METRIC_NAMES})
    for k in sorted_scores:
        samples.setdefault(k, {}).update({m: [] for m in CURVE_METRIC_NAMES})
    rng = np.random.default_rng(seed)
    if n > 0:
        for _ in range(n_resamples):
            # Resampling indices with replacement == weighting each image by its draw count.
            weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            for name, cell in cells.items():
                c = np.bincount(cell, weights=weights, minlength=4)
                rates = Counts(tp=c[3], fp=c[1], tn=c[0], fn=c[2]).rates()
                for metric, value in rates.items():
                    if value is not None:
                        samples[name][metric].append(value)
            for name, ss in sorted_scores.items():
                tps, fps = ss.counts(weights)
                for metric, value in (("roc_auc", _roc_auc_from_counts(tps, fps)),
                                      ("average_precision",
                                       _average_precision_from_counts(tps, fps))):
                    if value is not None:
                        samples[name][metric].append(value)
    tail = 100 * (1 - confidence) / 2
    out: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for name, per_metric in samples.items():
        out[name] = {}
        for metric, values in per_metric.items():
            if values:
                low, high = np.percentile(values, [tail, 100 - tail])
                out[name][metric] = {"low": float(low), "high": float(high), "n": len(values)}
            else:
                out[name][metric] = {"low": None, "high": None, "n": 0}
    return out


def mcnemar_exact(y_true: ArrayLike, pred_a: ArrayLike,
                  pred_b: ArrayLike) -> dict[str, float | int]:
    """McNemar's exact test: two-sided binomial test (p = 1/2) on the discordant pairs.

    ``a_only_correct`` counts images that detector A gets right and B wrong, ``b_only_correct``
    the reverse. With no discordant pair the p-value is 1.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels.
    pred_a, pred_b : array_like of bool or 0/1
        The two detectors' predictions on the same images.

    Returns
    -------
    dict
        ``a_only_correct``, ``b_only_correct``, ``p_value`` (and the counts it rests on).

    Examples
    --------
    >>> r = mcnemar_exact([1] * 10, [1, 1] + [0] * 8, [0, 0] + [1] * 8)
    >>> r["a_only_correct"], r["b_only_correct"], round(r["p_value"], 6)
    (2, 8, 0.109375)
    """
    from scipy.stats import binomtest  # scipy is a core dependency; imported where needed

    y = _as_labels(y_true)
    a_right = _as_labels(pred_a, "pred_a") == y
    b_right = _as_labels(pred_b, "pred_b") == y
    a_only = int(np.sum(a_right & ~b_right))
    b_only = int(np.sum(b_right & ~a_right))
    discordant = a_only + b_only
    p_value = 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)
    return {"a_only_correct": a_only, "b_only_correct": b_only, "n_discordant": discordant,
            "p_value": min(1.0, p_value)}


def summarise(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, object]:
    """Counts and rates of binary predictions in one JSON-able dict.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels.
    y_pred : array_like of bool or 0/1
        Predictions.

    Returns
    -------
    dict
        The confusion counts and :func:`binary_metrics`.

    Examples
    --------
    >>> summarise([1, 0], [1, 1])["fp"], summarise([1, 0], [1, 1])["precision"]
    (1, 0.5)
    """
    counts = confusion_counts(y_true, y_pred)
    return {**counts.to_dict(), **counts.rates()}

