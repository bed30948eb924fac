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

Walking: :func:`find_images` (:mod:`fleck.scan.walk`, the walker ``fleck compare`` uses too)
recognises images by name *and* by content, skips hidden entries, follows links and walks each
folder once. A file named explicitly is always attempted.

``resume=True`` reads the existing results, truncates a torn last line (a scan killed while
writing), and skips every path already recorded (ok or error; paths are compared as absolute
paths, so resume from the same working directory when the recorded paths are relative).
Without ``resume`` a results file that already holds records is refused (``FileExistsError``)
unless ``overwrite``: re-running a long scan without ``--resume`` must not throw its results away.

Modules: :mod:`~fleck.scan.walk` (which files), :mod:`~fleck.scan.results` (the results file),
:mod:`~fleck.scan.worker` (what a worker process runs), :mod:`~fleck.scan.local` (local
processes), :mod:`~fleck.scan.cluster` (Dask), :mod:`~fleck.scan.run` (:func:`scan` itself).

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

from fleck.overlay import overlay_path
from fleck.scan.results import CSV_COLUMNS, ResultsWarning, iter_results, read_results
from fleck.scan.run import ScanSummary, scan
from fleck.scan.settings import SCAN, ScanConstants
from fleck.scan.walk import IMAGE_EXTENSIONS, find_images

__all__ = ["scan", "ScanSummary", "find_images", "read_results", "iter_results",
           "ResultsWarning", "CSV_COLUMNS", "SCAN", "ScanConstants", "IMAGE_EXTENSIONS",
           "overlay_path"]
