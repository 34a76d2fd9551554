"""Item 4: no panel is left behind by the embedded executor, and a database fault never fails a panel.

A panel queued or running that nobody runs is taken over continuously (not only at start-up); a
transient database error in a step runs the step again instead of failing the panel; and with a
connection pool far too small for the load, every panel still completes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from typing import Any

import pytest

from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.application.outages import QUIET_S, Outage
from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import bootstrap
from ask_panel.domain.errors import ServiceBusy, StorageUnavailable
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.infrastructure.memory.repositories import MemoryRecoveryScanner
from ask_panel.infrastructure.memory.store import MemoryStore
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.conftest import make_settings
from tests.harness import TENANT, create, eventually, load, memory_settings, scripted, types
from tests.scripted import ScriptedProvider

TWO = ["fda_expert", "clinical_expert"]


def once_per_turn(panel: Panel) -> bool:
    spoken = Counter((m.round, m.agent_id) for m in panel.messages())
    return all(n == 1 for n in spoken.values())


async def test_a_queued_panel_that_nobody_runs_is_taken_over_while_the_process_runs() -> None:
    store = MemoryStore()
    uow = MemoryUnitOfWorkFactory(store)
    settings = memory_settings(worker_heartbeat_s=0.05, worker_stalled_after_s=0.2)
    scanner = MemoryRecoveryScanner(store)
    container = bootstrap(settings, uow=uow, recovery=scanner, providers=scripted(ScriptedProvider()))
    await container.start()  # nothing to resume yet: the panel is queued afterwards, and its run is lost
    try:
        panel_id = await create(container, "structured", TWO, max_rounds=1)
        async with uow(TENANT, write=True) as work:  # queued, as by a process that died before running it
            panel = await work.panels.get(panel_id, for_update=True)
            panel.queue()
            await work.panels.save(panel)
            await work.commit()

        async def completed() -> bool:
            return (await container.panels.get(TENANT, panel_id)).status is PanelStatus.COMPLETED

        await eventually(completed, "the orphaned panel was taken over and completed")
    finally:
        await container.stop()


async def test_a_running_panel_whose_runner_beats_is_never_taken_over() -> None:
    store = MemoryStore()
    settings = memory_settings(worker_heartbeat_s=0.02, worker_stalled_after_s=0.1)
    provider = ScriptedProvider(delay_s=0.05)  # turns far longer than the silence that marks an orphan
    uow = MemoryUnitOfWorkFactory(store)
    runner = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(store), providers=scripted(provider))
    other = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(store), providers=scripted(provider))
    await runner.start()
    await other.start()
    try:
        panel_id = await create(runner, "structured", TWO, max_rounds=2, consensus_threshold=1.0)
        await runner.panels.execute(TENANT, panel_id)
        await runner.pool.running[panel_id]
        panel, _ = await load(runner, panel_id)
    finally:
        await other.stop()
        await runner.stop()
    assert panel.status is PanelStatus.COMPLETED
    assert panel.attempt == 1, "one run from start to end: the other process never took it over"


class FlakyCheckpoints:
    """Checkpoint writes that fail as a database fault would, on the writes numbered in `failing`."""

    def __init__(self, inner: UnitOfWorkCheckpoints, failing: set[int], error: StorageUnavailable) -> None:
        self._inner = inner
        self._failing = failing
        self._error = error
        self.writes = 0

    async def write(self, panel: Panel) -> list[StoredEvent]:
        self.writes += 1
        if self.writes in self._failing:
            raise self._error
        return await self._inner.write(panel)


@pytest.mark.parametrize(
    "error", [StorageUnavailable("The database is unavailable"), ServiceBusy("All connections are busy")]
)
async def test_a_transient_database_error_in_a_step_runs_the_step_again_instead_of_failing_the_panel(
    error: StorageUnavailable, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ask_panel.observability.instrumented")
    store = MemoryStore()
    uow = MemoryUnitOfWorkFactory(store)
    checkpoints = FlakyCheckpoints(UnitOfWorkCheckpoints(uow), {3, 4, 7}, error)
    container = bootstrap(memory_settings(), uow=uow, checkpoints=checkpoints, providers=scripted(ScriptedProvider()))
    await container.start()
    try:
        panel_id = await create(container, "structured", TWO, max_rounds=2, consensus_threshold=1.0)
        await container.panels.execute(TENANT, panel_id)
        await container.pool.running[panel_id]
        panel, events = await load(container, panel_id)
    finally:
        await container.stop()
    assert panel.status is PanelStatus.COMPLETED, panel.error
    assert "error" not in types(events)
    assert container.pool.retries >= 1  # writes of concurrent turns may fail in one run
    assert once_per_turn(panel), "no committed turn repeated"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    runs = [r.getMessage() for r in caplog.records if r.name == "ask_panel.observability.instrumented"]
    started = [line for line in runs if line.startswith("panel run started")]
    ended = [line for line in runs if line.startswith("panel run ended")]
    assert len(started) == len(ended) == container.pool.retries + 1, runs  # each run logs its start and its end
    assert started[1:] == [f"panel run started again (retry {n + 1})" for n in range(container.pool.retries)]
    assert ended[:-1] == [
        "panel run ended: interrupted (database unavailable); it runs again from its last checkpoint"
    ] * (container.pool.retries)
    assert ended[-1] == "panel run ended: completed"


@pytest.mark.timeout(300)
async def test_with_one_connection_for_many_panels_every_panel_completes_and_none_fails(
    pg_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        pg_url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.5,
        max_concurrent_panels=32,
        simulated_token_delay_ms=0,
        worker_heartbeat_s=0.5,
        worker_stalled_after_s=3,
    )
    container = bootstrap(settings)
    caplog.set_level(logging.INFO, logger="ask_panel.infrastructure.db.engine")
    failures = record_failures(monkeypatch, "the database")
    await container.start()
    try:
        panel_ids = []
        for _ in range(30):
            created = await retry_busy(
                lambda: container.panels.create(
                    TENANT,
                    CreatePanel(query="What is our FDA 510(k) strategy?", panel_type=PanelType.OPEN, agent_ids=TWO),
                )
            )
            panel_ids.append(created.panel.panel_id)
        await asyncio.gather(*(retry_busy(lambda p=p: container.panels.execute(TENANT, p)) for p in panel_ids))

        async def all_ended() -> bool:
            statuses = [await retry_busy(lambda p=p: container.panels.get(TENANT, p)) for p in panel_ids]
            return all(s.status.is_terminal for s in statuses)

        await eventually_s(all_ended, "every panel ended", timeout_s=240)
        panels = [await retry_busy(lambda p=p: container.panels.get(TENANT, p)) for p in panel_ids]
    finally:
        await container.stop()
    assert container.pool.retries > 0, "the pool was exhausted (else this test proves nothing)"
    assert Counter(p.status.value for p in panels) == {"completed": len(panel_ids)}, [p.error for p in panels]
    assert all(once_per_turn(p) for p in panels)
    # The exhausted pool is one outage, not a warning per request: a new one can begin only after a quiet
    # moment (no failure for QUIET_S), and under load there may be a few (counted, not assumed absent).
    database_lines = [r.getMessage() for r in caplog.records if r.name == "ask_panel.infrastructure.db.engine"]
    began = [line for line in database_lines if line.startswith("the database is unavailable")]
    ended = [line for line in database_lines if line.startswith("the database is available again")]
    quiet_moments = sum(b - a >= 0.99 * QUIET_S for a, b in itertools.pairwise(failures))
    assert 1 <= len(began) <= quiet_moments + 1, (len(failures), quiet_moments, database_lines)
    assert len(began) < len(failures), "fewer warnings than failed requests"
    assert len(began) - 1 <= len(ended) <= len(began), database_lines


def record_failures(monkeypatch: pytest.MonkeyPatch, what: str) -> list[float]:
    """The monotonic times of the failures reported to the outage named `what` (in this process)."""
    times: list[float] = []
    failed = Outage.failed

    def recording(outage: Outage, error: BaseException | str, *, consequence: str = "") -> None:
        if outage.what == what:
            times.append(time.monotonic())
        failed(outage, error, consequence=consequence)

    monkeypatch.setattr(Outage, "failed", recording)
    return times


async def retry_busy(call: Any) -> Any:
    """What a client does with a 503: try again a moment later."""
    for _ in range(400):
        try:
            return await call()
        except StorageUnavailable:
            await asyncio.sleep(0.05)
    raise AssertionError("the service stayed busy")


async def eventually_s(check: Any, what: str, *, timeout_s: float) -> None:
    """Poll `check` every 0.2 s for at most `timeout_s` (bounded; nothing asserted about how long)."""
    for _ in range(int(timeout_s / 0.2)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")
