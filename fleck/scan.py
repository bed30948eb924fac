"""``scan()``: run the detector over files and folders in parallel, one JSON line per image.

The batch edge of ``fleck``: it walks folders lazily, sends small chunks of paths to worker
processes (or to a Dask cluster), and the parent process alone appends each finished record to
the results file and flushes it. One bad file never stops a scan: it becomes an error record.

Results file (JSON Lines, UTF-8, one object per line, in *completion* order, not walk order)::

    {"path": "photos/a.jpg", "status": "ok", "decision": false, "score": 0.25, ...}
    {"path": "photos/b.jpg", "status": "error", "error": "not an image (...)"}

An ok record is ``{"path", "status": "ok", **Detection.summary()}`` (decision, score,
threshold, skin_fraction, passes_skin, rule, reason, groups, times_ms, width, height); an error
record carries the reason instead. ``path`` is the path as given on the command line, joined
with the names found while walking (relative stays relative to the working directory, absolute
stays absolute; a leading ``./`` is dropped).

Walking (:func:`find_images`):

* Folders are walked recursively, depth first, entries sorted by name in each folder, so two
  scans of the same tree submit images in the same order. Only one folder listing is held at a
  time per level; millions of paths are never materialised.
* A file found in a folder is scanned when its name has a known image extension *or* its first
  64 bytes carry an image signature (:func:`fleck.loading.sniff_image`): ``holiday.txt`` that is
  a JPEG is found, and ``broken.jpg`` that is not an image becomes an error record (it claims
  to be an image, so the user hears about it). Other files are ignored silently.
* Hidden entries (names starting with ``.``: ``.git``, ``.thumbnails``, macOS ``._x.jpg``
  resource forks) are not walked. Symbolic links are followed (to files and folders); each
  folder is walked once even when several links lead to it, which also stops link loops.
  Broken links, sockets and FIFOs are ignored.
* A file named explicitly is always attempted, whatever its name or content.

``resume=True`` reads the existing results, truncates a torn last line (a scan killed while
writing), and skips every path already recorded (ok or error; paths are compared as absolute
paths, so resume from the same working directory when the recorded paths are relative).
Without ``resume`` a results file that already holds records is refused (``FileExistsError``)
unless ``overwrite``: re-running a long scan without ``--resume`` must not throw its results away.

>>> import os, tempfile, numpy as np
>>> from PIL import Image
>>> folder = tempfile.mkdtemp()
>>> Image.fromarray(np.full((64, 80, 3), (60, 90, 160), np.uint8)).save(f"{folder}/a.png")
>>> summary = scan([folder], os.path.join(folder, "results.jsonl"), jobs=1)
>>> summary.images, summary.flagged, summary.failed, summary.exit_code
(1, 0, 0, 0)
>>> [(os.path.basename(r["path"]), r["status"]) for r in read_results(summary.out)]
[('a.png', 'ok')]
"""

from __future__ import annotations

import csv as csv_module
import errno
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from fleck.config import FleckConfig, get_config
from fleck.errors import ImageError

__all__ = ["scan", "ScanSummary", "find_images", "read_results", "iter_results",
           "ResultsWarning", "CSV_COLUMNS", "SCAN", "overlay_path"]


@dataclass(frozen=True)
class ScanConstants:
    """Engineering choices of the batch machinery (not detector thresholds)."""

    chunk: int = 4
    """Images per task sent to a worker: amortises the inter-process round trip (~0.2 ms)
    against ~5-30 ms of detection per image while keeping the progress bar smooth and the work
    lost to a SIGKILL small (the README's scan benchmark has the measurements)."""
    in_flight_per_worker: int = 4
    """Tasks in flight per worker process (or Dask thread): enough to keep every worker busy
    while the parent writes, and what bounds memory however many images there are."""
    fsync_interval_s: float = 1.0
    """The results file is flushed after every finished task and fsync'ed at most this often
    (a power cut loses at most this much; a process kill loses nothing already flushed)."""
    poll_s: float = 0.2
    """How often the parent wakes while waiting, to notice Ctrl-C promptly."""
    overlay_max_width: int = 1280
    """Overlays of larger photos are drawn at this width (a 24 MP PNG per hit is not useful)."""
    image_extensions: tuple[str, ...] = (
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".dib", ".tif",
        ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".avif", ".heic", ".heif", ".ico", ".cur",
        ".jp2", ".j2k", ".qoi", ".psd", ".tga", ".pcx", ".sgi", ".icns")
    """Names that claim to be images: scanned (and reported when unreadable) without sniffing."""


