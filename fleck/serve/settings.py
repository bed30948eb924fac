"""What ``fleck serve`` is told on its command line, checked once: :class:`ServeSettings`.

Nothing here imports the web stack, so ``fleck serve --help`` and the checks of the options
work without the ``serve`` extra.

>>> parse_size("20MB"), parse_size("512KiB"), parse_size("1000")
(20000000, 524288, 1000)
>>> ServeSettings(max_bytes=parse_size("2MB")).max_bytes
2000000
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fleck.config import get_config
from fleck.parallel import resolve_jobs

__all__ = ["ServeSettings", "parse_size", "default_workers", "DEFAULT_MAX_BYTES"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}

#: ``--max-bytes`` when not given: 20 MB (decimal megabytes).
DEFAULT_MAX_BYTES = 20 * 10**6


def parse_size(text: str) -> int:
    """A byte count such as ``20MB`` (10^6), ``512KiB`` (2^10) or ``1000``.

    Parameters
    ----------
    text : str
        A positive number with an optional unit: B, KB, MB, GB (powers of 1000) or KiB, MiB,
        GiB (powers of 1024), in any case.

    Returns
    -------
    int
        The number of bytes, at least 1.

    Raises
    ------
    ValueError
        For anything else.

    Examples
    --------
    >>> parse_size("1.5 mb"), parse_size("1GiB")
    (1500000, 1073741824)
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise ValueError(f"expected a size such as 20MB, 512KiB or 1000000, got {text!r}")
    value = int(float(match.group(1)) * _UNITS[unit])
    if value < 1:
        raise ValueError(f"a size must be at least 1 byte, got {text!r}")
    return value


def default_workers() -> int:
    """Worker processes when ``--workers`` is not given: the cores this process may use.

    In a container limited by a CPU quota (cgroup v2 ``cpu.max``), the quota rounded up,
    when it is smaller than the cores the process sees.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    cores = resolve_jobs(None)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


@dataclass(frozen=True)
class ServeSettings:
    """The server's settings; every field is a ``fleck serve`` option of the same name.

    Parameters
    ----------
    host : str
        Address to listen on; ``127.0.0.1`` (this machine only) unless told otherwise.
    port : int
        TCP port (0: any free port).
    workers : int or None
        Worker processes doing the image work (default: :func:`default_workers`).
    config : str
        The configuration used when a request names none (``?config=``).
    max_bytes : int
        Largest request body accepted; larger ones get 413 before they are read.
    timeout : float
        Seconds a request may take, waiting for a worker included; then 504, and the worker
        that was working on it is replaced.
    max_pixels : int or None
        Largest image accepted, in pixels, judged from the header before decoding (default:
        the configuration's limit, 100 megapixels).
    max_files : int
        Most ``file`` parts one multipart request may hold.
    max_queue : int
        Most requests waiting for a worker; more get 503 with ``Retry-After``.
    thresholds : str or None
        A thresholds.json (``fleck compare -o``) applied to every configuration.
    access_log : bool
        Log one line per request (uvicorn's access log).

    Examples
    --------
    >>> ServeSettings(workers=2).resolved_workers
    2
    >>> ServeSettings(config="nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown configuration 'nope'; known: fleck1996, kapur, fitted, ..., fleck_plus
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int | None = None
    config: str = "fleck1996"
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = 30.0
    max_pixels: int | None = None
    max_files: int = 32
    max_queue: int = 256
    thresholds: str | None = None
    access_log: bool = True

    def __post_init__(self) -> None:
        get_config(self.config)  # an unknown name fails here, before anything starts
        if self.workers is not None:
            resolve_jobs(self.workers)
        if not 0 <= int(self.port) <= 65535:
            raise ValueError(f"--port must be 0..65535, got {self.port}")
        for name in ("max_bytes", "max_files", "max_queue"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, "
                                 f"got {getattr(self, name)}")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"--timeout must be a positive number of seconds, got "
                             f"{self.timeout}")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ValueError(f"--max-pixels must be at least 1, got {self.max_pixels}")
        if self.thresholds is not None and not os.path.isfile(self.thresholds):
            raise ValueError(f"--thresholds {self.thresholds}: no such file")

    @property
    def resolved_workers(self) -> int:
        """``workers``, or :func:`default_workers` when it is None."""
        return resolve_jobs(self.workers) if self.workers else default_workers()

