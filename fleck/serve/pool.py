"""The worker processes of ``fleck serve``, driven from the server's event loop.

Why not :class:`fleck.parallel.WorkerPool` (the pool ``fleck scan`` uses)? It wraps
``concurrent.futures.ProcessPoolExecutor``, which cannot stop the one task that overran
its time: the only way to stop a running task is to terminate the whole pool, and a pool whose
worker died fails *every* task in flight (``BrokenProcessPool``). A server must answer a slow
image with 504 and a crashed worker with one 500, and go on serving the other requests. So each
worker here is a process of its own with a socket pair to the server:

* a request waits (up to its deadline) for an idle worker, sends it the bytes and awaits its
  answer, never blocking the event loop;
* past the deadline the worker running it is killed and replaced: 504 for that request, no
  other request notices;
* a worker that dies (a crash, an out-of-memory kill, a signal) costs the request it was
  running one 500 and is replaced;
* workers start from a fork server that has already imported the detector
  (:func:`fleck.parallel.process_context`), so a replacement is ready in a fraction of a second;
  they are single-threaded (:func:`fleck.parallel.limit_threads`).

>>> import asyncio
>>> async def demo():
...     pool = ServePool(1)
...     await pool.start()
...     await pool.wait_ready(60)
...     try:
...         return await pool.run("detect", {"data": b"GIF89a"}, timeout=60)
...     except TaskFailed as err:
...         return err.kind
...     finally:
...         await pool.close()
>>> asyncio.run(demo())  # doctest: +SKIP
'image'
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import pickle
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from fleck.parallel import process_context
from fleck.serve.failures import PoolBusy, PoolClosed, TaskFailed, TaskTimeout, WorkerCrashed
from fleck.serve.work import WorkerOptions, worker_main

__all__ = ["ServePool"]

log = logging.getLogger("fleck.serve")
_HEADER = struct.Struct("!Q")
_PRELOAD = ["fleck.serve.work", "fleck.detector", "fleck.censoring", "fleck.regions"]
# A worker that dies before it ever said 'ready' (a broken installation) is respawned after a
# pause, and given up after this many deaths in a row.
_EARLY_DEATHS = 3


@dataclass(eq=False)
class _Worker:
    slot: int
    process: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pid: int | None = None
    warm: bool = False
    task: asyncio.Future | None = None
    started: float = field(default_factory=time.monotonic)
    served: int = 0
    stopping: bool = False  # killed on purpose (timeout, shutdown)
    reading: asyncio.Task | None = None

    @property
    def alive(self) -> bool:
        return not self.stopping and not self.writer.is_closing()


class ServePool:
    """``size`` worker processes answering ``detect`` and ``censor`` tasks for the event loop.

    Parameters
    ----------
    size : int
        Worker processes.
    options : WorkerOptions, optional
        What every worker is told when it starts.
    max_queue : int
        Most requests waiting for a worker; :meth:`run` raises :class:`PoolBusy` beyond.
    start_method : str, optional
        Multiprocessing start method (default: fork server, else spawn).

    Examples
    --------
    >>> ServePool(2).stats()["workers"]
    0
    """

    def __init__(self, size: int, options: WorkerOptions | None = None, *, max_queue: int = 256,
                 start_method: str | None = None) -> None:
        self.size = int(size)
        self.options = options or WorkerOptions()
        self.max_queue = int(max_queue)
        self.context = process_context(start_method, preload=_PRELOAD)
        self._workers: dict[int, _Worker] = {}
        self._idle: collections.deque[_Worker] = collections.deque()
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._closing = False
        self._ready: asyncio.Event | None = None
        self._early_deaths = 0
        self._respawns: set[asyncio.Task] = set()
        self.counts = collections.Counter()  # restarts, crashes, timeouts, tasks

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers (without waiting for them to warm up: see :meth:`wait_ready`).

        Examples
        --------
        See the module's example.
        """
        self._ready = asyncio.Event()
        for slot in range(self.size):
            await self._spawn(slot)

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until every worker started by :meth:`start` has warmed up once.

        Parameters
        ----------
        timeout : float, optional
            Seconds; None waits for ever.

        Returns
        -------
        bool
            False if the time ran out.

        Examples
        --------
        See the module's example.
        """
        if self._ready is None:
            raise PoolClosed("the pool was not started")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    @property
    def was_ready(self) -> bool:
        """True once every worker started by :meth:`start` has warmed up.

        Examples
        --------
        >>> ServePool(1).was_ready
        False
        """
        return self._ready is not None and self._ready.is_set()

    @property
    def ready(self) -> bool:
        """True once every worker has warmed up, while at least one warm worker is alive.

        Examples
        --------
        >>> ServePool(1).ready
        False
        """
        return (self._ready is not None and self._ready.is_set() and not self._closing
                and any(w.warm and w.alive for w in self._workers.values()))

    async def close(self, grace: float = 2.0) -> None:
        """Stop every worker: close their sockets (they exit), kill those still there after
        ``grace`` seconds; fail the requests still waiting.

        Parameters
        ----------
        grace : float
            Seconds given to workers to finish the task in hand and exit.

        Examples
        --------
        See the module's example.
        """
        self._closing = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(PoolClosed("the server is shutting down"))
        self._waiters.clear()
        for task in list(self._respawns):
            task.cancel()
        workers = list(self._workers.values())
        for worker in workers:
            worker.stopping = True
            worker.writer.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        for worker in workers:
            await loop.run_in_executor(None, worker.process.join,
                                       max(0.0, deadline - loop.time()))
            if worker.process.exitcode is None:
                worker.process.kill()
                await loop.run_in_executor(None, worker.process.join, 5.0)
            if worker.reading is not None:
                worker.reading.cancel()
        self._workers.clear()
        self._idle.clear()

    # -- running tasks -----------------------------------------------------------------------

    async def run(self, kind: str, options: dict, *, timeout: float) -> Any:
        """Run one task in a worker and return its result.

        Parameters
        ----------
        kind : {"detect", "censor"}
            The :class:`~fleck.serve.work.Tasks` method.
        options : dict
            Its keyword arguments (the image bytes among them).
        timeout : float
            Seconds from now, waiting for a worker included.

        Returns
        -------
        object
            What the task returned.

        Raises
        ------
        TaskFailed
            The worker answered with an error (a refused image, a bad option, a bug).
        TaskTimeout
            The deadline passed; a worker running the task was killed and is being replaced.
        WorkerCrashed
            The worker died while running the task.
        PoolBusy
            ``max_queue`` requests are already waiting.
        PoolClosed
            The pool is shutting down or cannot start workers.

        Examples
        --------
        See the module's example.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        worker = await self._acquire(deadline)
        result: asyncio.Future = loop.create_future()
        result.add_done_callback(_retrieve)
        worker.task = result
        self.counts["tasks"] += 1
        blob = pickle.dumps((kind, options), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            worker.writer.writelines([_HEADER.pack(len(blob)), blob])
            await worker.writer.drain()
            return await asyncio.wait_for(asyncio.shield(result), deadline - loop.time())
        except asyncio.TimeoutError:
            if result.done() and not result.cancelled():
                return result.result()
            result.cancel()
            self.counts["timeouts"] += 1
            self._stop(worker, "timed out")
            raise TaskTimeout(f"no answer within {timeout:g} s") from None
        except (ConnectionError, OSError) as err:
            if result.done() and not result.cancelled():
                return result.result()
            raise WorkerCrashed(f"lost worker {worker.pid}: {err}") from None
        except asyncio.CancelledError:
            # The request went away (client gone, shutdown): the worker finishes the task and
            # comes back, unless it overruns the request's deadline.
            if not result.done():
                loop.call_at(deadline, self._stop_if_still, worker, result)
            raise

    async def _acquire(self, deadline: float) -> _Worker:
        if self._closing:
            raise PoolClosed("the server is shutting down")
        while self._idle:
            worker = self._idle.popleft()
            if worker.alive and worker.task is None:
                return worker
        if sum(not w.done() for w in self._waiters) >= self.max_queue:
            raise PoolBusy(f"{self.max_queue} requests are already waiting for a worker")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future = loop.create_future()
        waiter.add_done_callback(_retrieve)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), deadline - loop.time())
        except BaseException as err:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a worker in the same instant as the deadline or a cancellation.
                self._release(waiter.result())
            waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            if isinstance(err, asyncio.TimeoutError):
                self.counts["timeouts"] += 1
                raise TaskTimeout("no worker became free before the deadline") from None
            raise

    def _release(self, worker: _Worker) -> None:
        """``worker`` is idle: give it to the first request waiting, else keep it."""
        if not worker.alive or worker.slot not in self._workers:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    # -- workers -----------------------------------------------------------------------------

    async def _spawn(self, slot: int) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        process = self.context.Process(target=worker_main, args=(theirs, self.options),
                                       name=f"fleck-serve-worker-{slot}", daemon=True)
        try:
            # start() talks to the fork server (and starts it the first time): off the loop.
            await loop.run_in_executor(None, process.start)
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours, limit=2**16)
        worker = _Worker(slot, process, reader, writer, pid=process.pid)
        self._workers[slot] = worker
        worker.reading = loop.create_task(self._read(worker))

    async def _read(self, worker: _Worker) -> None:
        """Answers of one worker, until it dies; then replace it."""
        try:
            while True:
                size = _HEADER.unpack(await worker.reader.readexactly(_HEADER.size))[0]
                message = pickle.loads(await worker.reader.readexactly(size))
                if message[0] == "ready":
                    worker.warm = True
                    self._early_deaths = 0
                    if self._ready is not None and all(
                            w.warm for w in self._workers.values()) and \
                            len(self._workers) == self.size:
                        self._ready.set()
                    self._release(worker)
                    continue
                status, value = message
                task, worker.task = worker.task, None
                worker.served += 1
                if task is not None and not task.done():
                    if status == "ok":
                        task.set_result(value)
                    else:
                        task.set_exception(TaskFailed(*value))
                self._release(worker)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, pickle.UnpicklingError,
                EOFError, ValueError):
            pass
        except asyncio.CancelledError:
            return
        await self._retire(worker)

    async def _retire(self, worker: _Worker) -> None:
        """``worker``'s socket closed: collect the process, fail its task, start another."""
        loop = asyncio.get_running_loop()
        on_purpose = worker.stopping
        worker.stopping = True
        worker.writer.close()
        if self._workers.get(worker.slot) is worker:
            del self._workers[worker.slot]
        await loop.run_in_executor(None, worker.process.join, 5.0)
        if worker.process.exitcode is None:
            worker.process.kill()
            await loop.run_in_executor(None, worker.process.join, 5.0)
        status = _describe_exit(worker.process.exitcode)
        task, worker.task = worker.task, None
        if task is not None and not task.done():
            task.set_exception(WorkerCrashed(f"worker {worker.pid} died ({status})"))
        if self._closing:
            return
        if not on_purpose:
            self.counts["crashes"] += 1
            log.warning("fleck serve: worker %s died (%s); starting another", worker.pid, status)
        pause = 0.0
        if not worker.warm:
            self._early_deaths += 1
            if self._early_deaths >= _EARLY_DEATHS:
                log.error("fleck serve: %d workers died before they were ready; giving up",
                          self._early_deaths)
                self._closing = True
                for waiter in self._waiters:
                    if not waiter.done():
                        waiter.set_exception(PoolClosed("workers cannot start"))
                return
            pause = 1.0
        self.counts["restarts"] += 1
        respawn = loop.create_task(self._respawn(worker.slot, pause))
        self._respawns.add(respawn)
        respawn.add_done_callback(self._respawns.discard)

    async def _respawn(self, slot: int, pause: float) -> None:
        if pause:
            await asyncio.sleep(pause)
        if not self._closing:
            await self._spawn(slot)

    def _stop(self, worker: _Worker, why: str) -> None:
        """Kill ``worker`` on purpose; its reader notices and replaces it."""
        if worker.stopping:
            return
        log.warning("fleck serve: stopping worker %s (%s)", worker.pid, why)
        worker.stopping = True
        with contextlib.suppress(OSError):
            worker.process.kill()

    def _stop_if_still(self, worker: _Worker, task: asyncio.Future) -> None:
        if worker.task is task and not task.done():
            task.cancel()
            self.counts["timeouts"] += 1
            self._stop(worker, "overran the deadline of a request that went away")

    # -- reporting ---------------------------------------------------------------------------

    def stats(self) -> dict:
        """Workers (pid, warm, busy, tasks served), waiting requests and event counts.

        Returns
        -------
        dict
            ``workers`` (count alive), ``warm``, ``busy``, ``waiting``, ``pids``, and the
            counts ``tasks``, ``timeouts``, ``crashes``, ``restarts``.

        Examples
        --------
        >>> ServePool(1).stats()["restarts"]
        0
        """
        workers = [w for w in self._workers.values() if w.alive]
        return {"size": self.size, "workers": len(workers),
                "warm": sum(w.warm for w in workers),
                "busy": sum(w.task is not None for w in workers),
                "waiting": sum(not w.done() for w in self._waiters),
                "pids": [w.pid for w in workers],
                "busy_pids": [w.pid for w in workers if w.task is not None],
                **{k: self.counts[k] for k in ("tasks", "timeouts", "crashes", "restarts")}}


def _retrieve(future: asyncio.Future) -> None:
    """Mark a future's exception as seen (nobody may await it once its request went away)."""
    if not future.cancelled():
        future.exception()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"signal {-code}"
    return f"exit status {code}"
