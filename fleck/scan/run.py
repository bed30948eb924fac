"""The orchestration of a scan: :func:`scan` and the :class:`ScanSummary` it returns.

Walks lazily (:mod:`fleck.scan.walk`), sends chunks of paths to local workers
(:mod:`fleck.scan.local`) or a Dask cluster (:mod:`fleck.scan.cluster`), and writes every
finished record in this process only (:mod:`fleck.scan.results`), with a progress bar and
clean Ctrl-C handling.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from fleck.config import FleckConfig, get_config
from fleck.parallel import resolve_jobs
from fleck.scan.collect import Collector, Progress, Stop
from fleck.scan.results import ResultsFile, error_record, path_key
from fleck.scan.settings import SCAN
from fleck.scan.walk import find_images
from fleck.scan.worker import Outputs
from fleck.video.rule import VideoSettings

__all__ = ["scan", "ScanSummary"]


@dataclass(frozen=True)
class ScanSummary:
    """What a scan did. ``images`` counts records written by this run (ok + error).

    ``skipped`` counts images already in the results file (``resume``); ``failed`` the error
    records; ``flagged`` the ok records with ``decision`` true. ``interrupted`` is true when
    Ctrl-C (SIGINT) or SIGTERM stopped the scan early.

    Examples
    --------
    >>> s = ScanSummary(images=3, flagged=1, failed=0, skipped=0, seconds=1.5,
    ...                 images_per_second=2.0, out=Path("r.jsonl"))
    >>> s.exit_code, s.line()
    (0, 'scanned 3 images in 1.5 s (2.0 images/s): 1 flagged, 0 failed -> r.jsonl')
    """

    images: int
    flagged: int
    failed: int
    skipped: int
    seconds: float
    images_per_second: float
    out: Path
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 interrupted, 2 no images found, 1 some images failed, 0 otherwise."""
        if self.interrupted:
            return 130
        if self.images == 0 and self.skipped == 0:
            return 2
        return 1 if self.failed else 0

    def line(self) -> str:
        """``scanned 1234 images in 5.6 s (220.4 images/s): 12 flagged, 3 failed -> r.jsonl``."""
        noun = "image" if self.images == 1 else "images"
        text = (f"scanned {self.images} {noun} in {self.seconds:.1f} s "
                f"({self.images_per_second:.1f} images/s): {self.flagged} flagged, "
                f"{self.failed} failed")
        if self.skipped:
            text += f", {self.skipped} already done"
        text += f" -> {self.out}"
        return text + (" (interrupted)" if self.interrupted else "")


