"""``FleckClassifier``: the detector as a scikit-learn estimator over images.

The rules are fixed (nothing is learnt): ``fit`` only records the classes, so the estimator
drops into scikit-learn's tools as a baseline: ``cross_val_predict``, ``Pipeline``,
``RocCurveDisplay.from_estimator``, ``cross_val_score``. ``X`` is a collection of images
(paths, encoded bytes, PIL images, RGB arrays, or an ``(n, M, N, 3)`` stack), one per sample;
``y`` holds 1 for nudity, 0 otherwise.

scikit-learn is optional: when it is installed the class derives from
``sklearn.base.ClassifierMixin`` and ``BaseEstimator`` (``clone``, tags, HTML repr); without it
a small stand-in gives the same ``get_params``/``set_params``/``score``, and ``fit``/``predict``
work the same.

>>> import numpy as np
>>> blue = np.full((64, 64, 3), (60, 90, 160), np.uint8)
>>> clf = FleckClassifier().fit([blue], [0])
>>> clf.predict([blue]), clf.predict_proba([blue]).shape
(array([0]), (1, 2))
"""

from __future__ import annotations

import inspect
import numbers
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from fleck.config import FleckConfig, get_config, with_working_size
from fleck.errors import ImageError

__all__ = ["FleckClassifier", "SKLEARN_AVAILABLE"]


class _StandInEstimator:
    """What the class needs of ``BaseEstimator`` and ``ClassifierMixin`` without scikit-learn."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any):
        """Set constructor parameters, as scikit-learn's ``set_params``; returns self."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if not _same(value, defaults.get(name))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``."""
        correct = np.asarray(self.predict(X)) == np.asarray(y)
        return float(np.average(correct, weights=sample_weight))


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and other odd parameter values
        return a is b


try:
    from sklearn.base import BaseEstimator, ClassifierMixin
except ImportError:  # scikit-learn is optional
    _BASES: tuple[type, ...] = (_StandInEstimator,)
else:
    _BASES = (ClassifierMixin, BaseEstimator)

#: Whether scikit-learn is installed: :class:`FleckClassifier` then derives from its
#: ``ClassifierMixin`` and ``BaseEstimator``.
SKLEARN_AVAILABLE: bool = _BASES[0] is not _StandInEstimator

ON_ERROR = ("raise", "nan")


