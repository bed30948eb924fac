"""Run a scan's tasks on local worker processes (:class:`fleck.parallel.WorkerPool`).

A task is a chunk of paths; at most ``in_flight_per_worker * jobs`` tasks are pending, which
bounds memory however many images there are. A worker that dies (a decoder crash, the OOM
killer) breaks the whole pool: the pending tasks are collected, the pool replaced, and each
suspect image retried alone, so a crash costs exactly one error record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool

from fleck.config import FleckConfig
from fleck.parallel import WorkerPool, process_context
from fleck.scan import settings
from fleck.scan.collect import Collector, Stop
from fleck.scan.results import error_record, internal_error
from fleck.scan.worker import Outputs, Worker, init_worker, scan_chunk
from fleck.video.rule import VideoSettings

__all__ = ["run_local", "CRASHED"]

#: The error of an image whose worker process died while reading it.
CRASHED = ("the worker process died while reading this image (a crash in a decoder, or out "
           "of memory)")

_WORKER_CLASS = Worker  # what each worker process builds (tests substitute a crashing one)


def _pool(jobs: int, config: FleckConfig, outputs: Outputs | None,
          video: VideoSettings | None) -> WorkerPool:
    context = process_context(preload=["fleck.scan", "fleck.detector"])
    return WorkerPool(jobs, context, initializer=init_worker,
                      initargs=(_WORKER_CLASS, os.getpid(), config, outputs, video))


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
    limit = settings.SCAN.in_flight_per_worker * jobs
    pool = _pool(jobs, config, outputs, video)
    pending: dict[Future, list[str]] = {}
    crashed: list[str] = []
    try:
        while True:
            while not stop.requested and not crashed and len(pending) < limit:
                batch = next(batches, None)
                if batch is None:
                    break
                try:
                    pending[pool.submit(scan_chunk, batch)] = batch
                except BrokenProcessPool:
                    crashed.extend(batch)
            started()
            if stop.abandon or not (pending or crashed):
                break
            if pending:
                done, _ = wait(pending, timeout=settings.SCAN.poll_s,
                               return_when=FIRST_COMPLETED)
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


def _harvest(future: Future, batch: list[str], collector: Collector) -> list[str]:
    """Write a finished task's records; return its paths if its worker died."""
    try:
        items = future.result()
    except BrokenProcessPool:
        return batch
    except Exception as err:  # e.g. a result that cannot be pickled back
        items = [(error_record(p, internal_error(err)), None) for p in batch]
    collector.add(items)
    return []


def _retry_alone(paths: list[str], pool: WorkerPool, collector: Collector, stop: Stop) -> None:
    for path in paths:
        if stop.requested:
            return  # not recorded: a resumed scan does them
        future = pool.submit(scan_chunk, [path])
        while not future.done():
            if stop.abandon:
                return
            wait([future], timeout=settings.SCAN.poll_s)
        try:
            collector.add(future.result())
        except BrokenProcessPool:
            collector.add([(error_record(path, CRASHED), None)])
            pool.restart()
        except Exception as err:
            collector.add([(error_record(path, internal_error(err)), None)])