SCAN = ScanConstants()

# One BLAS/OpenMP/OpenCV thread per worker: the parallelism is across images.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
_CRASHED = ("the worker process died while reading this image (a crash in a decoder, or out "
            "of memory)")


def _csv_columns() -> tuple[str, ...]:
    from fleck.grouper import GROUP_KINDS

    return ("path", "status", "decision", "score", "skin_fraction", "passes_skin", "rule",
            "segments", "limbs", *GROUP_KINDS, "total_ms", "error")


CSV_COLUMNS = _csv_columns()
"""Columns of ``--csv``: the JSON record flattened (group counts by kind, total time)."""


class ResultsWarning(UserWarning):
    """A results file had a torn or unreadable line, which was skipped."""


# ---------------------------------------------------------------------------------- summary

@dataclass(frozen=True)
class ScanSummary:
    """What a scan did. ``images`` counts records written by this run (ok + error).

    ``skipped`` counts images already in the results file (``resume``); ``failed`` the error
    records; ``flagged`` the ok records with ``decision`` true. ``interrupted`` is true when
    Ctrl-C (SIGINT) or SIGTERM stopped the scan early.
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


# ---------------------------------------------------------------------------------- walking

def find_images(paths: Iterable[str | os.PathLike], *,
                on_error: Callable[[str, str], None] | None = None,
                exclude: Iterable[str | os.PathLike] = ()) -> Iterator[str]:
    """Yield the image files among ``paths`` (files and folders, walked recursively), lazily.

    See the module docstring for the rules (content sniffing, hidden entries, links). Each path
    is yielded once. ``on_error(path, reason)`` hears about folders that cannot be listed;
    folders in ``exclude`` are not walked.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "notes.txt"), "w").write("hello")
    >>> _ = open(os.path.join(folder, "b.txt"), "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
    >>> [os.path.basename(p) for p in find_images([folder])]
    ['b.txt']
    """
    from fleck.loading import sniff_image

    report = on_error or (lambda path, reason: None)
    given = [_tidy(os.fspath(p)) for p in paths]
    visited: set[tuple[int, int]] = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
            visited.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    # Explicit files are few; remembering them keeps a walk from yielding them a second time.
    explicit = {os.path.abspath(p) for p in given if not os.path.isdir(p)}
    yielded_explicit: set[str] = set()
    for path in given:
        if not os.path.isdir(path):
            key = os.path.abspath(path)
            if key not in yielded_explicit:
                yielded_explicit.add(key)
                yield path
            continue
        yield from _walk_folder(path, visited, explicit, report, sniff_image)


def _walk_folder(root, visited, explicit, report, sniff_image) -> Iterator[str]:
    try:
        st = os.stat(root)
    except OSError as err:
        report(root, f"cannot read folder: {err.strerror or err}")
        return
    if (st.st_dev, st.st_ino) in visited:
        return
    visited.add((st.st_dev, st.st_ino))
    listing = _sorted_listing(root, report)
    if listing is None:
        return
    # Depth first with an explicit stack of listings (no recursion limit on deep trees).
    stack = [iter(listing)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            try:
                st = entry.stat()
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue
            visited.add(key)
            listing = _sorted_listing(entry.path, report)
            if listing is not None:
                stack.append(iter(listing))
        elif is_file:
            path = entry.path
            if explicit and os.path.abspath(path) in explicit:
                continue
            if _claims_image(entry.name) or sniff_image(path):
                yield path


def _sorted_listing(folder: str, report) -> list[os.DirEntry] | None:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as err:
        report(folder, f"cannot list folder: {err.strerror or err}")
        return None


def _claims_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in SCAN.image_extensions


def _tidy(path: str) -> str:
    # "./x" is "x" whatever links exist; anything more (normpath of "a/../b") could change
    # which file is meant when "a" is a link, so it is left alone.
    while path.startswith("./") and len(path) > 2:
        path = path[2:].lstrip("/") or "."
    return path


def _key(path: str) -> str:
    return os.path.abspath(path)


# ---------------------------------------------------------------------------------- records

def _error_record(path: str, reason: str) -> dict:
    return {"path": path, "status": "error", "error": reason}


def _internal(err: BaseException) -> str:
    return f"internal error: {type(err).__name__}: {err}"


def _encode(record: dict) -> bytes:
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8 (kept by Python as lone surrogates): \u escapes
        # keep the line valid UTF-8 and json.loads gives back the same str.
        return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


def _csv_row(record: dict) -> list:
    groups = record.get("groups") or {}
    times = record.get("times_ms") or {}
    values = {"path": record.get("path"), "status": record.get("status"),
              "error": record.get("error"), "total_ms": times.get("total")}
    for column in ("decision", "score", "skin_fraction", "passes_skin", "rule"):
        values[column] = record.get(column)
    for column in CSV_COLUMNS[7:-2]:
        values[column] = groups.get(column)
    return [_csv_cell(values.get(column)) for column in CSV_COLUMNS]


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def iter_results(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the records of a results file, skipping (with a :class:`ResultsWarning`) bad lines.

    A last line without its newline is a record torn by a killed scan: it is skipped (and
    ``scan(..., resume=True)`` truncates it and scans that image again).
    """
    source = os.fspath(path)
    with open(source, "rb") as f:
        number = 0
        for number, raw in enumerate(f, 1):
            torn = not raw.endswith(b"\n")
            record = _parse_line(raw)
            if torn or record is None:
                what = ("torn last line (an interrupted scan; --resume repairs it)" if torn
                        else "not a JSON record")
                warnings.warn(f"{source} line {number}: {what}; skipped", ResultsWarning,
                              stacklevel=2)
                continue
            yield record


def read_results(path: str | os.PathLike) -> list[dict]:
    """All records of a results file, in file order; a torn last line is skipped and reported.

    >>> import tempfile, os, warnings
    >>> f = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> _ = open(f, "w").write('{"path": "a.jpg", "status": "ok"}\\n{"path": "b.j')
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     records = read_results(f)
    >>> [r["path"] for r in records], "torn" in str(caught[0].message)
    (['a.jpg'], True)
    """
    return list(iter_results(path))


def _parse_line(raw: bytes) -> dict | None:
    try:
        record = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        return None
    return record


class _ResultsFile:
    """The parent's writer: repairs and reads back on resume, appends, flushes, fsyncs."""

    def __init__(self, out: str, *, resume: bool, csv: str | None) -> None:
        self.out = out
        self.done: set[str] = set()
        self.bad_lines = 0
        self.torn = False
        parent = os.path.dirname(os.path.abspath(out))
        os.makedirs(parent, exist_ok=True)
        # O_APPEND: every write lands at the end, after any truncation below.
        self._file = open(out, "ab")
        try:
            _lock(self._file, out)
            if resume:
                self._recover()
            else:
                self._file.truncate(0)
        except BaseException:
            self._file.close()
            raise
        self._csv_file = None
        if csv is not None:
            self._csv_file = self._start_csv(csv, rebuild=resume)
            self._csv_writer = csv_module.writer(self._csv_file, lineterminator="\n")
        self._last_sync = time.monotonic()

    def _recover(self) -> None:
        # Stream the file (it may hold millions of records); remember where the last complete
        # line ends so that a torn tail can be cut off before appending.
        good_end = 0
        with open(self.out, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    self.torn = True
                    break
                good_end += len(raw)
                record = _parse_line(raw)
                if record is None:
                    if raw.strip():
                        self.bad_lines += 1
                    continue
                self.done.add(_key(record["path"]))
        if self.torn:
            self._file.truncate(good_end)
            os.fsync(self._file.fileno())

    def _start_csv(self, csv: str, *, rebuild: bool):
        os.makedirs(os.path.dirname(os.path.abspath(csv)), exist_ok=True)
        # On resume the CSV is rebuilt from the (repaired) JSON Lines file, which is the
        # reference: a kill between the two writes can never leave them disagreeing.
        tmp = f"{csv}.tmp-{os.getpid()}"
        with open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            writer = csv_module.writer(f, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            if rebuild:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResultsWarning)
                    for record in iter_results(self.out):
                        writer.writerow(_csv_row(record))
        os.replace(tmp, csv)
        return open(csv, "a", newline="", encoding="utf-8", errors="surrogateescape")

    def write(self, records: list[dict]) -> None:
        self._file.write(b"".join(_encode(r) for r in records))
        self._file.flush()
        if self._csv_file is not None:
            self._csv_writer.writerows(_csv_row(r) for r in records)
            self._csv_file.flush()
        now = time.monotonic()
        if now - self._last_sync >= SCAN.fsync_interval_s:
            self._sync()
            self._last_sync = now

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        if self._csv_file is not None:
            os.fsync(self._csv_file.fileno())

    def close(self) -> None:
        try:
            self._file.flush()
            if self._csv_file is not None:
                self._csv_file.flush()
            self._sync()
        finally:
            self._file.close()
            if self._csv_file is not None:
                self._csv_file.close()


def _lock(file, out: str) -> None:
    """Refuse a second scan writing the same results file (it would duplicate records)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; one scan per file is on the user
        return
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OSError(errno.EBUSY, "another fleck scan is writing this results file",
                      out) from None


# ---------------------------------------------------------------------------------- workers

class _Worker:
    """Lives in a worker process: one Detector, reused for every image."""

    def __init__(self, config: FleckConfig, overlays: str | None) -> None:
        from fleck.detector import Detector

        self.detector = Detector(config)
        self.overlays = overlays

    def scan_one(self, path: str) -> tuple[dict, str | None]:
        """(record, warning or None) for one path; never raises for a bad image."""
        try:
            detection = self.detector.detect(path)
        except ImageError as err:
            return _error_record(path, err.reason), None
        except Exception as err:  # a bug must cost one record, not the scan
            return _error_record(path, _internal(err)), None
        record = {"path": path, "status": "ok", **detection.summary()}
        warning = None
        if self.overlays is not None and detection.decision:
            try:
                _write_overlay(detection, path, self.overlays)
            except Exception as err:
                warning = f"overlay not written: {type(err).__name__}: {err}"
        return record, warning

    def scan_chunk(self, paths: list[str]) -> list[tuple[dict, str | None]]:
        return [self.scan_one(p) for p in paths]


def overlay_path(image_path: str, overlays: str | os.PathLike) -> str:
    """Where ``--overlays DIR`` puts the overlay of ``image_path``: its path mirrored under DIR.

    The image's own path (a leading ``/`` or drive dropped, ``..`` written ``__``) is kept, with
    ``.png`` appended, so that two images never share an overlay file.

    >>> overlay_path("photos/2020/a.jpg", "out")
    'out/photos/2020/a.jpg.png'
    >>> overlay_path("/data/../b.png", "out")
    'out/data/__/b.png.png'
    """
    _, rest = os.path.splitdrive(image_path)
    parts = [p for p in rest.replace(os.sep, "/").split("/") if p not in ("", ".")]
    parts = ["__" if p == ".." else p for p in parts]
    return os.path.join(os.fspath(overlays), *parts[:-1], parts[-1] + ".png")


def _write_overlay(detection, path: str, overlays: str) -> None:
    from PIL import Image

    import fleck
    from fleck.loading import load

    # A reduced decode is enough: the overlay is at most overlay_max_width wide.
    loaded = load(path, reduce_to=2 * SCAN.overlay_max_width)
    width = min(loaded.rgb.shape[1], SCAN.overlay_max_width)
    picture = fleck.draw(detection, loaded.rgb, width=width)
    target = overlay_path(path, overlays)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.tmp-{os.getpid()}.png"
    Image.fromarray(picture).save(tmp, optimize=False)
    os.replace(tmp, target)  # never a half-written PNG under the final name


_WORKER: _Worker | None = None
_WORKER_CLASS = _Worker  # what each worker process builds (tests substitute a crashing one)


def _process_context():
    """Start method for the pool: forkserver where it exists, else spawn.

    Not plain fork: a child forked from a parent that has already run OpenCV's thread pool
    deadlocks inside OpenCV (seen with ``cv2.setNumThreads`` in the child), and a library
    caller's process may have done exactly that. The fork server is a fresh process with
    ``fleck`` preloaded, so workers still start in milliseconds (the server itself once,
    ~0.4 s).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["fleck.scan", "fleck.detector"])
        return context
    return multiprocessing.get_context("spawn")



def _init_worker(worker_class: type, scan_pid: int, config: FleckConfig,
                 overlays: str | None) -> None:
    global _WORKER
    # The parent handles Ctrl-C and SIGTERM for the whole scan (a terminal sends SIGINT to
    # every process of the group); a worker must finish its task, or die when terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _limit_threads()
    _watch_parent(scan_pid)
    _WORKER = worker_class(config, overlays)


def _limit_threads() -> None:
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = "1"
    import cv2

    cv2.setNumThreads(1)


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


def _scan_chunk(paths: list[str]) -> list[tuple[dict, str | None]]:
    return _WORKER.scan_chunk(paths)


_DASK_WORKER: tuple[tuple, _Worker] | None = None
_DASK_LOCK = threading.Lock()


def _dask_scan_chunk(paths: list[str], config: FleckConfig,
                     overlays: str | None) -> list[tuple[dict, str | None]]:
    """Runs on a Dask worker: one cached Detector per worker process."""
    global _DASK_WORKER
    with _DASK_LOCK:
        if _DASK_WORKER is None or _DASK_WORKER[0] != (config, overlays):
            _limit_threads()
            _DASK_WORKER = ((config, overlays), _Worker(config, overlays))
        worker = _DASK_WORKER[1]
    return worker.scan_chunk(paths)


# ---------------------------------------------------------------------------------- scanning

class _Stop:
    """Ctrl-C / SIGTERM in the parent: 1st stop submitting, 2nd abandon in-flight, 3rd raise."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.count >= 1

    @property
    def abandon(self) -> bool:
        return self.count >= 2

    def _handle(self, signum, frame) -> None:
        self.count += 1
        if self.count >= 3:
            raise KeyboardInterrupt

    def __enter__(self) -> "_Stop":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class _Progress:
    """tqdm on stderr (rate, ETA once the total is counted), or nothing."""

    def __init__(self, enabled: bool, quiet: bool) -> None:
        self.bar = None
        self.quiet = quiet
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=None, unit="img", file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.05, desc="scan")

    def set_total(self, total: int) -> None:
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def say(self, message: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Collector:
    """Receives finished records in the parent: writes, counts, reports."""

    def __init__(self, results: _ResultsFile, progress: _Progress) -> None:
        self.results = results
        self.progress = progress
        self.images = self.flagged = self.failed = 0

    def add(self, items: list[tuple[dict, str | None]]) -> None:
        if not items:
            return
        records = [record for record, _ in items]
        self.results.write(records)
        for record, warning in items:
            self.images += 1
            if record["status"] != "ok":
                self.failed += 1
                self.progress.say(f"fleck scan: {record['path']}: {record['error']}")
            elif record.get("decision"):
                self.flagged += 1
            if warning:
                self.progress.say(f"fleck scan: {record['path']}: {warning}")
        self.progress.update(len(items))


def scan(paths: Iterable[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike, *,
         config: FleckConfig | str | None = None, jobs: int | None = None,
         resume: bool = False, csv: str | os.PathLike | None = None,
         overlays: str | os.PathLike | None = None, quiet: bool = True,
         scheduler=None, chunk: int = SCAN.chunk, overwrite: bool = False) -> ScanSummary:
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
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("no paths to scan")
    for path in paths:
        if not os.path.lexists(path):
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", path)
    config = get_config(config)
    jobs = _resolve_jobs(jobs)
    if int(chunk) < 1:
        raise ValueError(f"chunk must be at least 1 image, got {chunk}")
    chunk = int(chunk)
    out = os.fspath(out)
    if not resume and not overwrite and os.path.isfile(out) and os.path.getsize(out) > 0:
        raise FileExistsError(f"{out}: the results file already holds records; use --resume "
                              "to continue it or --overwrite to start afresh")
    overlay_dir = None
    if overlays is not None:
        overlay_dir = os.fspath(overlays)
        os.makedirs(overlay_dir, exist_ok=True)
    results = _ResultsFile(out, resume=resume, csv=None if csv is None else os.fspath(csv))
    progress = _Progress(not quiet and sys.stderr.isatty(), quiet)
    if results.torn:
        progress.say(f"fleck scan: {out}: repaired a torn last line (an interrupted scan)")
    if results.bad_lines:
        progress.say(f"fleck scan: {out}: {results.bad_lines} unreadable line(s) kept as they "
                     "are; their images are scanned again")
    collector = _Collector(results, progress)
    skipped = 0

    def walk_error(path: str, reason: str) -> None:
        if _key(path) not in results.done:  # resume: never record the same folder twice
            results.done.add(_key(path))
            collector.add([(_error_record(path, reason), None)])

    exclude = [overlay_dir] if overlay_dir else []

    def todo() -> Iterator[str]:
        nonlocal skipped
        for path in find_images(paths, on_error=walk_error, exclude=exclude):
            if results.done and _key(path) in results.done:
                skipped += 1
                continue
            yield path

    batches = _batches(todo(), chunk)
    start = time.perf_counter()
    interrupted = False
    try:
        with _Stop() as stop:
            run = _run_dask if scheduler is not None else _run_local
            counting_started = False

            def start_counting() -> None:
                # The ETA needs a total: count in a thread, after the workers exist (no fork
                # with extra threads running).
                nonlocal counting_started
                if progress.bar is not None and not counting_started:
                    counting_started = True
                    _count_in_background(paths, results.done, exclude, progress)

            run(batches, collector, stop=stop, config=config, overlays=overlay_dir, jobs=jobs,
                scheduler=scheduler, started=start_counting)
            interrupted = stop.requested
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        results.close()
    seconds = time.perf_counter() - start
    return ScanSummary(images=collector.images, flagged=collector.flagged,
                       failed=collector.failed, skipped=skipped, seconds=seconds,
                       images_per_second=collector.images / seconds if seconds > 0 else 0.0,
                       out=Path(out), interrupted=interrupted)


def _resolve_jobs(jobs: int | None) -> int:
    if jobs is None or jobs == 0:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:
            return max(1, os.cpu_count() or 1)
    if int(jobs) < 1:
        raise ValueError(f"jobs must be a positive number of worker processes, got {jobs}")
    return int(jobs)


def _batches(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    while True:
        batch = list(islice(paths, size))
        if not batch:
            return
        yield batch


def _count_in_background(paths, done: set[str], exclude, progress: _Progress) -> None:
    def count() -> None:
        total = sum(1 for p in find_images(paths, exclude=exclude) if _key(p) not in done)
        progress.set_total(total)

    threading.Thread(target=count, name="fleck-scan-count", daemon=True).start()


class _LocalPool:
    """A process pool that can be replaced after a worker crash."""

    def __init__(self, jobs: int, config: FleckConfig, overlays: str | None) -> None:
        self.jobs, self.config, self.overlays = jobs, config, overlays
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=_process_context(),
                                   initializer=_init_worker,
                                   initargs=(_WORKER_CLASS, os.getpid(), self.config,
                                             self.overlays))

    def submit(self, batch: list[str]) -> Future:
        # Workers are created inside submit; they must not be born with the parent's signal
        # handlers active (a Ctrl-C in that instant would kill them).
        blocked = {signal.SIGINT, signal.SIGTERM}
        can_block = (hasattr(signal, "pthread_sigmask")
                     and threading.current_thread() is threading.main_thread())
        if can_block:
            signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            return self.executor.submit(_scan_chunk, batch)
        finally:
            if can_block:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)

    def restart(self) -> None:
        self.close(abandon=True)
        self.executor = self._new()

    def close(self, *, abandon: bool) -> None:
        if abandon:
            # shutdown() alone would wait for running tasks; the processes are ours to stop.
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=True)


def _run_local(batches: Iterator[list[str]], collector: _Collector, *, stop: _Stop,
               config: FleckConfig, overlays: str | None, jobs: int, started, **_) -> None:
    limit = SCAN.in_flight_per_worker * jobs
    pool = _LocalPool(jobs, config, overlays)
    pending: dict[Future, list[str]] = {}
    crashed: list[str] = []
    try:
        while True:
            while not stop.requested and not crashed and len(pending) < limit:
                batch = next(batches, None)
                if batch is None:
                    break
                try:
                    pending[pool.submit(batch)] = batch
                except BrokenProcessPool:
                    crashed.extend(batch)
            started()
            if stop.abandon or not (pending or crashed):
                break
            if pending:
                done, _ = wait(pending, timeout=SCAN.poll_s, return_when=FIRST_COMPLETED)
                for future in done:
                    crashed.extend(_harvest(future, pending.pop(future), collector))
            if crashed:
                # A dead worker breaks the whole pool: every other pending task fails too.
                # Collect them, then retry each suspect alone in a fresh pool.
                if pending:
                    wait(pending)
                    for future in list(pending):
                        crashed.extend(_harvest(future, pending.pop(future), collector))
                pool.restart()
                _retry_alone(crashed, pool, collector, stop)
                crashed = []
    finally:
        pool.close(abandon=stop.abandon or bool(pending))


def _harvest(future: Future, batch: list[str], collector: _Collector) -> list[str]:
    """Write a finished task's records; return its paths if its worker died."""
    try:
        items = future.result()
    except BrokenProcessPool:
        return batch
    except Exception as err:  # e.g. a result that cannot be pickled back
        items = [(_error_record(p, _internal(err)), None) for p in batch]
    collector.add(items)
    return []


def _retry_alone(paths: list[str], pool: _LocalPool, collector: _Collector,
                 stop: _Stop) -> None:
    for path in paths:
        if stop.requested:
            return  # not recorded: a resumed scan does them
        future = pool.submit([path])
        while not future.done():
            if stop.abandon:
                return
            wait([future], timeout=SCAN.poll_s)
        try:
            collector.add(future.result())
        except BrokenProcessPool:
            collector.add([(_error_record(path, _CRASHED), None)])
            pool.restart()
        except Exception as err:
            collector.add([(_error_record(path, _internal(err)), None)])


def _run_dask(batches: Iterator[list[str]], collector: _Collector, *, stop: _Stop,
              config: FleckConfig, overlays: str | None, scheduler, started, **_) -> None:
    try:
        from distributed import Client, wait as dask_wait
    except ImportError as err:
        raise ImportError("--scheduler needs Dask: pip install 'fleck[dask]'") from err

    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler) if own_client else scheduler
    pending: dict = {}
    try:
        threads = sum(client.nthreads().values()) or 1
        limit = SCAN.in_flight_per_worker * threads
        while True:
            while not stop.requested and len(pending) < limit:
                batch = next(batches, None)
                if batch is None:
                    break
                future = client.submit(_dask_scan_chunk, batch, config, overlays, pure=False)
                pending[future] = batch
            started()
            if stop.abandon or not pending:
                break
            try:
                done, _ = dask_wait(list(pending), timeout=SCAN.poll_s,
                                    return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in done:
                batch = pending.pop(future)
                try:
                    items = future.result()
                except Exception as err:  # KilledWorker, a lost connection...
                    items = [(_error_record(p, _internal(err)), None) for p in batch]
                collector.add(items)
    finally:
        if pending:
            client.cancel(list(pending))
        if own_client:
            client.close()
