"""What :meth:`fleck.serve.pool.ServePool.run` raises when a task does not give a result.

>>> TaskFailed("image", "not an image").reason
'not an image'
"""

from __future__ import annotations

__all__ = ["TaskFailed", "TaskTimeout", "WorkerCrashed", "PoolBusy", "PoolClosed"]


class TaskFailed(Exception):
    """The worker answered with an error: ``kind`` is ``image`` (a refused image: ``reason`` is
    the :class:`~fleck.errors.ImageError` reason), ``bad_request`` or ``internal``.

    Parameters
    ----------
    kind : str
    reason : str

    Examples
    --------
    >>> TaskFailed("image", "too small: 8x8 < minimum side 16").kind
    'image'
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind, self.reason = kind, reason


class TaskTimeout(TimeoutError):
    """The request's deadline passed (waiting for a worker, or in one: then the worker was
    replaced).

    Examples
    --------
    >>> isinstance(TaskTimeout("30 s"), TimeoutError)
    True
    """


class WorkerCrashed(RuntimeError):
    """The worker running the task died (it is being replaced).

    Examples
    --------
    >>> str(WorkerCrashed("worker 12 died (signal 9)"))
    'worker 12 died (signal 9)'
    """


class PoolBusy(RuntimeError):
    """Too many requests are already waiting for a worker.

    Examples
    --------
    >>> isinstance(PoolBusy("256 waiting"), RuntimeError)
    True
    """


class PoolClosed(RuntimeError):
    """The pool is shutting down, or gave up starting workers.

    Examples
    --------
    >>> isinstance(PoolClosed("closed"), RuntimeError)
    True
    """
