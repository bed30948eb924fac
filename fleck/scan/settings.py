"""Engineering constants of the batch machinery (not detector thresholds): :data:`SCAN`.

>>> SCAN.chunk, SCAN.in_flight_per_worker
(4, 4)
"""

from __future__ import annotations

from dataclasses import dataclass

from fleck.scan.walk import IMAGE_EXTENSIONS

__all__ = ["ScanConstants", "SCAN"]


@dataclass(frozen=True)
class ScanConstants:
    """Engineering choices of the batch machinery (not detector thresholds).

    Examples
    --------
    >>> ScanConstants(chunk=8).chunk
    8
    """

    chunk: int = 4
    """Images per task sent to a worker: amortises the inter-process round trip (~0.2 ms)
    against ~5-30 ms of detection per image while keeping the progress bar smooth and the work
    lost to a SIGKILL small (the scan benchmark has the measurements)."""
    in_flight_per_worker: int = 4
    """Tasks in flight per worker process (or Dask thread): enough to keep every worker busy
    while the parent writes, and what bounds memory however many images there are."""
    fsync_interval_s: float = 1.0
    """The results file is flushed after every finished task and fsync'ed at most this often
    (a power cut loses at most this much; a process kill loses nothing already flushed)."""
    poll_s: float = 0.2
    """How often the parent wakes while waiting, to notice Ctrl-C promptly."""
    pool_idle_s: float = 300.0
    """:func:`fleck.detect_many` and ``FleckClassifier(n_jobs>1)`` keep their worker processes
    this long after a call, so that the next call (a notebook cell, a cross-validation fold)
    starts at once instead of paying the workers' start (scikit-learn's joblib does the same)."""
    overlay_max_width: int = 1280
    """Overlays of larger photos are drawn at this width (a 24 MP PNG per hit is not useful)."""
    image_extensions: tuple[str, ...] = IMAGE_EXTENSIONS
    """Names that claim to be images: scanned (and reported when unreadable) without sniffing
    (:data:`fleck.scan.walk.IMAGE_EXTENSIONS`)."""


SCAN = ScanConstants()
