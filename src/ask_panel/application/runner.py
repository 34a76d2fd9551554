"""Runs panels: claims a panel for a new attempt, drives its strategy, and ends it.

`PanelRun.execute` runs one panel to its end (used by the in-process pool and by workers).
`LocalPanelPool` is the in-process executor: bounded concurrency, cancellation of the run's task,
resumption of unfinished panels at start-up, heartbeats for its runs, and (as the embedded executor)
the continuous take-over of panels nobody runs.

A fault of the database (`StorageUnavailable`: unreachable, stalled, out of connections) never fails
a panel: the run stops where it is, waits (with backoff) and runs again from its last checkpoint,
which repeats only the step that was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping

from ask_panel.application.discussion import PanelDiscussion, UnitOfWorkCheckpoints
from ask_panel.application.outages import Outage
from ask_panel.application.ports import (
    AgentRepository,
    CheckpointStore,
    EventPublisher,
    ProviderRegistry,
    RecoveryScanner,
    UnitOfWorkFactory,
)
from ask_panel.application.pricing import Prices
from ask_panel.application.tenant_meter import TenantMeter
from ask_panel.domain.errors import BudgetExceeded, DomainError, PanelNotFound, StaleAttempt, StorageUnavailable
from ask_panel.domain.experts import BUILTIN_BY_ID, Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus
from ask_panel.domain.strategies import strategy_for

log = logging.getLogger(__name__)


async def resolve_experts(agents: AgentRepository, panel: Panel) -> dict[str, Expert]:
    """The members' definitions: the panel's own snapshot; for a panel stored without one, the registry's."""
    experts: dict[str, Expert] = {}
    for member in panel.members:
        expert = (
            panel.expert(member.agent_id) or BUILTIN_BY_ID.get(member.agent_id) or await agents.get(member.agent_id)
        )
        experts[member.agent_id] = expert or Expert(
            member.agent_id, member.agent_name, member.agent_role, (), "Answer from your field."
        )
    return experts


class PanelRun:
    """Everything needed to execute panels; one instance serves every run of a process."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        publisher: EventPublisher,
        providers: ProviderRegistry,
        prices: Prices,
        default_model: str | None = None,
        checkpoints: CheckpointStore | None = None,
        tenant_meter: Callable[[TenantId], TenantMeter | None] | None = None,
    ) -> None:
        """`tenant_meter` holds each run to its tenant's daily and monthly budgets (`UsageService.meter`)."""
        self._uow = uow_factory
        self._checkpoints = checkpoints or UnitOfWorkCheckpoints(uow_factory)
        self._publisher = publisher
        self._providers = providers
        self._prices = prices
        self._default_model = default_model
        self._tenant_meter = tenant_meter

    async def _claim(self, tenant: TenantId, panel_id: PanelId) -> tuple[Panel, dict[str, Expert]] | None:
        """Take the panel for a new attempt (fencing out any older runner) and mark it started."""
        async with self._uow(tenant, write=True) as uow:
            try:
                panel = await uow.panels.get(panel_id, for_update=True)
            except PanelNotFound:
                return None
            if panel.status not in (PanelStatus.QUEUED, PanelStatus.IN_PROGRESS):
                return None
            if panel.status is PanelStatus.QUEUED:
                panel.start()
            experts = await resolve_experts(uow.agents, panel)
            stored = await uow.panels.save(panel, bump_attempt=True)
            await uow.commit()
        await self._publisher.publish(panel_id, stored)
        return panel, experts

    async def execute(self, tenant: TenantId, panel_id: PanelId) -> PanelStatus | None:
        """Run the panel to a terminal status; None when it was not ours to run (or no longer is).

        StorageUnavailable leaves the panel as it is stored (queued, or in progress at its last
        checkpoint) for the caller to run again later.
        """
        claimed = await self._claim(tenant, panel_id)
        if claimed is None:
            return None
        panel, experts = claimed
        discussion = PanelDiscussion(
            panel,
            experts=experts,
            checkpoints=self._checkpoints,
            publisher=self._publisher,
            providers=self._providers,
            prices=self._prices,
            default_model=self._default_model,
            tenant=self._tenant_meter(tenant) if self._tenant_meter is not None else None,
        )
        try:
            recommendation = await strategy_for(panel.panel_type).run(discussion)
            await discussion.commit(lambda: panel.complete(recommendation))
            if discussion.budget_stop is not None:  # completed degraded, wrapped up at a budget
                self._stopped_by_budget(discussion.budget_stop)
        except Exception as exc:
            cause = root_cause(exc)
            if isinstance(cause, StaleAttempt):
                log.info("panel %s: attempt %d is stale or the panel has ended; stopping", panel_id, panel.attempt)
                return None
            if isinstance(cause, StorageUnavailable):
                raise cause from exc
            if isinstance(cause, BudgetExceeded):
                status = await self._fail(tenant, panel_id, panel.attempt, cause.detail, BudgetExceeded.reason)
                if status is not None:
                    self._stopped_by_budget(cause)
                return status
            if isinstance(cause, DomainError):
                return await self._fail(tenant, panel_id, panel.attempt, cause.detail)
            log.error("panel %s failed unexpectedly", panel_id, exc_info=exc)
            return await self._fail(tenant, panel_id, panel.attempt, "The panel stopped on an internal error.")
        return panel.status

    def _stopped_by_budget(self, stop: BudgetExceeded) -> None:
        """A run that a budget stopped (failed, or completed degraded); a hook for the metrics."""

    async def _fail(
        self, tenant: TenantId, panel_id: PanelId, attempt: int, detail: str, reason: str | None = None
    ) -> PanelStatus | None:
        """Mark the panel failed from its stored state (the in-memory one may hold a half-applied step)."""
        try:
            async with self._uow(tenant, write=True) as uow:
                panel = await uow.panels.get(panel_id, for_update=True)
                if panel.status.is_terminal or panel.attempt != attempt:
                    return None
                panel.fail(detail, reason)
                stored = await uow.panels.save(panel)
                await uow.commit()
        except StaleAttempt:
            return None
        await self._publisher.publish(panel_id, stored)
        return panel.status


