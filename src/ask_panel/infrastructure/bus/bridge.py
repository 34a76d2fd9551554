"""WakeupBridge: turns another process's wake-up into local deliveries, reading the events from the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from ask_panel.application.hub import EventHub
from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.bus.wakeup import Wakeup

log = logging.getLogger(__name__)

EventsHook = Callable[[PanelId, Sequence[StoredEvent]], None]


class WakeupBridge:
    """Reads the woken panel's new events once and hands them to the local hub (and hooks).

    A wake-up from this very process is ignored: its events were delivered at commit. A panel
    nobody here watches costs nothing. Wake-ups of one panel are handled in order.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, hub: EventHub, *, origin: str) -> None:
        self._uow = uow_factory
        self._hub = hub
        self.origin = origin
        self._locks: dict[PanelId, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.hooks: list[tuple[Callable[[PanelId], bool], EventsHook]] = []
        self.received = 0

    def wanted(self, panel_id: PanelId) -> bool:
        return self._hub.has_subscribers(panel_id) or any(interested(panel_id) for interested, _ in self.hooks)

    def on_payload(self, payload: str) -> None:
        wakeup = Wakeup.decode(payload)
        if wakeup is not None:
            self.on_wakeup(wakeup)

    def on_wakeup(self, wakeup: Wakeup) -> None:
        self.received += 1
        if wakeup.origin == self.origin or not self.wanted(wakeup.panel_id):
            return
        task = asyncio.get_running_loop().create_task(self._deliver(wakeup))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, wakeup: Wakeup) -> None:
        lock = self._locks.setdefault(wakeup.panel_id, asyncio.Lock())
        try:
            async with lock:
                async with self._uow(wakeup.tenant_id) as uow:
                    events = await uow.events.read(
                        wakeup.panel_id, after=wakeup.first - 1, limit=wakeup.last - wakeup.first + 1
                    )
                self._hub.deliver(wakeup.panel_id, events)
                for interested, hook in self.hooks:
                    if interested(wakeup.panel_id):
                        hook(wakeup.panel_id, events)
        except Exception:
            log.exception("could not deliver wake-up %s", wakeup.encode())
        finally:
            if not lock.locked():
                self._locks.pop(wakeup.panel_id, None)

    def resync(self) -> None:
        """After a reconnect: deliver whatever the watched panels logged while wake-ups were lost."""
        for panel_id, tenant, after in self._hub.watched():
            task = asyncio.get_running_loop().create_task(self._catch_up(panel_id, tenant, after))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _catch_up(self, panel_id: PanelId, tenant: TenantId, after: int) -> None:
        try:
            async with self._uow(tenant) as uow:
                events = await uow.events.read(panel_id, after=after)
            self._hub.deliver(panel_id, events)
        except Exception:
            log.exception("could not catch up panel %s", panel_id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
