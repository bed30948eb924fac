"""The scanning parent's side of a scan: Ctrl-C handling, the progress bar, record collection.

>>> import os, tempfile
>>> from fleck.scan.results import ResultsFile, error_record, read_results
>>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
>>> collector = Collector(ResultsFile(out, resume=False, csv=None), Progress(False, True))
>>> collector.add([(error_record("a.jpg", "not an image"), None)])
>>> collector.results.close()
>>> collector.images, collector.failed, len(read_results(out))
(1, 1, 1)
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from fleck.scan.results import ResultsFile

__all__ = ["Stop", "Progress", "Collector"]


class Stop:
    """Ctrl-C / SIGTERM in the parent: 1st stop submitting, 2nd abandon in-flight, 3rd raise.

    Examples
    --------
    >>> with Stop() as stop:
    ...     stop.requested, stop.abandon
    (False, False)
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Stop submitting (finish what is in flight)."""
        return self.count >= 1

    @property
    def abandon(self) -> bool:
        """Stop waiting for what is in flight."""
        return self.count >= 2

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count >= 3:
            raise KeyboardInterrupt

    def __enter__(self) -> Stop:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Progress:
    """tqdm on stderr (rate, ETA once the total is counted), or nothing.

    Parameters
    ----------
    enabled : bool
        Show a progress bar (when stderr is a terminal).
    quiet : bool
        Say nothing at all (:meth:`say` is silent).

    Examples
    --------
    >>> progress = Progress(False, False)
    >>> progress.say("fleck scan: a.jpg: not an image")  # printed on stderr
    >>> progress.close()
    """

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


class Collector:
    """Receives finished records in the parent: writes, counts, reports.

    Parameters
    ----------
    results : ResultsFile
        Where records are written.
    progress : Progress
        Where failures are reported and progress counted.

    Examples
    --------
    >>> import os, tempfile
    >>> from fleck.scan.results import ResultsFile, error_record
    >>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> collector = Collector(ResultsFile(out, resume=False, csv=None), Progress(False, True))
    >>> collector.add([(error_record("a.jpg", "not an image"), None)])
    >>> collector.results.close()
    >>> collector.images, collector.failed
    (1, 1)
    """

    def __init__(self, results: ResultsFile, progress: Progress) -> None:
        self.results = results
        self.progress = progress
        self.images = self.flagged = self.failed = 0

    def add(self, items: list[tuple[dict, str | None]]) -> None:
        """Write ``(record, warning)`` items and count the files among them (a video's frame
        records are written, not counted: its file record is)."""
        if not items:
            return
        records = [record for record, _ in items]
        self.results.write(records)
        files = 0
        for record, warning in items:
            if "frame" in record:  # a video's sampled frame: its file record follows
                continue
            files += 1
            self.images += 1
            if record["status"] != "ok":
                self.failed += 1
                self.progress.say(f"fleck scan: {record['path']}: {record['error']}")
            elif record.get("decision"):
                self.flagged += 1
            if warning:
                self.progress.say(f"fleck scan: {record['path']}: {warning}")
        self.progress.update(files)
