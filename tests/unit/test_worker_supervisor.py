"""The job worker's supervisor: a worker that ends unasked, or loses its registration, is started again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from ask_panel.infrastructure.jobs.worker_supervisor import SupervisedWorker

pytestmark = pytest.mark.timeout(20)


class FakeWorker:
    """Registers as the next id, then runs until stopped, or fails / returns at once when told to."""

    def __init__(self, worker_id: int, *, ends_with: BaseException | None = None, returns: bool = False) -> None:
        self._id = worker_id
        self.worker_id: int | None = None
        self._ends_with = ends_with
        self._returns = returns
        self._stopped = asyncio.Event()
        self.stopped_by_request = False

    async def run(self) -> None:
        self.worker_id = self._id
        try:
            if self._ends_with is not None:
                raise self._ends_with
            if self._returns:
                return
            await self._stopped.wait()
        finally:
            self.worker_id = None

    def stop(self) -> None:
        self.stopped_by_request = True
        self._stopped.set()


class Registry:
    """The `procrastinate_workers` table: which ids are registered."""

    def __init__(self) -> None:
        self.ids: set[int] = set()

    async def registered(self, worker_id: int) -> bool:
        return worker_id in self.ids


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):  # generous for a loaded machine; nothing asserted on time
        while not condition():  # noqa: ASYNC110 (polls the supervisor's state, which has no event)
            await asyncio.sleep(0.005)


class Backoffs:
    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


async def test_a_worker_that_dies_is_logged_once_and_started_again_with_a_growing_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry()
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        n = len(made) + 1
        registry.ids.add(n)
        worker = FakeWorker(n, ends_with=RuntimeError("foreign key violation") if n <= 2 else None)
        made.append(worker)
        return worker

    backoffs = Backoffs()
    supervisor = SupervisedWorker(make, registry.registered, check_s=0.01, backoff_sleep=backoffs)
    with caplog.at_level(logging.INFO, logger="ask_panel.infrastructure.jobs.worker_supervisor"):
        supervisor.start()
        await eventually(lambda: supervisor.up)
        await supervisor.stop()
    assert len(made) == 3
    assert supervisor.restarts == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "the job worker stopped unexpectedly (RuntimeError: foreign key violation); starting it again in 1 s",
        "the job worker stopped unexpectedly (RuntimeError: foreign key violation); starting it again in 2 s",
    ]
    assert backoffs.waited == [1.0, 2.0]
    assert not any(r.exc_info for r in caplog.records), "one line per ending, no traceback"
    assert made[-1].worker_id is None and not supervisor.up, "stop() ends the running worker"


async def test_the_backoff_is_bounded() -> None:
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        made.append(FakeWorker(len(made) + 1, returns=len(made) < 8))
        return made[-1]

    registry = Registry()
    registry.ids.update(range(1, 20))
    backoffs = Backoffs()
    supervisor = SupervisedWorker(make, registry.registered, check_s=0.01, max_backoff_s=5.0, backoff_sleep=backoffs)
    supervisor.start()
    await eventually(lambda: supervisor.up)
    await supervisor.stop()
    assert backoffs.waited == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]


async def test_a_worker_whose_registration_was_pruned_is_stopped_and_registered_anew(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry()
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        n = len(made) + 1
        registry.ids.add(n)
        made.append(FakeWorker(n))
        return made[-1]

    backoffs = Backoffs()
    supervisor = SupervisedWorker(make, registry.registered, check_s=0.01, backoff_sleep=backoffs)
    with caplog.at_level(logging.INFO, logger="ask_panel.infrastructure.jobs.worker_supervisor"):
        supervisor.start()
        await eventually(lambda: supervisor.up)
        registry.ids.discard(1)  # another worker, starting up, pruned this one as stalled
        await eventually(lambda: len(made) == 2 and supervisor.up)
        await supervisor.stop()
    assert made[0].stopped_by_request, "the unregistered worker was stopped, not left fetching with a stale id"
    assert backoffs.waited == [], "registering again needs no backoff"
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "registering again" in caplog.records[0].getMessage()


async def test_not_up_while_no_worker_runs() -> None:
    registry = Registry()
    gate = asyncio.Event()
    made: list[FakeWorker] = []

    def make() -> FakeWorker:
        made.append(FakeWorker(len(made) + 1, ends_with=RuntimeError("boom") if not made else None))
        registry.ids.add(len(made))
        return made[-1]

    async def held_backoff(_seconds: float) -> None:
        await gate.wait()

    supervisor = SupervisedWorker(make, registry.registered, check_s=0.01, backoff_sleep=held_backoff)
    supervisor.start()
    await eventually(lambda: len(made) == 1 and made[0].worker_id is None)
    await asyncio.sleep(0.05)
    assert not supervisor.up, "down during the backoff"
    gate.set()
    await eventually(lambda: supervisor.up)
    await supervisor.stop()


def test_a_job_cancelled_as_its_worker_stops_ends_in_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ask_panel.infrastructure.jobs.procrastinate_queue import quiet_aborted_jobs

    quiet_aborted_jobs()
    logger = logging.getLogger("procrastinate.worker")
    with caplog.at_level(logging.INFO, logger="procrastinate.worker"):
        try:
            raise asyncio.CancelledError
        except asyncio.CancelledError as cancelled:
            logger.info("Job run_panel[1] ended with status: Aborted", exc_info=cancelled)
        try:
            raise RuntimeError("a real failure")
        except RuntimeError as error:
            logger.error("Job run_panel[2] ended with status: Error", exc_info=error)
    aborted, failed = caplog.records
    assert aborted.exc_info is None
    assert failed.exc_info is not None, "other failures keep their traceback"
