"""The use cases and the runner, instrumented from outside: spans, panel metrics and the log context of a run.

The application stays free of metrics and tracing code; `bootstrap` builds these subclasses
instead of the plain ones. Each override calls the application's own method and only observes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ask_panel.application.drain import running_panel
from ask_panel.application.panels import Created, CreatePanel, PanelService
from ask_panel.application.ports import EventPublisher, PanelPage
from ask_panel.application.runner import PanelRun
from ask_panel.domain.errors import BudgetExceeded, BudgetExhausted, StorageUnavailable
from ask_panel.domain.events import EventType, StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.observability import metrics, tracing
from ask_panel.observability.context import bind_run

log = logging.getLogger(__name__)
_run_panel_type: ContextVar[str] = ContextVar("run_panel_type", default="unknown")


@contextmanager
def _budget_refusals() -> Iterator[None]:
    """Count a tenant's budget refusal (`ask_panel_budget_refusals_total{period}`) on its way out."""
    try:
        yield
    except BudgetExhausted as exc:
        metrics.BUDGET_REFUSALS.labels(exc.period).inc()
        raise


def _count(panel: Panel) -> None:
    metrics.PANELS.labels(panel.status.value, panel.panel_type.value).inc()


class InstrumentedPanelRun(PanelRun):
    """A `panel.run` span, the run's log context (tenant, panel) and `ask_panel_panels_total` per outcome."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retries: dict[PanelId, int] = {}  # runs of a panel started again here after a database fault

    async def execute(self, tenant: TenantId, panel_id: PanelId) -> PanelStatus | None:
        """Every run logs its start and its end, a run interrupted by a database fault included."""
        bind_run(tenant, panel_id)
        running_panel.set(panel_id)  # the drain's gate holds this run's commits, not a request's
        _run_panel_type.set("unknown")
        retry = self._retries.get(panel_id, 0)
        if retry:
            log.info("panel run started again (retry %d)", retry)
        else:
            log.info("panel run started")
        try:
            with tracing.span("panel.run", **{"ask_panel.panel_id": str(panel_id), "ask_panel.tenant_id": str(tenant)}):
                status = await super().execute(tenant, panel_id)
        except StorageUnavailable:
            self._retries[panel_id] = retry + 1
            log.info("panel run ended: interrupted (database unavailable); it runs again from its last checkpoint")
            raise
        except asyncio.CancelledError:
            self._retries.pop(panel_id, None)
            log.info("panel run ended: stopped")
            raise
        except Exception:
            self._retries.pop(panel_id, None)
            log.info("panel run ended: crashed")
            raise
        self._retries.pop(panel_id, None)
        if status is not None and status.is_terminal:
            metrics.PANELS.labels(status.value, _run_panel_type.get()).inc()
        log.info("panel run ended: %s", status.value if status is not None else "not ours to run")
        return status

    def _stopped_by_budget(self, stop: BudgetExceeded) -> None:
        metrics.BUDGET_REFUSALS.labels(stop.period).inc()

    async def _claim(self, tenant: TenantId, panel_id: PanelId) -> tuple[Panel, dict[str, Expert]] | None:
        claimed = await super()._claim(tenant, panel_id)
        if claimed is not None:
            panel = claimed[0]
            _run_panel_type.set(panel.panel_type.value)
            _count(panel)
        return claimed


class TracedPanelService(PanelService):
    """A span per use case (`panels.create`, …) and `ask_panel_panels_total` for drafts, queued and cancelled panels."""

    async def create(self, tenant: TenantId, command: CreatePanel) -> Created:
        with tracing.span("panels.create", **{"ask_panel.panel_type": command.panel_type.value}), _budget_refusals():
            created = await super().create(tenant, command)
        if not created.replayed:
            _count(created.panel)
        return created

    async def get(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        with tracing.span("panels.get"):
            return await super().get(tenant, panel_id)

    async def list(
        self,
        tenant: TenantId,
        *,
        limit: int = 50,
        offset: int = 0,
        status: PanelStatus | None = None,
        panel_type: PanelType | None = None,
    ) -> PanelPage:
        with tracing.span("panels.list"):
            return await super().list(tenant, limit=limit, offset=offset, status=status, panel_type=panel_type)

    async def execute(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        with tracing.span("panels.execute", **{"ask_panel.panel_id": str(panel_id)}), _budget_refusals():
            panel = await super().execute(tenant, panel_id)
        _count(panel)
        return panel

    async def cancel(self, tenant: TenantId, panel_id: PanelId) -> Panel:
        with tracing.span("panels.cancel", **{"ask_panel.panel_id": str(panel_id)}):
            panel = await super().cancel(tenant, panel_id)
        _count(panel)
        return panel


class MeteredPublisher:
    """Counts the turns committed in this process (`ask_panel_turns_total`) on their way to the publisher."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner
        self.publish_delta = inner.publish_delta
        self.wants_deltas = inner.wants_deltas

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        for event in events:
            if event.type == EventType.EXPERT_SPEAKING:
                metrics.TURNS.labels("spoken").inc()
            elif event.type == EventType.EXPERT_ERROR or (event.type == EventType.ERROR and not event.is_terminal):
                metrics.TURNS.labels("failed").inc()
        await self._inner.publish(panel_id, events)
