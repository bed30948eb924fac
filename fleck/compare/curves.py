"""Score curves in numpy: ROC and precision-recall curves, their areas, matched thresholds.

Definitions follow scikit-learn so that numbers can be checked against it (the tests do):

* ``roc_auc`` is the trapezoidal area under the ROC curve built from every distinct score, so
  tied scores count half (as ``sklearn.metrics.roc_auc_score``).
* ``average_precision`` (our "PR AUC") is ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score
  thresholds in decreasing order, without interpolation (as
  ``sklearn.metrics.average_precision_score``); it is *not* the trapezoidal area under the PR
  curve.
* A prediction is positive when ``score >= threshold``.

Every name here is also importable from :mod:`fleck.compare.metrics`.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8])
>>> roc_auc(y, s)
0.75
>>> round(average_precision(y, s), 4)
0.8333
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["roc_curve", "precision_recall_curve", "roc_auc", "average_precision",
           "threshold_for_recall", "threshold_for_fpr"]


def _as_labels(y_true, name: str = "y_true") -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {y.shape}")
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"`{name}` must hold 0/1 or booleans, got values {np.unique(y)[:5]}")
        y = y.astype(bool)
    return y


def _as_scores(score, n: int) -> np.ndarray:
    s = np.asarray(score, dtype=float)
    if s.shape != (n,):
        raise ValueError(f"`score` must have shape ({n},) like `y_true`, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("`score` must be finite (drop unscored images before computing metrics)")
    return s


def _as_weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"`sample_weight` must have shape ({n},), got {w.shape}")
    return w


class _SortedScores:
    """One score vector sorted once, so curves under many weightings (bootstrap) stay O(n)."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        self.order = np.argsort(score, kind="mergesort")[::-1]
        sorted_score = score[self.order]
        self.y_sorted = y[self.order].astype(float)
        # The last index of each run of equal scores: ties enter the curve together.
        distinct = np.nonzero(np.diff(sorted_score))[0]
        self.ends = np.r_[distinct, len(score) - 1]
        self.thresholds = sorted_score[self.ends]

    def counts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = weights[self.order]
        positive = w * self.y_sorted
        tps = np.cumsum(positive)[self.ends]
        fps = np.cumsum(w - positive)[self.ends]
        return tps, fps


def _roc_auc_from_counts(tps: np.ndarray, fps: np.ndarray) -> float | None:
    if len(tps) == 0 or tps[-1] <= 0 or fps[-1] <= 0:
        return None
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(_trapezoid(tpr, fpr))


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """The trapezoidal rule as ``np.trapezoid`` computes it (which NumPy 1.x does not have).

    >>> float(_trapezoid(np.array([0.0, 1.0]), np.array([0.0, 1.0])))
    0.5
    """
    return np.add.reduce(np.diff(x) * (y[1:] + y[:-1]) / 2.0)


def _average_precision_from_counts(tps: np.ndarray, fps: np.ndarray) -> float | None:
    if len(tps) == 0 or tps[-1] <= 0:
        return None
    predicted = tps + fps
    # Points whose every image has zero weight (possible in a bootstrap) add no recall.
    precision = np.divide(tps, predicted, out=np.ones_like(tps), where=predicted > 0)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _cumulative(y_true, score, sample_weight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (decreasing) and the weighted true and false positives at each."""
    y = _as_labels(y_true)
    sorted_scores = _SortedScores(y, _as_scores(score, len(y)))
    tps, fps = sorted_scores.counts(_as_weights(sample_weight, len(y)))
    return sorted_scores.thresholds, tps, fps


def roc_curve(y_true: ArrayLike, score: ArrayLike, *, sample_weight: ArrayLike | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds, from ``(0, 0)`` at ``+inf``.

    Every distinct score is a threshold (no points are dropped). Raises ValueError when
    ``y_true`` holds a single class, because one of the rates is then undefined.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    fpr, tpr, thresholds : float ndarrays
        One point per distinct score, as ``sklearn.metrics.roc_curve(drop_intermediate=False)``.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 1], [0.2, 0.9])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])
    """
    thresholds, tps, fps = _cumulative(y_true, score, sample_weight)
    if len(tps) == 0 or tps[-1] <= 0 or fps[-1] <= 0:
        raise ValueError("a ROC curve needs both positive and negative images")
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]], np.r_[np.inf, thresholds]


