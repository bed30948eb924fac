"""The results file of ``fleck scan``: JSON Lines records, their CSV twin, reading them back.

An ok record is ``{"path", "status": "ok", **Detection.summary()}``; an error record is
``{"path", "status": "error", "error": reason}``. :class:`ResultsFile` is the scanning parent's
writer (the only process that writes): it repairs a torn last line on resume, appends, flushes
after every task and fsyncs at most every ``SCAN.fsync_interval_s`` (:mod:`fleck.scan.settings`).

>>> import tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
>>> results = ResultsFile(out, resume=False, csv=None)
>>> results.write([error_record("a.jpg", "not an image")])
>>> results.close()
>>> read_results(out)
[{'path': 'a.jpg', 'status': 'error', 'error': 'not an image'}]
"""

from __future__ import annotations

import csv as csv_module
import errno
import json
import os
import time
import warnings
from collections.abc import Iterator
from typing import IO, Any

from fleck.scan import settings

__all__ = ["CSV_COLUMNS", "ResultsWarning", "ResultsFile", "iter_results", "read_results",
           "error_record", "internal_error", "path_key"]


def _csv_columns() -> tuple[str, ...]:
    from fleck.grouper import GROUP_KINDS

    return ("path", "status", "decision", "score", "label", "skin_fraction", "passes_skin",
            "rule", "segments", "limbs", *GROUP_KINDS, "total_ms", "config", *_MEDIA_COLUMNS,
            "error")


_MEDIA_COLUMNS = ("kind", "frames", "flagged_frames", "first_flagged_s", "duration_s")
CSV_COLUMNS = _csv_columns()
"""Columns of ``--csv``: the JSON record flattened (group counts by kind, total time). One row
per file: a video or animation has its file record's row (``kind``, ``frames``,
``flagged_frames``, ``first_flagged_s``, ``duration_s``, and its ``label``), not its frames';
an image's ``kind`` is ``image``."""


class ResultsWarning(UserWarning):
    """A results file had a torn or unreadable line, which was skipped.

    Examples
    --------
    >>> import tempfile, os, warnings
    >>> f = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> _ = open(f, "w").write("not json\\n")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     read_results(f)
    []
    >>> caught[0].category.__name__
    'ResultsWarning'
    """


def error_record(path: str, reason: str) -> dict:
    """The record of an image that could not be scanned.

    Parameters
    ----------
    path : str
    reason : str

    Returns
    -------
    dict

    Examples
    --------
    >>> error_record("a.jpg", "not an image")
    {'path': 'a.jpg', 'status': 'error', 'error': 'not an image'}
    """
    return {"path": path, "status": "error", "error": reason}


def internal_error(err: BaseException) -> str:
    """The reason recorded for an unexpected exception (a bug costs one record, not the scan).

    Parameters
    ----------
    err : BaseException
        The exception a worker caught.

    Returns
    -------
    str
        ``"internal error: <type>: <message>"``.

    Examples
    --------
    >>> internal_error(KeyError("x"))
    "internal error: KeyError: 'x'"
    """
    return f"internal error: {type(err).__name__}: {err}"


