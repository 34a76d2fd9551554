"""LogReconciler: no watcher waits on a lost wake-up; the log is checked against what watchers hold.

Wake-ups between processes are best effort: a publish can time out, a subscription can stall
without breaking, a bus can be down from the start. So, on a bounded interval, one sweep per
process compares each watched panel's log head (its last seq, one batched read for every watched
panel) with the lowest seq its local subscribers hold, and delivers what is missing from the log.
A watcher's stall is bounded by the interval whatever the bus does; a healthy bus costs one small
read per interval and process while something is watched, and nothing when nothing is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ask_panel.application.hub import EventHub
from ask_panel.application.outages import Outage
from ask_panel.application.ports import LogHeads, UnitOfWorkFactory

log = logging.getLogger(__name__)


class LogReconciler:
    def __init__(
        self, hub: EventHub, uow_factory: UnitOfWorkFactory, heads: LogHeads | None, *, interval_s: float
    ) -> None:
        """Without `heads` (storage with no system-wide reads) each watched panel's log is read instead."""
        self._hub = hub
        self._uow = uow_factory
        self._heads = heads
        self.interval_s = interval_s
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = Outage("the event log (for catching up watchers)", log)
        self.caught_up = 0  # panels whose watchers got events from a sweep rather than a wake-up

    async def reconcile(self) -> int:
        """One sweep: deliver to local subscribers what each watched panel logged beyond what they hold."""
        watched = self._hub.watched()
        if not watched:
            return 0
        heads = await self._heads.last_seqs([panel_id for panel_id, _, _ in watched]) if self._heads else None
        behind = 0
        for panel_id, tenant, position in watched:
            if heads is not None and heads.get(panel_id, 0) <= position:
                continue
            async with self._uow(tenant) as uow:
                events = await uow.events.read(panel_id, after=position)
            if events:
                self._hub.deliver(panel_id, events)
                behind += 1
        self.caught_up += behind
        return behind

    def wake(self) -> None:
        """Sweep now (a bus reconnected: whatever was sent meanwhile is lost)."""
        self._due.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._due.wait()
            self._due.clear()
            try:
                behind = await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outage.failed(exc, consequence="watchers on this node wait for wake-ups only")
                continue
            self._outage.succeeded()
            if behind:
                log.debug("caught up %d watched panel%s from the log", behind, "" if behind == 1 else "s")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="log-reconciler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
