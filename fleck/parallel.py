"""The one process pool of ``fleck``: ``fleck scan``, ``fleck compare`` and occlusion maps use it.

:class:`WorkerPool` wraps :class:`concurrent.futures.ProcessPoolExecutor` with what every
batch of ``fleck`` needs: a start method chosen once (:func:`process_context`), worker
processes that cannot be killed by a Ctrl-C arriving while they are born, a restart after a
worker crash, and an ``abandon`` close that terminates workers instead of waiting for them.
:func:`resolve_jobs` reads a ``jobs`` option the same way everywhere (``None`` or 0: every
core available to this process).

>>> resolve_jobs(3)
3
>>> resolve_jobs(None) >= 1
True
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["WorkerPool", "process_context", "resolve_jobs", "limit_threads", "THREAD_VARIABLES"]

#: Environment variables that size the thread pools of BLAS, OpenMP and friends. A worker sets
#: them to 1 (see :func:`limit_threads`): the parallelism is across processes.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def resolve_jobs(jobs: int | None) -> int:
    """The number of worker processes meant by a ``jobs`` option.

    Parameters
    ----------
    jobs : int or None
        A positive number, or ``None``/0 for every core available to this process.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        For a negative number.

    Examples
    --------
    >>> resolve_jobs(2), resolve_jobs(0) == resolve_jobs(None)
    (2, True)
    """
    if jobs is None or jobs == 0:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:
            return max(1, os.cpu_count() or 1)
    if isinstance(jobs, bool) or int(jobs) < 1:
        raise ValueError(f"jobs must be a positive number of worker processes, got {jobs}")
    return int(jobs)


def process_context(method: str | None = None, *,
                    preload: Iterable[str] = ()) -> BaseContext:
    """A multiprocessing context: ``method``, or forkserver where it exists, else spawn.

    The default is not plain fork: a child forked from a parent that has already run OpenCV's
    thread pool deadlocks inside OpenCV, and a library caller's process may have done exactly
    that. The fork server is a fresh process with the ``preload`` modules imported, so workers
    still start in milliseconds. Callers that must ship unpicklable objects (a lambda score
    function) ask for ``"fork"`` explicitly; :class:`WorkerPool` then keeps OpenCV single
    threaded while it forks.

    Parameters
    ----------
    method : {"fork", "forkserver", "spawn"}, optional
        The start method; default forkserver (else spawn).
    preload : iterable of str
        Modules the fork server imports once (forkserver only).

    Returns
    -------
    multiprocessing.context.BaseContext

    Examples
    --------
    >>> process_context("spawn").get_start_method()
    'spawn'
    """
    if method is None:
        if "forkserver" not in multiprocessing.get_all_start_methods():
            return multiprocessing.get_context("spawn")
        method = "forkserver"
    context = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        context.set_forkserver_preload(list(preload))
    return context


def limit_threads() -> None:
    """Make this (worker) process single threaded: BLAS/OpenMP variables and OpenCV.

    Examples
    --------
    >>> import cv2
    >>> saved = cv2.getNumThreads()
    >>> limit_threads(); cv2.getNumThreads()
    1
    >>> cv2.setNumThreads(saved)
    """
    for variable in THREAD_VARIABLES:
        os.environ[variable] = "1"
    import cv2

    cv2.setNumThreads(1)


@contextlib.contextmanager
def _main_file_hidden_if_unreadable() -> Iterator[None]:
    """Hide ``__main__.__file__`` while workers start when it names no file (a script piped to
    ``python -``: ``'<stdin>'``). A forkserver or spawn worker re-runs the main script from that
    path before its first task; with no such file every worker died at birth."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or os.path.isfile(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class WorkerPool:
    """A process pool that can be replaced after a worker crash, and abandoned on Ctrl-C.

    Parameters
    ----------
    jobs : int
        Worker processes.
    context : multiprocessing context
        From :func:`process_context`.
    initializer : callable, optional
        Run once in each worker with ``initargs``.
    initargs : tuple
        Arguments of ``initializer``.

    Examples
    --------
    >>> pool = WorkerPool(1, process_context())
    >>> pool.submit(abs, -3).result()
    3
    >>> pool.close(abandon=False)
    """

    def __init__(self, jobs: int, context: BaseContext, *,
                 initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> None:
        self.jobs, self.context = jobs, context
        self.initializer, self.initargs = initializer, initargs
        self.forked = context.get_start_method() == "fork"
        self._parent_threads = None
        if self.forked:
            # OpenCV's thread pool does not survive fork (a child touching it can hang): keep it
            # at one thread while workers may be forked, so they start with no pool at all.
            import cv2

            self._parent_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=self.context,
                                   initializer=self.initializer, initargs=self.initargs)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Submit ``fn(*args)``; workers born meanwhile do not see SIGINT/SIGTERM handlers."""
        # Workers are created inside submit; they must not be born with the parent's signal
        # handlers active (a Ctrl-C in that instant would kill them).
        blocked = {signal.SIGINT, signal.SIGTERM}
        can_block = (hasattr(signal, "pthread_sigmask")
                     and threading.current_thread() is threading.main_thread())
        if can_block:
            signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            with _main_file_hidden_if_unreadable():
                return self.executor.submit(fn, *args)
        finally:
            if can_block:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)

    def restart(self) -> None:
        """Replace the pool (after a worker died, which breaks every pending task)."""
        self._stop(abandon=True)
        self.executor = self._new()

    def close(self, *, abandon: bool) -> None:
        """Shut down; ``abandon`` terminates running workers instead of waiting for them."""
        try:
            self._stop(abandon=abandon)
        finally:
            if self._parent_threads is not None:
                import cv2

                cv2.setNumThreads(self._parent_threads)
                self._parent_threads = None

    def _stop(self, *, abandon: bool) -> None:
        if abandon:
            # shutdown() alone would wait for running tasks; the processes are ours to stop.
            for process in list((getattr(self.executor, "_processes", None) or {}).values()):
                if process.is_alive():
                    process.terminate()
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            self.executor.shutdown(wait=True)
