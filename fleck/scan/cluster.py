"""Run a scan's tasks on a Dask distributed cluster (``pip install 'fleck[dask]'``).

Every worker must see the same paths as the scanning process. Records come back to the
scanning process, which alone writes the results file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fleck.config import FleckConfig
from fleck.scan import settings
from fleck.scan.collect import Collector, Stop
from fleck.scan.results import error_record, internal_error
from fleck.scan.worker import Outputs, dask_scan_chunk
from fleck.video.rule import VideoSettings

__all__ = ["run_dask"]


def run_dask(batches: Iterator[list[str]], collector: Collector, *, stop: Stop,
             config: FleckConfig, outputs: Outputs | None, scheduler: Any,
             started: Callable[[], None], video: VideoSettings | None = None,
             **_: object) -> None:
    """Scan every batch on the cluster at ``scheduler`` (an address or a ``Client``).

    Raises
    ------
    ImportError
        When Dask's ``distributed`` is not installed (naming the extra to install).

    Parameters
    ----------
    batches : iterator of list of str
        Tasks, consumed lazily (at most ``in_flight_per_worker`` per Dask thread pending).
    collector : Collector
        Receives every finished record.
    stop : Stop
        Ctrl-C state: stop submitting, then abandon what runs.
    config : FleckConfig
        Detector configuration.
    outputs : Outputs, optional
        What the workers write besides the records (folders on the workers' file system).
    scheduler : str or distributed.Client
        ``tcp://host:8786``, or a client (left open).
    started : callable
        Called once tasks are submitted.
    video : VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Examples
    --------
    >>> from fleck.scan import scan
    >>> scan(["photos"], "r.jsonl", scheduler="tcp://127.0.0.1:8786")  # doctest: +SKIP
    """
    try:
        from distributed import Client
        from distributed import wait as dask_wait
    except ImportError as err:
        raise ImportError("--scheduler needs Dask: pip install 'fleck[dask]'") from err

    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler) if own_client else scheduler
    pending: dict = {}
    try:
        threads = sum(client.nthreads().values()) or 1
        limit = settings.SCAN.in_flight_per_worker * threads
        while True:
            while not stop.requested and len(pending) < limit:
                batch = next(batches, None)
                if batch is None:
                    break
                future = client.submit(dask_scan_chunk, batch, config, outputs, video,
                                       pure=False)
                pending[future] = batch
            started()
            if stop.abandon or not pending:
                break
            try:
                done, _ = dask_wait(list(pending), timeout=settings.SCAN.poll_s,
                                    return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in done:
                batch = pending.pop(future)
                try:
                    items = future.result()
                except Exception as err:  # KilledWorker, a lost connection...
                    items = [(error_record(p, internal_error(err)), None) for p in batch]
                collector.add(items)
    finally:
        if pending:
            client.cancel(list(pending))
        if own_client:
            client.close()
