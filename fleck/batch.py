"""``detect_many()``: the detector over many images in worker processes, answers in input order.

The batch API for notebooks and scripts. It runs on the worker pool of ``fleck scan``
(:func:`fleck.scan.local.run_chunks`): images go to worker processes in small chunks, at most a
few chunks per worker are in flight (so an endless iterable is fine), and an image whose worker
crashes (a decoder bug, the OOM killer) costs one :class:`~fleck.errors.ImageError`, not the
batch. A bad image is an error in the output, never an exception.

The worker processes outlive a call by a few minutes (``SCAN.pool_idle_s``), so that the next
call with the same ``jobs`` and configuration, a notebook cell or a cross-validation fold,
starts at once; :func:`release_workers` ends them sooner.

>>> import numpy as np
>>> images = [np.full((64, 64, 3), (60, 90, 160), np.uint8), b"not an image"]
>>> for source, result in detect_many(images, jobs=1, progress=False):
...     print(type(result).__name__, result.decision if hasattr(result, "decision") else result)
Detection False
ImageError images[1]: not an image (...)
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from fleck.config import FleckConfig, get_config
from fleck.detector import Detection
from fleck.errors import ImageError
from fleck.parallel import resolve_jobs
from fleck.scan.settings import SCAN

__all__ = ["detect_many", "iter_detections", "payload", "release_workers"]


def detect_many(images: Iterable[Any], config: FleckConfig | str | None = None,
                jobs: int | None = None, progress: bool = True, *,
                chunk: int = SCAN.chunk) -> Iterator[tuple[Any, Detection | ImageError]]:
    """Detect in every image on ``jobs`` worker processes; yield ``(source, result)`` in order.

    Parameters
    ----------
    images : iterable
        Paths (``str`` or ``os.PathLike``), encoded bytes, binary file objects (read here),
        PIL images or ``(M, N, 3)`` RGB ``uint8`` arrays, mixed freely; consumed lazily. A
        folder is not walked: pass ``fleck.scan.find_images([folder])`` for its images.
    config : FleckConfig or name, optional
        Detector configuration (default ``'fleck1996'``).
    jobs : int, optional
        Worker processes (default: all cores available, as ``fleck scan``). Always at least
        one worker process, so that a crashing image cannot take the caller down.
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in notebooks, text on a terminal).
    chunk : int
        Images per task sent to a worker.

    Yields
    ------
    source
        The input item itself (a file object is read, but the object is yielded).
    Detection or ImageError
        The detection, or why there is none. Images that are not paths are named
        ``images[i]`` (their position) in error messages.

    Raises
    ------
    TypeError
        If ``images`` is a single image (a path, bytes or PIL image) instead of an iterable.
    ValueError
        For a bad ``jobs``, ``chunk`` or ``config`` (raised at the call, before any work).

    Examples
    --------
    >>> import numpy as np
    >>> blue = np.full((64, 64, 3), (60, 90, 160), np.uint8)
    >>> [(result.decision, result.rule) for _, result in detect_many([blue], progress=False)]
    [(False, None)]
    """
    return iter_detections(images, config=config, jobs=jobs, progress=progress, chunk=chunk)


def iter_detections(images: Iterable[Any], *, config: FleckConfig | str | None = None,
                    jobs: int | None = None, progress: bool = False, chunk: int = SCAN.chunk,
                    label: str = "images") -> Iterator[tuple[Any, Detection | ImageError]]:
    """:func:`detect_many` with ``label`` naming the images that are not paths (``label[i]``).

    Parameters
    ----------
    images, config, jobs, progress, chunk
        As :func:`detect_many`.
    label : str
        The name of the collection in error messages.

    Returns
    -------
    iterator of (source, Detection or ImageError)

    Examples
    --------
    >>> [str(r) for _, r in iter_detections([b""], jobs=1, label="X")]
    ['X[0]: ...']
    """
    _refuse_single_image(images)
    config = get_config(config)
    jobs = resolve_jobs(jobs)
    if isinstance(chunk, bool) or int(chunk) < 1:
        raise ValueError(f"chunk must be at least 1 image, got {chunk}")
    total = _length(images)
    return _generate(iter(images), config, jobs, progress, int(chunk), label, total)


def release_workers() -> int:
    """End the worker processes kept from the last :func:`detect_many` call now.

    Returns
    -------
    int
        How many pools were closed (0 or 1).

    Examples
    --------
    >>> release_workers() in (0, 1)
    True
    """
    from fleck.scan.local import release_pools

    return release_pools()


def _refuse_single_image(images: Any) -> None:
    from PIL import Image

    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)) \
            or hasattr(images, "read"):
        raise TypeError(f"expected an iterable of images, got one {type(images).__name__}: "
                        "wrap a single image in a list (or use fleck.detect), and pass "
                        "fleck.scan.find_images([folder]) for the images of a folder")


def _length(images: Any) -> int | None:
    try:
        return len(images)
    except TypeError:
        return None


def payload(image: Any, index: int, label: str) -> tuple[Any, str | None]:
    """What is sent to a worker for ``image`` (picklable), and the name its errors use.

    Paths keep their own name; other images are named ``label[index]``. A binary file object
    is read here (an :class:`ImageError` in place of the data when that fails).

    Parameters
    ----------
    image : image source
    index : int
        Its position in the collection.
    label : str
        The collection's name.

    Returns
    -------
    (data, name or None)

    Examples
    --------
    >>> import io
    >>> payload("a.jpg", 0, "X"), payload(io.BytesIO(b"abc"), 3, "X")
    (('a.jpg', None), (b'abc', 'X[3]'))
    """
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image), None
    name = f"{label}[{index}]"
    if hasattr(image, "read") and not hasattr(image, "getpixel"):  # a file object: not picklable
        try:
            return image.read(), name
        except (OSError, ValueError) as err:
            return ImageError(name, f"cannot read file object ({err})"), name
    if isinstance(image, memoryview):
        return image.tobytes(), name
    return image, name


def _generate(images: Iterator[Any], config: FleckConfig, jobs: int, progress: bool,
              chunk: int, label: str, total: int | None,
              ) -> Iterator[tuple[Any, Detection | ImageError]]:
    from fleck.scan.local import keep_pool, reusable_pool, run_chunks
    from fleck.scan.worker import detect_chunk, source_name

    sources: deque[list[Any]] = deque()  # the inputs of each chunk in flight, in order
    early: dict[int, ImageError] = {}  # file objects that could not be read here

    def chunks() -> Iterator[list[tuple[Any, str | None]]]:
        index = 0
        while True:
            block = list(islice(images, chunk))
            if not block:
                return
            payloads = []
            for image in block:
                data, name = payload(image, index, label)
                if isinstance(data, ImageError):
                    early[index] = data
                    data = b""
                payloads.append((data, name))
                index += 1
            sources.append(block)
            yield payloads

    bar = _bar(total) if progress else None
    pool, key = reusable_pool(jobs, config)
    results = run_chunks(chunks(), pool, detect_chunk,
                         lambda item, reason: ImageError(source_name(*item), reason),
                         ordered=True, keep_open=True)
    index = 0
    finished = False
    try:
        for block_results in results:
            for source, result in zip(sources.popleft(), block_results, strict=True):
                yield source, early.pop(index, result)
                index += 1
            if bar is not None:
                bar.update(len(block_results))
        finished = True
    finally:
        results.close()
        if finished:
            keep_pool(pool, key)  # the next call starts at once
        else:  # the caller stopped early or something raised: end the workers
            pool.close(abandon=True)
        if bar is not None:
            bar.close()


def _bar(total: int | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc="fleck", dynamic_ncols=True, smoothing=0.05)