def precision_recall_curve(y_true: ArrayLike, score: ArrayLike, *,
                           sample_weight: ArrayLike | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds in increasing-threshold order, ending at ``(1, 0)``.

    Same layout as ``sklearn.metrics.precision_recall_curve``. Raises ValueError without positives.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    precision, recall, thresholds : float ndarrays
        As ``sklearn.metrics.precision_recall_curve``.

    Examples
    --------
    >>> p, r, t = precision_recall_curve([0, 1], [0.2, 0.9])
    >>> p.tolist(), r.tolist(), t.tolist()
    ([0.5, 1.0, 1.0], [1.0, 1.0, 0.0], [0.2, 0.9])
    """
    thresholds, tps, fps = _cumulative(y_true, score, sample_weight)
    if len(tps) == 0 or tps[-1] <= 0:
        raise ValueError("a precision-recall curve needs positive images")
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.ones_like(tps), where=predicted > 0)
    recall = tps / tps[-1]
    return (np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0],
            thresholds[::-1].copy())


def roc_auc(y_true: ArrayLike, score: ArrayLike, *,
            sample_weight: ArrayLike | None = None) -> float | None:
    """Area under the ROC curve (ties count half); ``None`` with a single class.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    float or None

    Examples
    --------
    >>> roc_auc([0, 1, 0, 1], [0.2, 0.9, 0.4, 0.4])
    0.875
    """
    return _roc_auc_from_counts(*_cumulative(y_true, score, sample_weight)[1:])


def average_precision(y_true: ArrayLike, score: ArrayLike, *,
                      sample_weight: ArrayLike | None = None) -> float | None:
    """Average precision, sklearn's step definition; ``None`` without positives.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    sample_weight : array_like, optional
        One weight per image (the bootstrap's resampling counts).

    Returns
    -------
    float or None

    Examples
    --------
    >>> average_precision([0, 1, 1], [0.1, 0.9, 0.5])
    1.0
    """
    return _average_precision_from_counts(*_cumulative(y_true, score, sample_weight)[1:])


def threshold_for_recall(y_true: ArrayLike, score: ArrayLike,
                         target_recall: float | None) -> float | None:
    """The highest threshold whose recall (``score >= threshold``) is at least ``target_recall``.

    Candidates are the distinct scores, so the lowest score (recall 1) always qualifies.
    ``None`` when there are no positives or no target.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    target_recall : float or None
        The recall to reach (None gives None).

    Returns
    -------
    float or None
        A score value; None without positives or target.

    Examples
    --------
    >>> threshold_for_recall([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.5)
    0.8
    >>> threshold_for_recall([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.6)
    0.3
    """
    if target_recall is None:
        return None
    thresholds, tps, _ = _cumulative(y_true, score, None)
    if len(tps) == 0 or tps[-1] <= 0:
        return None
    reaches = tps / tps[-1] >= target_recall - 1e-12
    return float(thresholds[np.argmax(reaches)])


def threshold_for_fpr(y_true: ArrayLike, score: ArrayLike,
                      target_fpr: float | None) -> float | None:
    """The lowest threshold whose false-positive rate is at most ``target_fpr``.

    That is the most permissive threshold (highest recall) that does not exceed the target. When
    even the highest score gives too many false positives, the threshold is just above the highest
    score (nothing predicted positive, FPR 0). ``None`` without negatives or target.

    Parameters
    ----------
    y_true : array_like of bool or 0/1
        Labels (True = positive, NSFW).
    score : array_like of float
        Continuous scores; a prediction is positive when ``score >= threshold``.
    target_fpr : float or None
        The false-positive rate not to exceed (None gives None).

    Returns
    -------
    float or None
        A score value (or ``inf`` when even the top score is a negative's); None without
        negatives or target.

    Examples
    --------
    >>> threshold_for_fpr([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.5)
    0.3
    >>> threshold_for_fpr([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.5], 0.0)
    0.8
    """
    if target_fpr is None:
        return None
    thresholds, _, fps = _cumulative(y_true, score, None)
    if len(fps) == 0 or fps[-1] <= 0:
        return None
    within = np.nonzero(fps / fps[-1] <= target_fpr + 1e-12)[0]
    if len(within) == 0:
        return float(np.nextafter(thresholds[0], np.inf))
    return float(thresholds[within[-1]])