def path_key(path: str) -> str:
    """The key under which resume compares paths: the absolute path.

    Parameters
    ----------
    path : str
        A path as recorded.

    Returns
    -------
    str

    Examples
    --------
    >>> import os
    >>> path_key("a.jpg") == os.path.join(os.getcwd(), "a.jpg")
    True
    """
    return os.path.abspath(path)


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
    for column in ("decision", "score", "label", "skin_fraction", "passes_skin", "rule",
                   "config", *_MEDIA_COLUMNS):
        values[column] = record.get(column)
    if values["kind"] is None and record.get("status") == "ok":
        values["kind"] = "image"
    for column in CSV_COLUMNS[CSV_COLUMNS.index("segments"):CSV_COLUMNS.index("total_ms")]:
        values[column] = groups.get(column)
    return [_csv_cell(values.get(column)) for column in CSV_COLUMNS]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def iter_results(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the records of a results file, skipping (with a :class:`ResultsWarning`) bad lines.

    A last line without its newline is a record torn by a killed scan: it is skipped (and
    ``scan(..., resume=True)`` truncates it and scans that image again).

    Parameters
    ----------
    path : path
        A results file written by ``fleck scan``.

    Yields
    ------
    dict
        One record per good line, in file order.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> _ = open(f, "w").write('{"path": "a.jpg", "status": "ok"}\\n')
    >>> [r["path"] for r in iter_results(f)]
    ['a.jpg']
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

    Parameters
    ----------
    path : path
        A results file written by ``fleck scan``.

    Returns
    -------
    list of dict

    Examples
    --------
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


class ResultsFile:
    """The parent's writer: repairs and reads back on resume, appends, flushes, fsyncs.

    Parameters
    ----------
    out : str
        The JSON Lines file (created with its folder when missing).
    resume : bool
        Keep its records (``done`` holds their :func:`path_key`), else truncate it. Frame
        records left at its end without their file record are cut off (``incomplete`` names
        their files), so a video is either complete or scanned again.
    csv : str, optional
        Also write CSV (:data:`CSV_COLUMNS`, one row per file: no frame rows); rebuilt from
        ``out`` on resume.

    Raises
    ------
    OSError
        When another scan is writing ``out`` (``EBUSY``).

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> _ = open(out, "w").write('{"path": "a.jpg", "status": "ok"}\\n{"pa')
    >>> results = ResultsFile(out, resume=True, csv=None)
    >>> results.torn, sorted(os.path.basename(p) for p in results.done)
    (True, ['a.jpg'])
    >>> results.close()
    """

    def __init__(self, out: str, *, resume: bool, csv: str | None) -> None:
        self.out = out
        self.done: set[str] = set()
        self.bad_lines = 0
        self.torn = False
        self.incomplete: list[str] = []
        parent = os.path.dirname(os.path.abspath(out))
        os.makedirs(parent, exist_ok=True)
        # O_APPEND: every write lands at the end, after any truncation below.
        self._file = open(out, "ab")  # noqa: SIM115 - closed by close()
        try:
            _lock(self._file, out)
            if resume:
                self._recover()
            else:
                self._file.truncate(0)
        except BaseException:
            self._file.close()
            raise
        self._csv_file: IO[str] | None = None
        if csv is not None:
            self._csv_file = self._start_csv(csv, rebuild=resume)
            self._csv_writer = csv_module.writer(self._csv_file, lineterminator="\n")
        self._last_sync = time.monotonic()

    def _recover(self) -> None:
        # Stream the file (it may hold millions of records); remember where the last complete
        # line ends so that a torn tail can be cut off before appending.
        # A video's frame records come before its file record, written in one go: frame
        # records at the end of the file without their file record are from a file that an
        # interruption cut short. They are cut off too, and that file is scanned again.
        good_end = 0
        frames_start: int | None = None  # where a run of frame records began
        with open(self.out, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    self.torn = True
                    break
                record = _parse_line(raw)
                if record is not None and "frame" in record:
                    if frames_start is None:
                        frames_start = good_end
                        self.incomplete = []
                    if record["path"] not in self.incomplete:
                        self.incomplete.append(record["path"])
                    good_end += len(raw)
                    continue
                good_end += len(raw)
                if record is None:
                    if raw.strip():
                        self.bad_lines += 1
                    continue
                frames_start = None
                self.done.add(path_key(record["path"]))
        if frames_start is None:
            self.incomplete = []
        else:
            good_end = frames_start
        if self.torn or frames_start is not None:
            self._file.truncate(good_end)
            os.fsync(self._file.fileno())

    def _start_csv(self, csv: str, *, rebuild: bool) -> IO[str]:
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
                        if "frame" not in record:
                            writer.writerow(_csv_row(record))
        os.replace(tmp, csv)
        return open(csv, "a", newline="", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115

    def write(self, records: list[dict]) -> None:
        """Append ``records`` (and their CSV rows) and flush; fsync when it is time."""
        self._file.write(b"".join(_encode(r) for r in records))
        self._file.flush()
        if self._csv_file is not None:
            self._csv_writer.writerows(_csv_row(r) for r in records if "frame" not in r)
            self._csv_file.flush()
        now = time.monotonic()
        if now - self._last_sync >= settings.SCAN.fsync_interval_s:
            self._sync()
            self._last_sync = now

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        if self._csv_file is not None:
            os.fsync(self._csv_file.fileno())

    def close(self) -> None:
        """Flush, fsync and close both files."""
        try:
            self._file.flush()
            if self._csv_file is not None:
                self._csv_file.flush()
            self._sync()
        finally:
            self._file.close()
            if self._csv_file is not None:
                self._csv_file.close()


def _lock(file: IO[bytes], out: str) -> None:
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