def scan(paths: Iterable[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike, *,
         config: FleckConfig | str | None = None, jobs: int | None = None,
         resume: bool = False, csv: str | os.PathLike | None = None,
         overlays: str | os.PathLike | None = None, quiet: bool = True,
         scheduler: Any = None, chunk: int = SCAN.chunk,
         overwrite: bool = False, masks: str | os.PathLike | None = None,
         skin_rle: bool = False, video: VideoSettings | None = None) -> ScanSummary:
    """Run the detector on every image under ``paths``, appending one JSON line each to ``out``.

    Parameters
    ----------
    paths : path or iterable of paths
        Image files (always attempted) and folders (walked, see :func:`find_images`).
    out : path
        Results file (JSON Lines). If it already holds records, pass ``resume`` (continue it) or
        ``overwrite`` (start afresh); otherwise ``FileExistsError``.
    config : FleckConfig or name, optional
        Detector configuration (default ``'fleck1996'``).
    jobs : int, optional
        Worker processes (default: all cores available to this process).
    resume : bool
        Keep the records already in ``out`` (repairing a torn last line) and skip their paths.
    csv : path, optional
        Also write the records as CSV (:data:`CSV_COLUMNS`).
    overlays : path, optional
        Folder for the explained overlay (PNG) of every flagged image (:func:`overlay_path`).
    quiet : bool
        False: progress bar on stderr when it is a terminal, and one line per failed image.
    scheduler : str or dask.distributed.Client, optional
        Run on a Dask cluster (``tcp://host:8786``) instead of local processes.
    chunk : int
        Images per task.
    overwrite : bool
        Start ``out`` afresh even if it holds records.
    masks : path, optional
        Folder for the skin map (PNG, 0/255, the image's size) of every image scanned, named as
        the overlays are; the record's ``mask`` names it.
    skin_rle : bool
        Put the skin map's run-length encoding in the record's skin region (``rle``).
    video : VideoSettings, optional
        Sampling and per-file rule for videos and animated images (default: 1 frame per
        second, at most 300, flagged when 2 are). Each gives one record per sampled frame,
        then one for the file (:mod:`fleck.video.media`); ``resume`` redoes a file whose file
        record is missing.

    Returns
    -------
    ScanSummary

    Raises
    ------
    FileNotFoundError
        If one of ``paths`` does not exist (nothing is scanned).
    FileExistsError
        If ``out`` holds records and neither ``resume`` nor ``overwrite`` is set.
    ValueError
        For a bad ``jobs``, ``chunk`` or ``config``.

    Examples
    --------
    A second run resumes the first: what is recorded is skipped.

    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("a.png", "b.png"):
    ...     Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(os.path.join(folder, name))
    >>> out = os.path.join(folder, "results.jsonl")
    >>> scan([os.path.join(folder, "a.png")], out, jobs=1).images
    1
    >>> again = scan([folder], out, jobs=1, resume=True)
    >>> again.images, again.skipped
    (1, 1)
    """
    paths = _check_paths(paths)
    config = get_config(config)
    jobs = resolve_jobs(jobs)
    if int(chunk) < 1:
        raise ValueError(f"chunk must be at least 1 image, got {chunk}")
    out = os.fspath(out)
    if not resume and not overwrite and os.path.isfile(out) and os.path.getsize(out) > 0:
        raise FileExistsError(f"{out}: the results file already holds records; use --resume "
                              "to continue it or --overwrite to start afresh")
    overlay_dir, mask_dir = (None if folder is None else os.fspath(folder)
                             for folder in (overlays, masks))
    for folder in (overlay_dir, mask_dir):
        if folder is not None:
            os.makedirs(folder, exist_ok=True)
    results = ResultsFile(out, resume=resume, csv=None if csv is None else os.fspath(csv))
    progress = Progress(not quiet and sys.stderr.isatty(), quiet)
    _report_repairs(results, progress)
    collector = Collector(results, progress)
    todo = _Todo(paths, results, collector,
                 exclude=[folder for folder in (overlay_dir, mask_dir) if folder])
    start = time.perf_counter()
    interrupted = False
    try:
        with Stop() as stop:
            run = _runner(scheduler)
            run(_batches(iter(todo), int(chunk)), collector, stop=stop, config=config,
                outputs=Outputs(overlay_dir, mask_dir, bool(skin_rle)), jobs=jobs,
                scheduler=scheduler,
                started=lambda: todo.start_counting(progress), video=video)
            interrupted = stop.requested
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        results.close()
    seconds = time.perf_counter() - start
    return ScanSummary(images=collector.images, flagged=collector.flagged,
                       failed=collector.failed, skipped=todo.skipped, seconds=seconds,
                       images_per_second=collector.images / seconds if seconds > 0 else 0.0,
                       out=Path(out), interrupted=interrupted)


def _check_paths(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    checked = [os.fspath(p) for p in paths]
    if not checked:
        raise ValueError("no paths to scan")
    for path in checked:
        if not os.path.lexists(path):
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", path)
    return checked


def _report_repairs(results: ResultsFile, progress: Progress) -> None:
    if results.torn:
        progress.say(f"fleck scan: {results.out}: repaired a torn last line (an interrupted "
                     "scan)")
    if results.incomplete:
        progress.say(f"fleck scan: {results.out}: dropped the frame records of "
                     f"{len(results.incomplete)} video(s) an interruption left incomplete; "
                     "they are scanned again")
    if results.bad_lines:
        progress.say(f"fleck scan: {results.out}: {results.bad_lines} unreadable line(s) kept "
                     "as they are; their images are scanned again")


def _runner(scheduler: Any) -> Callable[..., None]:
    if scheduler is not None:
        from fleck.scan.cluster import run_dask

        return run_dask
    from fleck.scan.local import run_local

    return run_local


class _Todo:
    """The paths still to scan: the walk minus what the results file already holds."""

    def __init__(self, paths: list[str], results: ResultsFile, collector: Collector, *,
                 exclude: list[str]) -> None:
        self.paths, self.results, self.collector = paths, results, collector
        self.exclude = exclude
        self.skipped = 0
        self._counting = False

    def _walk_error(self, path: str, reason: str) -> None:
        done = self.results.done
        if path_key(path) not in done:  # resume: never record the same folder twice
            done.add(path_key(path))
            self.collector.add([(error_record(path, reason), None)])

    def __iter__(self) -> Iterator[str]:
        done = self.results.done
        for path in find_images(self.paths, on_error=self._walk_error, exclude=self.exclude):
            if done and path_key(path) in done:
                self.skipped += 1
                continue
            yield path

    def start_counting(self, progress: Progress) -> None:
        """Count the images for the ETA, in a thread, once (after the workers exist: no fork
        with extra threads running)."""
        if progress.bar is None or self._counting:
            return
        self._counting = True
        done = self.results.done

        def count() -> None:
            total = sum(1 for p in find_images(self.paths, exclude=self.exclude)
                        if path_key(p) not in done)
            progress.set_total(total)

        threading.Thread(target=count, name="fleck-scan-count", daemon=True).start()


def _batches(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    while True:
        batch = list(islice(paths, size))
        if not batch:
            return
        yield batch
