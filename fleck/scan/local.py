"""Run a batch's tasks on local worker processes (:class:`fleck.parallel.WorkerPool`).

A task is a chunk of items (paths for ``fleck scan``, images for :func:`fleck.detect_many`);
at most ``in_flight_per_worker * jobs`` tasks are pending (in ordered mode, finished chunks
waiting for an earlier one count too), which bounds memory however many images there are. A
worker that dies (a decoder crash, the OOM killer) breaks the whole pool: the pending tasks are
collected, the pool replaced, and each suspect item retried alone, so a crash costs exactly one
error.

:func:`run_chunks` is that loop, as an iterator of each chunk's results; :func:`run_local`
feeds a scan's records from it to the results file. A scan closes its pool at the end; the
batch API (:func:`fleck.detect_many`) keeps its pool for the next call a while
(:func:`reusable_pool`, :func:`keep_pool`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from fleck.config import FleckConfig
from fleck.parallel import WorkerPool, process_context
from fleck.scan import settings
from fleck.scan.collect import Collector, Stop
from fleck.scan.results import error_record, internal_error
from fleck.scan.worker import Outputs, Worker, init_worker, scan_chunk
from fleck.video.rule import VideoSettings

__all__ = ["run_local", "run_chunks", "worker_pool", "reusable_pool", "keep_pool",
           "release_pools", "CRASHED"]

#: The error of an image whose worker process died while reading it.
CRASHED = ("the worker process died while reading this image (a crash in a decoder, or out "
           "of memory)")

_WORKER_CLASS = Worker  # what each worker process builds (tests substitute a crashing one)

Item = TypeVar("Item")
Result = TypeVar("Result")


def worker_pool(jobs: int, config: FleckConfig, outputs: Outputs | None = None,
                video: VideoSettings | None = None) -> WorkerPool:
    """``jobs`` worker processes, each holding one :class:`~fleck.scan.worker.Worker`.

    Parameters
    ----------
    jobs : int
        Worker processes.
    config : FleckConfig
        The detector configuration of every worker.
    outputs : Outputs, optional
        What a scan's workers write besides the records (overlays, skin maps).
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images (scans only).

    Returns
    -------
    WorkerPool

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> from fleck.scan.worker import scan_chunk
    >>> pool = worker_pool(1, FLECK_1996)
    >>> [record["status"] for record, _ in pool.submit(scan_chunk, ["no/such.jpg"]).result()]
    ['error']
    >>> pool.close(abandon=False)
    """
    context = process_context(preload=["fleck.scan", "fleck.detector"])
    return WorkerPool(jobs, context, initializer=init_worker,
                      initargs=(_WORKER_CLASS, os.getpid(), config, outputs, video))


_IDLE: dict[tuple, WorkerPool] = {}  # at most one pool waiting for its next call
_IDLE_LOCK = threading.Lock()
_IDLE_TIMER: threading.Timer | None = None


def _pool_key(jobs: int, config: FleckConfig) -> tuple:
    # The process matters too: a forked child must not use its parent's workers.
    return (jobs, config, _WORKER_CLASS, os.getpid())


def reusable_pool(jobs: int, config: FleckConfig) -> tuple[WorkerPool, tuple]:
    """The pool a previous batch left with :func:`keep_pool`, or a new one; and its key.

    Parameters
    ----------
    jobs : int
    config : FleckConfig

    Returns
    -------
    (WorkerPool, key)
        Give both to :func:`keep_pool` when done with the pool (or close it).

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> pool, key = reusable_pool(1, FLECK_1996)
    >>> keep_pool(pool, key)
    >>> reusable_pool(1, FLECK_1996)[0] is pool
    True
    >>> pool.close(abandon=False)
    """
    key = _pool_key(jobs, config)
    with _IDLE_LOCK:
        pool = _IDLE.pop(key, None)
    return (pool if pool is not None else worker_pool(jobs, config)), key


def keep_pool(pool: WorkerPool, key: tuple) -> None:
    """Keep an idle, healthy pool for the next :func:`reusable_pool` call with the same key.

    Only one pool is kept (the one kept before is closed); it is closed after
    ``SCAN.pool_idle_s`` seconds without use, at exit, or by :func:`release_pools`.

    Parameters
    ----------
    pool : WorkerPool
        With no task pending.
    key : tuple
        From :func:`reusable_pool`.

    Examples
    --------
    See :func:`reusable_pool`.
    """
    global _IDLE_TIMER
    with _IDLE_LOCK:
        replaced = [p for k, p in _IDLE.items() if k != key or p is not pool]
        _IDLE.clear()
        _IDLE[key] = pool
        if _IDLE_TIMER is not None:
            _IDLE_TIMER.cancel()
        _IDLE_TIMER = threading.Timer(settings.SCAN.pool_idle_s, release_pools)
        _IDLE_TIMER.daemon = True
        _IDLE_TIMER.start()
    for old in replaced:
        old.close(abandon=False)


def release_pools() -> int:
    """Close the worker processes kept for the next batch; returns how many pools were closed.

    Returns
    -------
    int

    Examples
    --------
    >>> release_pools() >= 0
    True
    """
    with _IDLE_LOCK:
        pools = list(_IDLE.values())
        _IDLE.clear()
    for pool in pools:
        pool.close(abandon=False)
    return len(pools)


class _Never:
    """The :class:`Stop` of a run that is never asked to stop (it is interrupted by raising)."""

    requested = False
    abandon = False


def run_chunks(chunks: Iterator[list[Item]], pool: WorkerPool,
               task: Callable[[list[Item]], list[Result]],
               failed: Callable[[Item, str], Result], *, stop: Stop | Any = None,
               ordered: bool = False, keep_open: bool = False,
               started: Callable[[], None] = lambda: None) -> Iterator[list[Result]]:
    """Run ``task(chunk)`` on ``pool`` for every chunk; yield each chunk's results.

    Results come in completion order, or in the order of ``chunks`` when ``ordered``. An item
    whose worker died gives ``failed(item, CRASHED)``; a task whose results cannot be sent back
    gives ``failed(item, reason)`` for each of its items. The pool is closed when the iterator
    ends (unless ``keep_open``), is closed early (``break``), or raises; workers still busy are
    then terminated.

    Parameters
    ----------
    chunks : iterator of lists
        The items, a chunk per task; pulled lazily, at most ``in_flight_per_worker * jobs``
        chunks at a time.
    pool : WorkerPool
        From :func:`worker_pool` (closed by this iterator).
    task : callable
        Runs in a worker: ``task(chunk)`` -> one result per item, in order.
    failed : callable
        ``failed(item, reason)`` -> the result of an item that gave none.
    stop : Stop, optional
        A scan's Ctrl-C handling: stop submitting when ``requested``, stop waiting when
        ``abandon``. Crashed items not yet retried when it is requested give no result.
    ordered : bool
        Yield in the order of ``chunks`` (each chunk whole) instead of completion order (where
        a crashed chunk's items come one by one as they are retried).
    keep_open : bool
        Leave the pool open when every chunk has been run (the caller reuses or closes it).
    started : callable
        Called after each round of submissions (a scan starts counting its images then).

    Yields
    ------
    list
        One list of results (in item order) per chunk, or per retried item when not ordered.
        A task may give several results for one item (a scan's video): they stay together.

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> from fleck.scan.worker import scan_chunk
    >>> chunks = iter([["a.jpg", "b.jpg"], ["c.jpg"]])
    >>> results = run_chunks(chunks, worker_pool(2, FLECK_1996), scan_chunk,
    ...                      lambda path, reason: ({"path": path}, None), ordered=True)
    >>> [[record["path"] for record, _ in chunk] for chunk in results]
    [['a.jpg', 'b.jpg'], ['c.jpg']]
    """
    halt = stop if stop is not None else _Never()
    limit = settings.SCAN.in_flight_per_worker * pool.jobs
    pending: dict[Future, tuple[int, list[Item]]] = {}
    crashed: list[tuple[int, list[Item]]] = []
    waiting: dict[int, list[Result]] = {}  # ordered: finished chunks behind an unfinished one
    submitted = emitted = 0
    exhausted = False

    def finish(number: int, results: list[Result]) -> Iterator[list[Result]]:
        nonlocal emitted
        if not ordered:
            yield results
            return
        waiting[number] = results
        while emitted in waiting:
            emitted += 1
            yield waiting.pop(emitted - 1)

    def harvest(futures: list[Future]) -> Iterator[list[Result]]:
        for future in futures:
            number, chunk = pending.pop(future)
            results = _harvest(future, chunk, failed)
            if results is None:
                crashed.append((number, chunk))
            else:
                yield from finish(number, results)

    try:
        while True:
            while (not halt.requested and not crashed
                   and len(pending) + len(waiting) < limit):
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                try:
                    pending[pool.submit(task, chunk)] = (submitted, chunk)
                except BrokenProcessPool:
                    crashed.append((submitted, chunk))
                submitted += 1
            started()
            if halt.abandon or not (pending or crashed):
                break
            if pending:
                done, _ = wait(pending, timeout=settings.SCAN.poll_s,
                               return_when=FIRST_COMPLETED)
                yield from harvest(list(done))
            if crashed:
                # A dead worker breaks the whole pool: every other pending task fails too.
                # Collect them, then retry each suspect alone in a fresh pool.
                if pending:
                    wait(pending)
                    yield from harvest(list(pending))
                pool.restart()
                for number, chunk in sorted(crashed, key=lambda c: c[0]):
                    retried: list[Result] = []
                    done_items = 0
                    for results in _retry_alone(chunk, pool, task, failed, halt):
                        done_items += 1
                        if ordered:
                            retried.extend(results)
                        else:
                            yield results
                    if ordered and done_items == len(chunk):
                        yield from finish(number, retried)
                crashed = []
    finally:
        if not (keep_open and exhausted and not pending and not crashed):
            pool.close(abandon=halt.abandon or bool(pending))


def _harvest(future: Future, chunk: list, failed: Callable) -> list | None:
    """A finished task's results; None if its worker died."""
    try:
        return future.result()
    except BrokenProcessPool:
        return None
    except Exception as err:  # e.g. a result that cannot be pickled back
        return [failed(item, internal_error(err)) for item in chunk]


def _retry_alone(chunk: list, pool: WorkerPool, task: Callable, failed: Callable,
                 stop: Stop | Any) -> Iterator[list]:
    """The results of each item of ``chunk`` run alone (a list per item: a scanned video gives
    several records, written together)."""
    for item in chunk:
        if stop.requested:
            return  # no result: a resumed scan does them
        future = pool.submit(task, [item])
        while not future.done():
            if stop.abandon:
                return
            wait([future], timeout=settings.SCAN.poll_s)
        try:
            results = future.result()
        except BrokenProcessPool:
            results = [failed(item, CRASHED)]
            pool.restart()
        except Exception as err:
            results = [failed(item, internal_error(err))]
        yield results


def _scan_failure(path: str, reason: str) -> tuple[dict, None]:
    return error_record(path, reason), None


def run_local(batches: Iterator[list[str]], collector: Collector, *, stop: Stop,
              config: FleckConfig, outputs: Outputs | None, jobs: int,
              started: Callable[[], None], video: VideoSettings | None = None,
              **_: object) -> None:
    """Scan every batch on ``jobs`` local processes, handing records to ``collector``.

    Returns when every batch is written, or when ``stop`` asks for it.

    Parameters
    ----------
    batches : iterator of list of str
        Tasks, consumed lazily (at most ``in_flight_per_worker * jobs`` pending).
    collector : Collector
        Receives every finished record.
    stop : Stop
        Ctrl-C state: stop submitting, then abandon what runs.
    config : FleckConfig
        Detector configuration.
    outputs : Outputs, optional
        What the workers write besides the records (overlays, skin maps).
    jobs : int
        Worker processes.
    started : callable
        Called once workers exist (the progress bar then counts the images in a thread).
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Examples
    --------
    >>> import os, tempfile
    >>> from fleck.config import FLECK_1996
    >>> from fleck.scan.collect import Collector, Progress, Stop
    >>> from fleck.scan.results import ResultsFile
    >>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> collector = Collector(ResultsFile(out, resume=False, csv=None), Progress(False, True))
    >>> run_local(iter([["no/such.jpg"]]), collector, stop=Stop(), config=FLECK_1996,
    ...           outputs=None, jobs=1, started=lambda: None)
    >>> collector.results.close()
    >>> collector.images, collector.failed
    (1, 1)
    """
    pool = worker_pool(jobs, config, outputs, video)
    for items in run_chunks(batches, pool, scan_chunk, _scan_failure, stop=stop,
                            started=started):
        collector.add(items)
