"""Evaluating a score function over every window position: :func:`occlusion_map`.

Images scored at each position are generated lazily, one batch at a time, in this process or
in worker processes of :class:`fleck.parallel.WorkerPool` (forked by default, so that any score
function, even a lambda, reaches the workers without pickling).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from fleck.errors import ImageError
from fleck.occlusion.geometry import coverage_counts, window_starts, window_sums
from fleck.parallel import WorkerPool, process_context, resolve_jobs
from fleck.skin import working_shape

__all__ = ["occlusion_map", "OcclusionMap", "OcclusionDefaults", "DEFAULTS", "VARIANTS",
           "NAMED_FILLS"]

VARIANTS = ("occlude", "window")
NAMED_FILLS = ("grey", "mean", "blur")


@dataclass(frozen=True)
class OcclusionDefaults:
    """Defaults of the occlusion machinery (presentation and speed choices, not detector rules).

    Examples
    --------
    >>> DEFAULTS.window, DEFAULTS.stride, DEFAULTS.fill
    (64, 3, (128, 128, 128))
    """

    window: int = 64  # Compton 2016: 64 x 64 window
    stride: int = 3  # Compton 2016: 3 px stride (~22,500 evaluations on 512 x 512)
    # Mid grey: a flat fill like the post's; it has zero saturation, so the skin filter (and a
    # CNN's colour features) see "no skin" without the fill carrying an image-dependent colour.
    fill: tuple[int, int, int] = (128, 128, 128)
    blur_sigma_per_window: float = 0.25  # "blur" fill: Gaussian sigma = window / 4
    batch_size: int = 32  # images per call of a batched scorer (32 x 512^2 x 3 B = 25 MB)
    chunks_per_job: int = 8  # work units per worker, for load balance and progress updates
    score_tolerance: float = 1e-6  # scores this far outside [0, 1] are clipped, further = error


DEFAULTS = OcclusionDefaults()


@dataclass(frozen=True, eq=False)
class OcclusionMap:
    """Result of :func:`occlusion_map`.

    Attributes
    ----------
    map : (M, N) float32 ndarray
        Per-pixel mean over covering windows (see module docstring), at the input resolution.
    counts : (M, N) int ndarray
        Number of windows covering each pixel (at the working resolution, nearest-resized).
    scores : (R, C) float64 ndarray
        Raw score of each window position (``score(crop)`` or ``score(occluded image)``; not
        ``1 - score``), row ``r`` / column ``c`` = corner ``(row_starts[r], col_starts[c])``.
    row_starts, col_starts : int ndarrays
        Window corners, at the working resolution.
    positions : int
        Number of window positions evaluated (``R * C``).
    variant : str
        ``"occlude"`` or ``"window"``.
    window, stride : int
        As requested, in input pixels.
    working_window, working_stride : int
        As used, at the working resolution (equal to the above when ``working_size`` is None).
    working_shape : (int, int)
        Image size the windows slid over.
    base_score : float
        Score of the whole, unoccluded image at the working resolution.
    fill : str
        Description of the fill used (occlude variant).
    elapsed : float
        Wall-clock seconds.

    Examples
    --------
    >>> result = occlusion_map(np.zeros((8, 8, 3), np.uint8), lambda im: 0.5, window=4, stride=4)
    >>> result.positions, result.map.shape, result.summary()["base_score"]
    (4, (8, 8), 0.5)
    """

    map: np.ndarray
    counts: np.ndarray
    scores: np.ndarray
    row_starts: np.ndarray
    col_starts: np.ndarray
    positions: int
    variant: str
    window: int
    stride: int
    working_window: int
    working_stride: int
    working_shape: tuple[int, int]
    base_score: float
    fill: str
    elapsed: float

    def summary(self) -> dict[str, Any]:
        """JSON-able description (no arrays)."""
        return {
            "variant": self.variant, "window": self.window, "stride": self.stride,
            "working_window": self.working_window, "working_stride": self.working_stride,
            "working_shape": list(self.working_shape), "positions": self.positions,
            "base_score": self.base_score, "fill": self.fill, "elapsed": self.elapsed,
            "map_min": float(self.map.min()), "map_max": float(self.map.max()),
            "height": int(self.map.shape[0]), "width": int(self.map.shape[1]),
        }


@dataclass(frozen=True, eq=False)
class _Job:
    """Everything a (worker) process needs to score a list of window positions."""

    image: np.ndarray
    fill_image: np.ndarray | None  # occlude variant: what a window is painted with
    row_starts: np.ndarray
    col_starts: np.ndarray
    window_hw: tuple[int, int]
    variant: str
    score_fn: Callable[..., Any]
    batched: bool
    batch_size: int
    tolerance: float

    def corner(self, index: int) -> tuple[int, int]:
        r, c = divmod(int(index), len(self.col_starts))
        return int(self.row_starts[r]), int(self.col_starts[c])

    def make_input(self, index: int, out: np.ndarray | None = None) -> np.ndarray:
        """The image scored at one position: the crop, or the image with the window filled."""
        top, left = self.corner(index)
        wh, ww = self.window_hw
        if self.variant == "window":
            crop = self.image[top:top + wh, left:left + ww]
            if out is None:
                return crop.copy()  # a fresh contiguous array: scorers may keep or modify it
            out[...] = crop
            return out
        if out is None:
            out = self.image.copy()
        else:
            out[...] = self.image
        out[top:top + wh, left:left + ww] = self.fill_image[top:top + wh, left:left + ww]
        return out

    def score_indices(self, indices: np.ndarray, on_batch: Callable[[int], None] | None = None
                      ) -> np.ndarray:
        scores = np.empty(len(indices), np.float64)
        for begin in range(0, len(indices), self.batch_size):
            part = indices[begin:begin + self.batch_size]
            if self.batched:
                stack = np.empty((len(part), *self._input_shape()), np.uint8)
                for k, index in enumerate(part):  # built lazily, one batch at a time
                    self.make_input(index, out=stack[k])
                got = np.asarray(self.score_fn(stack), np.float64).reshape(-1)
                if got.shape != (len(part),):
                    raise ValueError(f"batched score function returned {got.size} scores "
                                     f"for {len(part)} images")
                for k, index in enumerate(part):
                    scores[begin + k] = self._checked(got[k], index)
            else:
                for k, index in enumerate(part):
                    value = self.score_fn(self.make_input(index))
                    scores[begin + k] = self._checked(value, index)
            if on_batch is not None:
                on_batch(len(part))
        return scores

    def _input_shape(self) -> tuple[int, ...]:
        if self.variant == "window":
            return (*self.window_hw, 3)
        return self.image.shape

    def _checked(self, value: Any, index: int | None) -> float:
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"score function returned {value!r}, not a number") from None
        if not (-self.tolerance <= score <= 1 + self.tolerance):  # also rejects NaN
            where = "the whole image" if index is None else \
                "the window at (row {}, col {})".format(*self.corner(index))
            raise ValueError(f"score function returned {score!r} for {where}; scores must "
                             "lie in [0, 1]")
        return min(max(score, 0.0), 1.0)


_WORKER_JOB: _Job | None = None
_INHERITED_SCORERS: list[dict] = []


def _init_worker(job: _Job, forked: bool) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    if not forked:  # a forked child inherits 1 from the parent; setting it there can deadlock
        cv2.setNumThreads(1)  # one process per core already; nested thread pools only contend
    # Models built in the parent (e.g. an ONNX session) do not survive fork: rebuild them by
    # name. The inherited ones are kept referenced, never destroyed here: their destructors
    # would wait for thread pools that only exist in the parent, and hang.
    from fleck import scorers

    _INHERITED_SCORERS.append(scorers._BUILT)
    scorers._BUILT = {}


def _worker_score(indices: np.ndarray) -> np.ndarray:
    assert _WORKER_JOB is not None, "worker not initialised"
    return _WORKER_JOB.score_indices(indices)


def _default_context() -> str:
    import multiprocessing

    # fork ships the image and any score function (even a lambda or a notebook closure) to the
    # workers without pickling; elsewhere spawn, which needs a picklable or named scorer.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


# ---------------------------------------------------------------------------------------------
# Public function


def occlusion_map(image: Any, score_fn: Callable[..., Any] | str, *,
                  window: int = DEFAULTS.window, stride: int = DEFAULTS.stride,
                  variant: str = "occlude", fill: Any = DEFAULTS.fill,
                  batch_size: int = DEFAULTS.batch_size, batched: bool | None = None,
                  jobs: int = 1, working_size: int | None = None, progress: bool = False,
                  mp_context: str | None = None) -> OcclusionMap:
    """Occlusion-sensitivity map of ``score_fn`` on ``image``.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray, or anything ``fleck.load_image`` accepts
        RGB image.
    score_fn : callable or str
        ``image -> score in [0, 1]``; with ``batched`` a ``(B, h, w, 3)`` stack -> ``B`` scores.
        A string is resolved with :func:`fleck.scorers.get_scorer` (``"fleck"``,
        ``"open_nsfw"``, ``"nudenet"``, ``"module:function"``).
    window, stride : int
        Window side and grid step in pixels (the post: 64 and 3). Window clamped to the image.
    variant : {"occlude", "window"}
        See the module docstring.
    fill : (r, g, b), int, "grey", "mean" or "blur"
        What an occluded window is painted with: a flat colour (default mid grey 128), the
        image's mean colour, or the image Gaussian-blurred with sigma = window / 4.
    batch_size : int
        Images generated per step (and per call of a batched scorer); images are generated
        lazily, so memory is ``batch_size`` images, never one per position.
    batched : bool, optional
        Whether ``score_fn`` takes stacks; default: its ``batched`` attribute, else False.
    jobs : int
        Worker processes (0 = one per CPU). Each gets the image once and scores chunks of
        positions; named scorers are rebuilt in each worker.
    working_size : int, optional
        Shrink the image (``cv2.INTER_AREA``, never enlarged) so that height + width =
        ``working_size`` first, scale window and stride by the same factor (at least 1 px),
        and resize the map back to the input size (bilinear).
    progress : bool
        Show a tqdm progress bar on stderr.
    mp_context : str, optional
        Multiprocessing start method for ``jobs > 1``; default "fork" where available.

    Returns
    -------
    OcclusionMap

    Raises
    ------
    ImageError
        ``image`` is not an RGB image.
    ValueError
        Bad parameter, or a score outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((6, 6, 3), np.uint8)
    >>> result = occlusion_map(image, lambda im: 0.25, window=3, stride=1)
    >>> float(result.map.min()), float(result.map.max())  # occlude: 1 - 0.25 everywhere
    (0.75, 0.75)
    """
    started = time.perf_counter()
    rgb = _as_rgb(image)
    window, stride, batch_size, jobs = _check_options(variant, window, stride, batch_size, jobs)
    score_fn = _score_function(score_fn)
    if batched is None:
        batched = bool(getattr(score_fn, "batched", False))

    work, work_window, work_stride = _to_working_size(rgb, window, stride, working_size)
    height, width = work.shape[:2]
    row_starts = window_starts(height, work_window, work_stride)
    col_starts = window_starts(width, work_window, work_stride)
    fill_image, fill_label = _fill_image(work, fill, work_window) if variant == "occlude" \
        else (None, "none")
    job = _Job(image=work, fill_image=fill_image, row_starts=row_starts, col_starts=col_starts,
               window_hw=(min(work_window, height), min(work_window, width)), variant=variant,
               score_fn=score_fn, batched=batched, batch_size=batch_size,
               tolerance=DEFAULTS.score_tolerance)
    base_score = float(job._checked(
        score_fn(work[None])[0] if batched else score_fn(work.copy()), None))

    n_positions = len(row_starts) * len(col_starts)
    scores = _evaluate(job, n_positions, jobs=jobs, progress=progress, mp_context=mp_context)
    scores = scores.reshape(len(row_starts), len(col_starts))
    mean, counts = _per_pixel_means(job, scores, rgb.shape[:2])
    return OcclusionMap(
        map=mean, counts=counts, scores=scores, row_starts=row_starts, col_starts=col_starts,
        positions=n_positions, variant=variant, window=window, stride=stride,
        working_window=work_window, working_stride=work_stride, working_shape=(height, width),
        base_score=base_score, fill=fill_label, elapsed=time.perf_counter() - started)


def _check_options(variant: str, window: Any, stride: Any, batch_size: Any,
                   jobs: Any) -> tuple[int, int, int, int]:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    window = _positive_int("window", window)
    stride = _positive_int("stride", stride)
    if stride > window:
        raise ValueError(f"`stride` ({stride}) must not exceed `window` ({window}): pixels "
                         "between windows would be covered by none")
    batch_size = _positive_int("batch_size", batch_size)
    jobs = resolve_jobs(0) if jobs == 0 else _positive_int("jobs", jobs)
    return window, stride, batch_size, jobs


def _score_function(score_fn: Callable[..., Any] | str) -> Callable[..., Any]:
    if isinstance(score_fn, str):
        from fleck.scorers import get_scorer

        score_fn = get_scorer(score_fn)
    if not callable(score_fn):
        raise ValueError(f"score_fn must be callable or a scorer name, got {score_fn!r}")
    return score_fn


def _per_pixel_means(job: _Job, scores: np.ndarray,
                     input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The map (float32) and the coverage counts, resized back to the input's size."""
    height, width = job.image.shape[:2]
    values = 1.0 - scores if job.variant == "occlude" else scores
    counts = coverage_counts((height, width), job.row_starts, job.col_starts, job.window_hw)
    mean = window_sums((height, width), job.row_starts, job.col_starts, job.window_hw,
                       values) / counts
    mean = mean.astype(np.float32)
    if (height, width) != tuple(input_hw):
        mean = cv2.resize(mean, input_hw[::-1], interpolation=cv2.INTER_LINEAR)
        counts = cv2.resize(counts.astype(np.int32), input_hw[::-1],
                            interpolation=cv2.INTER_NEAREST)
    return mean, counts


