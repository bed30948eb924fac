"""What runs in a batch's worker processes: one :class:`Worker` (one Detector) per process.

A scan's task is :func:`scan_chunk` (paths -> records); :func:`fleck.detect_many`'s is
:func:`detect_chunk` (images -> detections or errors).

A video or animated image gives several records: one per sampled frame, then the file's
(:mod:`fleck.video.media`), returned together so that the parent writes them in one go.

>>> import numpy as np
>>> worker = Worker("fleck1996", None)
>>> record, warning = worker.scan_one("no/such/file.jpg")
>>> record["status"], warning
('error', None)
>>> worker.detect_one(np.zeros((64, 64, 3), np.uint8), "black").decision
False
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from fleck.config import FleckConfig
from fleck.errors import ImageError
from fleck.overlay import overlay_path
from fleck.parallel import limit_threads
from fleck.regions import attach_skin_rle
from fleck.scan import settings
from fleck.scan.results import error_record, internal_error
from fleck.video.rule import VideoSettings

__all__ = ["Worker", "Outputs", "init_worker", "scan_chunk", "detect_chunk", "dask_scan_chunk",
           "source_name"]

Item = tuple[dict, "str | None"]  # (record, warning or None)


@dataclass(frozen=True)
class Outputs:
    """What a worker writes besides the record: overlays of flagged images, the skin map of
    every image (both under :func:`fleck.overlay.overlay_path` names), the skin map's run-length
    encoding in the record.

    Examples
    --------
    >>> Worker("fleck1996", Outputs(masks="masks", skin_rle=True)).outputs.overlays is None
    True
    """

    overlays: str | None = None
    masks: str | None = None
    skin_rle: bool = False


class Worker:
    """Lives in a worker process: one Detector, reused for every image.

    Parameters
    ----------
    config : FleckConfig or name
        Detector configuration.
    outputs : Outputs or str, optional
        What to write besides the records; a folder name means overlays of flagged images
        (:func:`fleck.overlay.overlay_path`) and nothing else. A flagged video's or
        animation's overlay is that of its first flagged frame.
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Examples
    --------
    >>> Worker("kapur", None).detector.config.name
    'kapur'
    """

    def __init__(self, config: FleckConfig | str, outputs: Outputs | str | None,
                 video: VideoSettings | None = None) -> None:
        from fleck.detector import Detector

        self.detector = Detector(config)
        self.outputs = outputs if isinstance(outputs, Outputs) else Outputs(overlays=outputs)
        self.overlays = self.outputs.overlays
        self.video = video or VideoSettings()

    def scan_one(self, path: str) -> Item:
        """(record, warning or None) for one path; never raises for a bad image."""
        try:
            detection = self.detector.detect(path)
        except ImageError as err:
            return error_record(path, err.reason), None
        except Exception as err:  # a bug must cost one record, not the scan
            return error_record(path, internal_error(err)), None
        record = {"path": path, "status": "ok", **detection.summary()}
        warning = None
        if self.overlays is not None and detection.decision:
            try:
                _write_overlay(detection, path, self.overlays)
            except Exception as err:
                warning = f"overlay not written: {type(err).__name__}: {err}"
        if self.outputs.masks is not None:
            try:
                record["mask"] = _write_mask(detection, path, self.outputs.masks)
            except Exception as err:
                warning = f"skin map not written: {type(err).__name__}: {err}"
        if self.outputs.skin_rle:
            attach_skin_rle(record, detection)
        return record, warning

    def scan_media(self, path: str, kind: str) -> list[Item]:
        """The records of a video or animated image: its frames', then the file's.

        Skin maps (``masks``, ``skin_rle``) are written for images only.
        """
        from fleck.video.media import detect_media

        try:
            result = detect_media(path, detector=self.detector, settings=self.video, name=path,
                                  kind=kind, keep_first_flagged=self.overlays is not None)
        except ImageError as err:
            return [(error_record(path, err.reason), None)]
        except Exception as err:  # a bug must cost one record, not the scan
            return [(error_record(path, internal_error(err)), None)]
        records = result.records()
        warning = None
        if self.overlays is not None and result.decision and result.first_flagged:
            detection, rgb = result.first_flagged
            try:
                _write_overlay(detection, path, self.overlays, rgb=rgb)
            except Exception as err:
                warning = f"overlay not written: {type(err).__name__}: {err}"
        return [(r, None) for r in records[:-1]] + [(records[-1], warning)]

    def scan_path(self, path: str) -> list[Item]:
        """The records of one path: one for an image, frames + file for a video/animation."""
        from fleck.video.sniff import media_kind

        kind = media_kind(path)
        if kind == "image":
            return [self.scan_one(path)]
        return self.scan_media(path, kind)

    def scan_chunk(self, paths: list[str]) -> list[Item]:
        """:meth:`scan_path` of each path, in order."""
        return [item for p in paths for item in self.scan_path(p)]

    def detect_one(self, image: Any, name: str | None = None):
        """The :class:`~fleck.detector.Detection` of ``image``, or the
        :class:`~fleck.errors.ImageError` that says why there is none (never raised)."""
        try:
            return self.detector.detect(image, name=name)
        except ImageError as err:
            return err
        except Exception as err:  # a bug must cost one image, not the batch
            return ImageError(source_name(image, name), internal_error(err))


def source_name(image: Any, name: str | None = None) -> str:
    """How an error names an image: ``name`` if given, else the path, else ``<image>``.

    Parameters
    ----------
    image : image source
        A path, bytes, PIL image, array...
    name : str, optional
        The name given by the caller.

    Returns
    -------
    str

    Examples
    --------
    >>> source_name("a/b.jpg"), source_name(b"...", "images[3]"), source_name(b"...")
    ('a/b.jpg', 'images[3]', '<image>')
    """
    if name is not None:
        return name
    return os.fspath(image) if isinstance(image, (str, os.PathLike)) else "<image>"


def _write_overlay(detection, path: str, overlays: str, *, rgb=None) -> None:
    from PIL import Image

    from fleck.loading import load
    from fleck.overlay import draw

    # A reduced decode is enough: the overlay is at most overlay_max_width wide.
    limit = settings.SCAN.overlay_max_width
    if rgb is None:  # a video frame comes with its pixels (at the working size)
        rgb = load(path, reduce_to=2 * limit).rgb
    width = min(rgb.shape[1], limit)
    picture = draw(detection, rgb, width=width)
    target = overlay_path(path, overlays)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp-{os.getpid()}.png"
    Image.fromarray(picture).save(tmp, optimize=False)
    os.replace(tmp, target)  # never a half-written PNG under the final name


def _write_mask(detection, path: str, masks: str) -> str:
    from PIL import Image

    target = overlay_path(path, masks)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp-{os.getpid()}.png"
    Image.fromarray(detection.mask_at().astype("uint8") * 255).save(tmp, optimize=False)
    os.replace(tmp, target)
    return target


_WORKER: Worker | None = None


def init_worker(worker_class: type, scan_pid: int, config: FleckConfig,
                outputs: Outputs | str | None, video: VideoSettings | None = None) -> None:
    """Initializer of a local worker process: signals, one thread, watch the scan, build.

    The parent handles Ctrl-C; a worker ignores SIGINT, dies on SIGTERM, runs single threaded and
    exits when the scanning process disappears.

    Parameters
    ----------
    worker_class : type
        :class:`Worker` (or a subclass: tests substitute one that crashes).
    scan_pid : int
        The scanning process, watched so that workers never outlive it.
    config : FleckConfig
        Detector configuration.
    outputs : Outputs or str, optional
        What to write besides the records (a folder name: overlays only).
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Examples
    --------
    >>> import os
    >>> from fleck.parallel import WorkerPool, process_context
    >>> pool = WorkerPool(1, process_context(), initializer=init_worker,
    ...                   initargs=(Worker, os.getpid(), "fleck1996", None))
    >>> record, warning = pool.submit(scan_chunk, ["no/such.jpg"]).result()[0]
    >>> record["status"], warning
    ('error', None)
    >>> pool.close(abandon=False)
    """
    global _WORKER
    # The parent handles Ctrl-C and SIGTERM for the whole scan (a terminal sends SIGINT to
    # every process of the group); a worker must finish its task, or die when terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    limit_threads()
    _watch_parent(scan_pid)
    _WORKER = worker_class(config, outputs, video)


def _watch_parent(scan_pid: int) -> None:
    # If the scanning process is SIGKILLed its workers must not linger. With the fork server
    # the workers' parent is the server, not the scan, so watch the scan itself.
    def gone() -> bool:
        try:
            os.kill(scan_pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, but not ours to signal (cannot happen for our own parent)
            return False
        return os.getppid() == 1

    def watch() -> None:
        while not gone():
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="fleck-scan-watch", daemon=True).start()


def scan_chunk(paths: list[str]) -> list[Item]:
    """Task of a local worker process (after :func:`init_worker`).

    Parameters
    ----------
    paths : list of str
        The images of one task.

    Returns
    -------
    list of (dict, str or None)
        ``(record, warning)`` per path, in order.

    Examples
    --------
    See :func:`init_worker`.
    """
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.scan_chunk(paths)


def detect_chunk(images: list[tuple[Any, str | None]]) -> list:
    """Task of a local worker process: :meth:`Worker.detect_one` of each ``(image, name)``.

    Parameters
    ----------
    images : list of (image, str or None)
        The images of one task, each with the name its error would use (None: its path).

    Returns
    -------
    list of Detection or ImageError
        One per image, in order.

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> from fleck.scan.local import worker_pool
    >>> pool = worker_pool(1, FLECK_1996)  # each worker process runs init_worker
    >>> [str(r) for r in pool.submit(detect_chunk, [(b"", "images[0]")]).result()]
    ['images[0]: ...']
    >>> pool.close(abandon=False)
    """
    assert _WORKER is not None, "worker not initialised"
    return [_WORKER.detect_one(image, name) for image, name in images]


_DASK_WORKER: tuple[tuple, Worker] | None = None
_DASK_LOCK = threading.Lock()


def dask_scan_chunk(paths: list[str], config: FleckConfig, outputs: Outputs | str | None,
                    video: VideoSettings | None = None) -> list[Item]:
    """Task of a Dask worker: one cached :class:`Worker` per worker process.

    Parameters
    ----------
    paths : list of str
        The images of one task.
    config : FleckConfig
        Detector configuration (the cached worker is rebuilt when it changes).
    outputs : Outputs or str, optional
        What to write besides the records (folders on the workers' file system).
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Returns
    -------
    list of (dict, str or None)
        ``(record, warning)`` per record, in order (a video gives several).

    Examples
    --------
    >>> import cv2
    >>> from fleck.config import FLECK_1996
    >>> threads = cv2.getNumThreads()
    >>> dask_scan_chunk(["no/such.jpg"], FLECK_1996, None)[0][0]["status"]  # as a Dask worker would
    'error'
    >>> cv2.setNumThreads(threads)
    """
    global _DASK_WORKER
    with _DASK_LOCK:
        if _DASK_WORKER is None or _DASK_WORKER[0] != (config, outputs, video):
            limit_threads()
            _DASK_WORKER = ((config, outputs, video), Worker(config, outputs, video))
        worker = _DASK_WORKER[1]
    return worker.scan_chunk(paths)
