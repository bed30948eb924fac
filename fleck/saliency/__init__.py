"""Where the detectors look: saliency maps of the CNN peers beside fleck's own evidence.

:func:`explain` returns a map at the image's size (float32, higher = more important) for one
model and one method:

``deconvnet``, ``guided_backprop``
    gradients of the CNN's target with the backward rule of each hidden activation replaced
    (Zeiler & Fergus 2014; Springenberg et al. 2015), summed over colour channels as absolute
    values: sharp, pixel-level maps;
``gradcam``
    Grad-CAM (Selvaraju et al. 2017) at the CNN's last feature map before its head: coarse
    regions;
``occlusion``
    the mean drop in score when a window covering the pixel is painted grey
    (:func:`fleck.occlusion.occlusion_map`): model-agnostic and blurry; may be negative where
    hiding raises the score.

The three gradient methods run the peers' own ONNX weights with PyTorch (extra
``fleck[saliency]``; the models themselves come with ``fleck[cnn]``). Before a map is returned,
the PyTorch run is checked against onnxruntime: probabilities and score must agree within
``1e-4`` (:data:`fleck.saliency.peers.TOLERANCE`), else :class:`ConversionMismatchError`.

For ``model="fleck"`` the gradient methods all return fleck's own evidence (see
:func:`evidence_map`): 1/3 on skin, 2/3 on the ribbons of its segments, 1 on the ribbons of the
group that decided. ``occlusion`` works for every model without the saliency extra.

>>> import numpy as np
>>> image = np.full((60, 80, 3), (200, 150, 120), np.uint8)
>>> result = explain(image, model="fleck", method="gradcam")
>>> result.map.shape, result.map.dtype.name, np.asarray(result).shape
((60, 80), 'float32', (60, 80))
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleck.errors import ImageError

__all__ = ["explain", "explain_all", "Explanation", "evidence_map", "MODELS", "METHODS",
           "GRADIENT_METHODS", "SaliencyUnavailableError", "saliency_available",
           "occlusion_settings"]

MODELS = ("open_nsfw", "nudenet", "fleck")
GRADIENT_METHODS = ("deconvnet", "guided_backprop", "gradcam")
METHODS = (*GRADIENT_METHODS, "occlusion")


class SaliencyUnavailableError(ImportError):
    """PyTorch or onnx (the ``saliency`` extra) is not installed."""


def saliency_available() -> str | None:
    """None when the gradient methods can run, else the reason they cannot.

    >>> saliency_available() is None or "fleck[saliency]" in saliency_available()
    True
    """
    import importlib
    for package in ("torch", "onnx"):
        try:
            importlib.import_module(package)
        except ImportError as err:
            return (f"gradient maps need `pip install fleck[saliency]` ({package} could not be "
                    f"imported: {err})")
    return None


def _peer(model: str, threads: int | None):
    reason = saliency_available()
    if reason:
        raise SaliencyUnavailableError(reason)
    from fleck.saliency.peers import get_peer
    return get_peer(model, threads=threads)


@dataclass(frozen=True, eq=False)
class Explanation:
    """One saliency map and what it explains.

    Attributes
    ----------
    map : (M, N) float32 ndarray
        At the image's size; higher = more important. ``np.asarray(explanation)`` gives it.
    model, method : str
    score : float
        The model's score of the image (as ``fleck.cnn`` / ``fleck.detect`` report it).
    target : str
        What the map explains (e.g. the log-odds of open_nsfw's nsfw probability).
    target_value : float
    check : dict or None
        For the CNN gradient methods: agreement of the PyTorch run with onnxruntime
        (``max_delta``, ``score_delta``, ``score_onnx``, ``score_torch``).
    seconds : float
        Wall-clock time of this map (a share of the forward pass when maps were made
        together by :func:`explain_all`).
    details : dict
        Method-specific extras: the network-input map (``input_map``), the
        :class:`fleck.occlusion.OcclusionMap`, or the fleck ``Detection``.
    """

    map: np.ndarray
    model: str
    method: str
    score: float
    target: str
    target_value: float
    check: dict | None = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict, repr=False)

    def __array__(self, dtype=None, copy=None):
        return self.map if dtype is None else self.map.astype(dtype)

    def summary(self) -> dict[str, Any]:
        """JSON-able description (no arrays)."""
        return {"model": self.model, "method": self.method, "score": self.score,
                "target": self.target, "target_value": self.target_value, "check": self.check,
                "seconds": round(self.seconds, 4), "height": int(self.map.shape[0]),
                "width": int(self.map.shape[1]), "map_min": float(self.map.min()),
                "map_max": float(self.map.max())}


def _as_image(image: Any) -> np.ndarray:
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ImageError("array", f"expected an (M, N, 3) RGB uint8 array, got "
                                      f"{image.dtype} {image.shape}")
        return np.ascontiguousarray(image)
    from fleck.loading import load_image
    return load_image(image)


def _check_names(model: str, methods: Sequence[str]) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")


def explain(image: Any, model: str = "open_nsfw", method: str = "gradcam", *,
            threads: int | None = None, check: bool = True,
            occlusion: dict | None = None) -> Explanation:
    """A saliency map of ``model`` on ``image`` by ``method``, at the image's size.

    Parameters
    ----------
    image : (M, N, 3) RGB uint8 ndarray, or anything ``fleck.load_image`` accepts
    model : {"open_nsfw", "nudenet", "fleck"}
    method : {"deconvnet", "guided_backprop", "gradcam", "occlusion"}
    threads : int, optional
        onnxruntime threads of the CNN (PyTorch uses ``torch.get_num_threads()``).
    check : bool
        Compare the PyTorch run with onnxruntime first (CNN gradient methods).
    occlusion : dict, optional
        Keyword arguments for :func:`fleck.occlusion.occlusion_map` (window, stride, fill,
        working_size, jobs); defaults from :func:`occlusion_settings`.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        Unknown model or method.
    SaliencyUnavailableError
        A CNN gradient method without ``fleck[saliency]``.
    fleck.cnn.CnnUnavailableError
        A CNN model without ``fleck[cnn]``.
    ConversionMismatchError
        The PyTorch run disagrees with onnxruntime by more than 1e-4.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 50, 3), np.uint8)
    >>> float(explain(image, model="fleck", method="deconvnet").map.max())  # no skin
    0.0
    """
    return explain_all(image, model=model, methods=(method,), threads=threads, check=check,
                       occlusion=occlusion)[method]


def explain_all(image: Any, model: str = "open_nsfw", methods: Sequence[str] = GRADIENT_METHODS,
                *, threads: int | None = None, check: bool = True,
                occlusion: dict | None = None) -> dict[str, Explanation]:
    """Several maps of one model on one image; the gradient methods share one forward pass.

    Parameters and errors as :func:`explain`; returns ``{method: Explanation}``.

    Examples
    --------
    >>> import numpy as np
    >>> maps = explain_all(np.zeros((30, 30, 3), np.uint8), "fleck", ["gradcam", "deconvnet"])
    >>> sorted(maps)
    ['deconvnet', 'gradcam']
    """
    methods = list(dict.fromkeys(methods))
    _check_names(model, methods)
    rgb = _as_image(image)
    out: dict[str, Explanation] = {}
    gradient = [m for m in methods if m in GRADIENT_METHODS]
    if gradient and model == "fleck":
        out.update(_fleck_evidence(rgb, gradient))
    elif gradient:
        out.update(_cnn_gradients(rgb, model, gradient, threads=threads, check=check))
    if "occlusion" in methods:
        out["occlusion"] = _occlusion(rgb, model, threads=threads, options=occlusion)
    return {m: out[m] for m in methods}


def _cnn_gradients(rgb, model, methods, *, threads, check) -> dict[str, Explanation]:
    peer = _peer(model, threads)
    result = peer.attribute(rgb, methods, check=check)
    shared = result.seconds.get("prepare", 0) + result.seconds.get("forward", 0)
    out = {}
    for method in methods:
        values = result.maps[method]
        full = peer.to_image(values, result.geometry, rgb.shape[:2])
        out[method] = Explanation(
            map=full, model=model, method=method, score=result.score,
            target=result.target_name, target_value=result.target, check=result.check,
            seconds=result.seconds[method] + shared / len(methods),
            details={"input_map": values, "geometry": result.geometry})
    return out


def evidence_map(detection, shape: tuple[int, int] | None = None) -> np.ndarray:
    """fleck's evidence as a map: 1/3 skin, 2/3 segment ribbons, 1 the deciding group's ribbons.

    Parameters
    ----------
    detection : fleck.detector.Detection
    shape : (int, int), optional
        Output size; default the detected image's.

    Returns
    -------
    (M, N) float32 ndarray in [0, 1]

    Examples
    --------
    >>> import numpy as np, fleck
    >>> image = np.zeros((40, 60, 3), np.uint8); image[10:30, 20:40] = (200, 150, 120)
    >>> m = evidence_map(fleck.detect(image))
    >>> m.shape, float(m[0, 0])
    ((40, 60), 0.0)
    """
    import cv2

    rows, cols = shape or tuple(int(v) for v in detection.image_size)
    out = detection.mask_at((rows, cols)).astype(np.float32) / 3.0
    sy, sx = rows / detection.image_size[0], cols / detection.image_size[1]

    def ribbons(segments) -> np.ndarray:
        layer = np.zeros((rows, cols), np.uint8)
        for segment in segments:
            corners = (segment.ribbon() + 0.5) * (sx, sy) - 0.5
            cv2.fillPoly(layer, [np.round(corners).astype(np.int32)], 1)
        return layer.astype(bool)

    out[ribbons(detection.segments)] = np.maximum(out, 2 / 3)[ribbons(detection.segments)]
    deciding = detection.deciding_group
    if deciding is not None and 0 <= deciding < len(detection.groups):
        members = set(detection.groups[deciding].segments)
        out[ribbons([s for s in detection.segments if s.index in members])] = 1.0
    return out


def _fleck_evidence(rgb, methods) -> dict[str, Explanation]:
    from fleck.detector import detect

    started = time.perf_counter()
    detection = detect(rgb)
    values = evidence_map(detection, rgb.shape[:2])
    seconds = time.perf_counter() - started
    target = "fleck's evidence: skin 1/3, segment ribbons 2/3, deciding group's ribbons 1"
    return {m: Explanation(map=values, model="fleck", method=m, score=float(detection.score),
                           target=target, target_value=float(detection.score),
                           seconds=seconds, details={"detection": detection})
            for m in methods}


def occlusion_settings(shape: tuple[int, int], model: str) -> dict[str, Any]:
    """Default occlusion window (1/6 of the shorter side), stride (half a window), grey fill.

    >>> occlusion_settings((480, 640), "open_nsfw")
    {'window': 80, 'stride': 40, 'fill': 'grey', 'jobs': 1}
    """
    window = max(4, round(min(shape) / 6))
    return {"window": window, "stride": max(1, window // 2), "fill": "grey",
            "jobs": 1 if model != "fleck" else 0}


def _occlusion(rgb, model, *, threads, options) -> Explanation:
    from fleck.occlusion import occlusion_map

    settings = {**occlusion_settings(rgb.shape[:2], model), **(options or {})}
    if model == "fleck":
        score_fn: Any = "fleck"
        target = "fleck's score"
        score = None
    else:
        from fleck.saliency.peers import get_peer  # onnxruntime only: no PyTorch needed

        peer = get_peer(model, threads=threads)
        score_fn = peer.continuous_scores
        target = ("open_nsfw's nsfw probability" if model == "open_nsfw" else
                  "NudeNet's highest exposed-class probability over all anchors")
        score = peer.score(rgb)
    batched = model != "fleck"
    result = occlusion_map(rgb, score_fn, variant="occlude", batched=batched, **settings)
    drop = (result.map - (1.0 - result.base_score)).astype(np.float32)
    return Explanation(map=drop, model=model, method="occlusion",
                       score=float(result.base_score if score is None else score),
                       target=f"mean drop of {target} when a window covering the pixel is grey",
                       target_value=result.base_score, seconds=result.elapsed,
                       details={"occlusion": result})