def _evaluate(job: _Job, n_positions: int, *, jobs: int, progress: bool,
              mp_context: str | None) -> np.ndarray:
    from tqdm.auto import tqdm

    indices = np.arange(n_positions)
    with tqdm(total=n_positions, disable=not progress, unit="win", desc="occlusion",
              smoothing=0.1, dynamic_ncols=True) as bar:
        if jobs == 1 or n_positions < 2 * job.batch_size:
            return job.score_indices(indices, on_batch=bar.update)
        n_chunks = min(n_positions, jobs * DEFAULTS.chunks_per_job)
        chunks = np.array_split(indices, n_chunks)
        context = process_context(mp_context or _default_context())
        scores = np.empty(n_positions, np.float64)
        forked = context.get_start_method() == "fork"
        pool = WorkerPool(jobs, context, initializer=_init_worker, initargs=(job, forked))
        try:
            pending = {pool.submit(_worker_score, chunk): chunk for chunk in chunks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk = pending.pop(future)
                    scores[chunk] = future.result()
                    bar.update(len(chunk))
        except BaseException:
            pool.close(abandon=True)  # cancels what is pending, stops what runs
            raise
        pool.close(abandon=False)
        return scores


# ---------------------------------------------------------------------------------------------
# Input handling


def _as_rgb(image: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        from fleck.loading import load_image

        return load_image(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError("image", f"expected an (M, N, 3) RGB array, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ImageError("image", f"expected dtype uint8, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError("image", f"empty image of shape {image.shape}")
    return np.ascontiguousarray(image)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def _to_working_size(rgb: np.ndarray, window: int, stride: int, working_size: int | None
                     ) -> tuple[np.ndarray, int, int]:
    if working_size is None:
        return rgb, window, stride
    working_size = _positive_int("working_size", working_size)
    height, width = rgb.shape[:2]
    rows, cols = working_shape(rgb.shape, working_size)
    if (rows, cols) == (height, width):
        return rgb, window, stride
    factor = working_size / (height + width)
    small = cv2.resize(rgb, (cols, rows), interpolation=cv2.INTER_AREA)
    return small, max(1, round(window * factor)), max(1, round(stride * factor))


def _fill_image(rgb: np.ndarray, fill: Any, window: int) -> tuple[np.ndarray, str]:
    """The image an occluded window is copied from, and a label for the result."""
    if isinstance(fill, str):
        if fill == "grey" or fill == "gray":
            fill = DEFAULTS.fill
        elif fill == "mean":
            colour = np.round(rgb.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
            return np.broadcast_to(colour, rgb.shape), f"mean {tuple(int(v) for v in colour)}"
        elif fill == "blur":
            sigma = max(0.5, window * DEFAULTS.blur_sigma_per_window)
            return cv2.GaussianBlur(rgb, (0, 0), sigma), f"blur sigma={sigma:g}"
        else:
            raise ValueError(f"fill must be a colour (r, g, b), an int, or one of "
                             f"{NAMED_FILLS}, got {fill!r}")
    colour = np.asarray(fill).reshape(-1)
    if colour.size == 1:
        colour = np.repeat(colour, 3)
    if colour.size != 3 or not np.all((colour >= 0) & (colour <= 255)):
        raise ValueError(f"fill colour must be 1 or 3 values in 0-255, got {fill!r}")
    colour = colour.astype(np.uint8)
    return np.broadcast_to(colour, rgb.shape), f"colour {tuple(int(v) for v in colour)}"
