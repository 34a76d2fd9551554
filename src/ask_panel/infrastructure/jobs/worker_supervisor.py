"""Keeps this process's procrastinate worker running: started again (registered anew) when it ends unasked.

A procrastinate worker is one row in `procrastinate_workers`; another worker starting up deletes the
rows of workers whose heartbeat is older than the stalled timeout. A worker paused that long (SIGSTOP,
a VM or GC pause) comes back unregistered: its heartbeats update nothing, and its next job fetch
breaks the `procrastinate_jobs.worker_id` foreign key, which ends the worker's loop while the process
lives on. The supervisor notices both: a worker whose row is gone is stopped and started again at
once, and a worker that ends by itself is logged as one error and started again after a backoff
(doubling up to a bound, back to the first step once a worker has run for a while).
While no worker runs, `up` is False (the worker's /readyz answers 503).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Worker(Protocol):
    """What the supervisor needs of a procrastinate worker (`procrastinate.worker.Worker`)."""

    worker_id: int | None

    async def run(self) -> None: ...

    def stop(self) -> None: ...


Sleep = Callable[[float], Awaitable[None]]
Registered = Callable[[int], Awaitable[bool]]


class SupervisedWorker:
    """Runs workers from `make_worker` one after another until `stop()`."""

    def __init__(
        self,
        make_worker: Callable[[], Worker],
        registered: Registered,
        *,
        check_s: float,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        healthy_after_s: float = 60.0,
        backoff_sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`registered(worker_id)`: whether the worker's row still exists, asked every `check_s`."""
        self._make = make_worker
        self._registered = registered
        self._check_s = check_s
        self._first_backoff = first_backoff_s
        self._max_backoff = max_backoff_s
        self._healthy_after = healthy_after_s
        self._sleep = backoff_sleep
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.up = False
        self.restarts = 0

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._supervise(), name="procrastinate-worker")

    async def stop(self) -> None:
        """Stop the current worker (its running jobs get its graceful timeout) and start no other."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.up = False

    async def _supervise(self) -> None:
        backoff = self._first_backoff
        while True:
            worker = self._make()
            started = self._clock()
            ended_by_itself = await self._run_once(worker)
            self.up = False
            if self._stopping:
                return
            self.restarts += 1
            if not ended_by_itself:
                log.warning(
                    "this worker's registration was removed (it was paused past the stalled timeout, and its "
                    "jobs went to other workers); registering again"
                )
                continue
            if self._clock() - started >= self._healthy_after:
                backoff = self._first_backoff
            log.error("the job worker stopped unexpectedly (%s); starting it again in %.0f s", ended_by_itself, backoff)
            await self._sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _run_once(self, worker: Worker) -> str:
        """Run one worker until it ends; the reason it ended by itself, or "" when it was unregistered."""
        run = asyncio.create_task(worker.run(), name="procrastinate-worker-run")
        watch = asyncio.create_task(self._watch(worker), name="procrastinate-worker-watch")
        try:
            await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():  # unregistered: stop it (running jobs are others' now) and start anew
                worker.stop()
                await asyncio.gather(run, return_exceptions=True)
                return ""
        finally:
            watch.cancel()
            if not run.done():  # stop() cancelled us: procrastinate stops gracefully on cancellation
                run.cancel()
            await asyncio.gather(run, watch, return_exceptions=True)
        error = run.exception()
        return f"{type(error).__name__}: {error}".rstrip(": ") if error is not None else "it returned"

    async def _watch(self, worker: Worker) -> None:
        """Return when the running worker's row is gone; mark the worker up while it is registered."""
        while True:
            worker_id = worker.worker_id
            if worker_id is not None:
                try:
                    if not await self._registered(worker_id):
                        return
                    self.up = True
                except asyncio.CancelledError:
                    raise
                except Exception:  # a database fault: the worker itself meets it too, and storage logs it
                    log.debug("could not check this worker's registration", exc_info=True)
            await asyncio.sleep(self._check_s if worker_id is not None else min(self._check_s, 0.1))