def root_cause(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (turns run in task groups), or the exception itself."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0


class LocalPanelPool:
    """Runs panels as tasks of this process, at most `max_concurrent` at a time.

    Every `heartbeat_s` it beats for the panels it holds (running or waiting for a slot) and, when
    started with `reclaim`, takes over the queued or running panels whose runner has been silent for
    `stalled_after_s` (a process that died, a run lost to a bug): no panel is left behind, and a
    live process's runs are never taken. When the database is busy or down it backs off.
    """

    def __init__(
        self,
        run: PanelRun,
        *,
        max_concurrent: int,
        recovery: RecoveryScanner | None = None,
        heartbeat_s: float = 2.0,
        stalled_after_s: float = 10.0,
    ) -> None:
        self._run = run
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[PanelId, asyncio.Task[None]] = {}
        self._recovery = recovery
        self._closing = False
        self._stopped: set[PanelId] = set()
        self._heartbeat_s = heartbeat_s
        self._stalled_after_s = stalled_after_s
        self._keeper: asyncio.Task[None] | None = None
        self._outage = Outage("the database (for running panels)", log)
        self.retries = 0  # runs started again after a database fault

    @property
    def running(self) -> Mapping[PanelId, asyncio.Task[None]]:
        return self._tasks

    async def submit(self, tenant: TenantId, panel_id: PanelId) -> None:
        if self._closing or panel_id in self._tasks:
            return
        self._stopped.discard(panel_id)
        task = asyncio.create_task(self._guarded(tenant, panel_id), name=f"panel-{panel_id}")
        self._tasks[panel_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(panel_id, None))

    async def _guarded(self, tenant: TenantId, panel_id: PanelId) -> None:
        async with self._semaphore:
            delay = RETRY_FIRST_S
            while not self._closing:
                try:
                    await self._run.execute(tenant, panel_id)
                    return
                except asyncio.CancelledError:
                    raise
                except StorageUnavailable as exc:  # logged once per outage by the storage itself
                    log.debug("panel %s: %s; running it again in %.1f s", panel_id, exc.detail, delay)
                except Exception:
                    log.exception("panel %s: run crashed", panel_id)
                    return
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: not every run at once
                delay = min(2 * delay, RETRY_MAX_S)
                self.retries += 1

    def is_running(self, panel_id: PanelId) -> bool:
        return panel_id in self._tasks

    async def run_now(self, tenant: TenantId, panel_id: PanelId) -> None:
        """Run the panel here and wait for it (a worker's job). A stop() ends it quietly."""
        await self.submit(tenant, panel_id)
        task = self._tasks.get(panel_id)
        if task is None:
            return
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if panel_id in self._stopped:
                return
            task.cancel()
            raise

    async def stop(self, panel_id: PanelId) -> None:
        task = self._tasks.get(panel_id)
        if task is None or task is asyncio.current_task():
            return
        self._stopped.add(panel_id)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        asyncio.get_running_loop().call_later(60, self._stopped.discard, panel_id)

    async def resume_unfinished(self) -> int:
        """Resume panels left queued or in progress by an earlier process."""
        if self._recovery is None:
            return 0
        try:
            found = await self._recovery.unfinished()
        except StorageUnavailable:  # logged by the storage; the keeper takes them over once it is back
            return 0
        for tenant, panel_id in found:
            await self.submit(tenant, panel_id)
        if found:
            log.info("resuming %d unfinished panels", len(found))
        return len(found)

    async def start(self, *, reclaim: bool) -> None:
        """Beat for this pool's panels from now on and, with `reclaim`, take over panels nobody runs."""
        if self._recovery is not None:
            self._keeper = asyncio.create_task(self._keep(self._recovery, reclaim=reclaim), name="panel-keeper")

    async def _keep(self, recovery: RecoveryScanner, *, reclaim: bool) -> None:
        delay = self._heartbeat_s
        while True:
            await asyncio.sleep(delay)
            try:
                if self._tasks:
                    await recovery.beat(list(self._tasks))
                if reclaim:
                    await self.reclaim(recovery)
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:
                self._outage.failed(exc, consequence="panels are taken over when it is back")
                delay = min(2 * delay, RETRY_MAX_S)
                continue
            except Exception:
                log.exception("the panel keeper failed")
            self._outage.succeeded()
            delay = self._heartbeat_s

    async def reclaim(self, recovery: RecoveryScanner) -> int:
        """Take over the queued or running panels whose runner has been silent for `stalled_after_s`."""
        found = await recovery.orphaned(silent_for_s=self._stalled_after_s)
        taken = [(tenant, panel_id) for tenant, panel_id in found if panel_id not in self._tasks]
        for tenant, panel_id in taken:
            await self.submit(tenant, panel_id)
        if taken:
            log.warning("took over %d panel%s that nobody was running", len(taken), "" if len(taken) == 1 else "s")
        return len(taken)

    async def close(self) -> None:
        """Stop every run without changing its status: the next start resumes them."""
        self._closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