class FleckClassifier(*_BASES):
    """The 1996 rule-based detector as a binary classifier (1 = nudity) of images.

    Parameters
    ----------
    config : str or FleckConfig
        Detector configuration: a name (``'fleck1996'``, ``'kapur'``, ``'fitted'``,
        ``'fitted_strict'``, ``'fleck_plus'``, optionally ``'<name>@<N>'``) or a
        :class:`fleck.FleckConfig`.
    n_jobs : int, optional
        Worker processes, as in scikit-learn: ``None`` or 1 runs in this process, ``-1`` uses
        every core, ``-2`` all but one. With more than one, images go to the worker pool of
        ``fleck scan`` (:func:`fleck.detect_many`), where a crashing image costs one error.
    working_size : int or 'native', optional
        Shrink images so that height + width equals this before the skin filter; ``None`` keeps
        the configuration's own (320 for ``'fleck1996'``), ``'native'`` means full size.
    on_error : {'raise', 'nan'}
        An image that cannot be read raises :class:`fleck.ImageError` (naming it as ``X[i]``
        or its path), or gets NaN scores, with a warning that counts them. ``predict`` then
        returns floats with NaN in place of the failed images' classes.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: known before ``fit`` too, since nothing is learnt.

    Notes
    -----
    ``decision_function`` is the detector's continuous score in [0, 1] and ``predict`` its
    decision, ``score >= 0.5`` (the configuration's threshold), so ROC curves drawn from the
    score pass through the decision's operating point. ``predict_proba`` is ``[1 - score,
    score]``: a ranking score, not a calibrated probability. Scores equal those of
    ``fleck scan`` on the same files.

    Examples
    --------
    >>> import numpy as np
    >>> blue = np.full((64, 64, 3), (60, 90, 160), np.uint8)
    >>> clf = FleckClassifier(n_jobs=None).fit([blue, blue], [0, 0])
    >>> clf.decision_function([blue]) < 0.5, clf.classes_
    (array([ True]), array([0, 1]))
    >>> FleckClassifier(on_error="nan").predict_proba([b"not an image"])  # doctest: +SKIP
    array([[nan, nan]])
    """

    classes_ = np.array([0, 1])

    def __init__(self, config: str | FleckConfig = "fleck1996", n_jobs: int | None = None,
                 working_size: int | str | None = None, on_error: str = "raise") -> None:
        self.config = config
        self.n_jobs = n_jobs
        self.working_size = working_size
        self.on_error = on_error

    # ------------------------------------------------------------------ scikit-learn API
    def fit(self, X, y=None):
        """Check the parameters and the labels; nothing is learnt. Returns self.

        Parameters
        ----------
        X : sequence of images
            Not looked at beyond its length (the rules are fixed).
        y : array-like of 0/1 (or bool), optional
            Labels, 1 = nudity; checked to be binary and as long as ``X``.

        Returns
        -------
        FleckClassifier

        Raises
        ------
        ValueError
            For labels other than 0/1, a length mismatch, no images, or bad parameters.

        Examples
        --------
        >>> FleckClassifier().fit(["a.jpg", "b.jpg"], [1, 0]).classes_
        array([0, 1])
        """
        self._resolve()
        _refuse_non_collections(X)
        labels = None if y is None else _labels(y)
        n = len(X) if hasattr(X, "__len__") else len(list(X))
        if n == 0:
            raise ValueError("X holds no images (0 samples)")
        if labels is not None and len(labels) != n:
            raise ValueError(f"X holds {n} images but y holds {len(labels)} labels")
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X) -> np.ndarray:
        """The detector's decision for each image: 1 (nudity) or 0.

        Parameters
        ----------
        X : sequence of images

        Returns
        -------
        ndarray of shape (n,)
            Integers; floats with NaN for failed images when ``on_error='nan'``.

        Examples
        --------
        >>> import numpy as np
        >>> FleckClassifier().predict([np.zeros((64, 64, 3), np.uint8)])
        array([0])
        """
        scores, decisions = self._run(X)
        if np.isnan(scores).any():
            return np.where(np.isnan(scores), np.nan, decisions.astype(float))
        return self.classes_[decisions.astype(int)]

    def predict_proba(self, X) -> np.ndarray:
        """``[1 - score, score]`` for each image (NaN rows for failed images with ``'nan'``).

        Parameters
        ----------
        X : sequence of images

        Returns
        -------
        ndarray of shape (n, 2)

        Examples
        --------
        >>> import numpy as np
        >>> FleckClassifier().predict_proba([np.zeros((64, 64, 3), np.uint8)]).sum(axis=1)
        array([1.])
        """
        scores, _ = self._run(X)
        return np.column_stack([1.0 - scores, scores])

    def decision_function(self, X) -> np.ndarray:
        """The detector's continuous score in [0, 1] for each image (``>= 0.5``: nudity).

        Parameters
        ----------
        X : sequence of images

        Returns
        -------
        ndarray of shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> float(FleckClassifier().decision_function([np.zeros((64, 64, 3), np.uint8)])[0])
        0.0
        """
        return self._run(X)[0]

    def __sklearn_is_fitted__(self) -> bool:
        return True  # the rules need no fitting

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.target_tags.required = False
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"requires_fit": False, "requires_y": False, "binary_only": True,
                "poor_score": True}

    # ------------------------------------------------------------------ the work
    def _resolve(self) -> tuple[FleckConfig, int]:
        """The configuration and the number of processes; ValueError for bad parameters."""
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got "
                             f"{self.on_error!r}")
        config = get_config(self.config)
        if self.working_size is not None:
            size = self.working_size
            if isinstance(size, str) and size.strip().lower() == "native":
                size = None
            elif isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 2:
                raise ValueError(f"working_size must be a number of pixels (height + width, "
                                 f"at least 2), 'native' or None, got {self.working_size!r}")
            config = with_working_size(config, None if size is None else int(size))
        return config, _processes(self.n_jobs)

    def _run(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(scores, decisions) of every image; NaN / False for failed ones (``'nan'``)."""
        config, processes = self._resolve()
        images = _images(X)
        scores = np.full(len(images), np.nan)
        decisions = np.zeros(len(images), bool)
        failures: list[ImageError] = []
        for i, result in enumerate(_detections(images, config, processes)):
            if isinstance(result, ImageError):
                if self.on_error == "raise":
                    raise result
                failures.append(result)
                continue
            scores[i], decisions[i] = result.score, result.decision
        if failures:
            warnings.warn(f"{len(failures)} of {len(images)} images could not be read and "
                          f"score NaN; the first: {failures[0]}", RuntimeWarning, stacklevel=3)
        return scores, decisions


def _processes(n_jobs: Any) -> int:
    """scikit-learn's reading of ``n_jobs``: None -> 1, -1 -> every core, -2 -> all but one."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    if n_jobs < 0:
        from fleck.parallel import resolve_jobs

        return max(1, resolve_jobs(None) + 1 + int(n_jobs))
    return int(n_jobs)


def _refuse_non_collections(X: Any) -> None:
    """TypeError for a single image or a sparse matrix in place of a collection of images."""
    from PIL import Image

    if isinstance(X, (str, os.PathLike, bytes, bytearray, Image.Image)) or hasattr(X, "read"):
        raise TypeError(f"X must be a collection of images, one per sample; got one "
                        f"{type(X).__name__} (wrap a single image in a list)")
    if type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("X is a sparse matrix: sparse input is not supported; X must be a "
                        "collection of images, one per sample")


def _images(X: Any) -> Sequence[Any]:
    """``X`` as a sequence of images, one per sample; ValueError for a table of numbers."""
    _refuse_non_collections(X)
    if hasattr(X, "iloc"):  # pandas: a Series of images, or a one-column DataFrame
        if getattr(X, "ndim", 1) == 2:
            if X.shape[1] != 1:
                raise ValueError(f"X is a table with {X.shape[1]} columns; pass the one column "
                                 "that holds the images (e.g. df['path'])")
            X = X.iloc[:, 0]
        return list(X)
    if not isinstance(X, np.ndarray) and not isinstance(X, Sequence):
        X = list(X)  # e.g. a generator
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1 and X.dtype.kind in "OUS":
            return list(X[:, 0])  # a column of paths (e.g. from a ColumnTransformer)
        if X.dtype.kind in "biuf" and X.ndim < 3:
            raise ValueError(f"X must hold images, one per sample; got a {X.ndim}-d array of "
                             f"numbers, shape {X.shape} (feature vectors are not images): pass "
                             "paths, bytes, PIL images, RGB arrays or an (n, M, N, 3) stack")
    return X


def _detections(images: Sequence[Any], config: FleckConfig, processes: int):
    """Detection or ImageError of each image, in order: here, or on the scan's worker pool."""
    if len(images) == 0:
        return
    if processes > 1:
        from fleck.batch import iter_detections

        for _, result in iter_detections(images, config=config,
                                         jobs=min(processes, len(images)), label="X"):
            yield result
        return
    from fleck.batch import payload
    from fleck.scan.worker import Worker

    worker = Worker(config, None)
    for i, image in enumerate(images):
        data, name = payload(image, i, "X")
        yield data if isinstance(data, ImageError) else worker.detect_one(data, name)


def _labels(y: Any) -> np.ndarray:
    """``y`` as a 1-d array of 0/1; ValueError for anything else (continuous, multiclass...)."""
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be one label per image (1-d), got shape {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError("Input y contains NaN or infinity")
        if (labels != np.round(labels)).any():
            raise ValueError("Unknown label type: continuous; y must hold 0/1 (or False/True) "
                             "labels, 1 = nudity")
    values = set(np.unique(labels).tolist()) if labels.dtype.kind in "biuf" else None
    if values is None or not values <= {0, 1}:
        found = sorted(map(str, np.unique(labels.astype(str))))[:5]
        raise ValueError("Only binary classification is supported: y must hold 0/1 (or "
                         f"False/True) labels, 1 = nudity; got {', '.join(found)}")
    return labels
