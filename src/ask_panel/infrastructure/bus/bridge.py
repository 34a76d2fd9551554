"""WakeupBridge: turns another process's wake-up into local deliveries, reading the events from the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from ask_panel.application.hub import EventHub
from ask_panel.application.outages import Outage
from ask_panel.application.ports import Bus, UnitOfWorkFactory
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId
from ask_panel.infrastructure.bus.wakeup import CHANNEL, Wakeup
from ask_panel.observability import metrics

log = logging.getLogger(__name__)


class LocalRuns(Protocol):
    """The panels this process runs (its LocalPanelPool)."""

    def is_running(self, panel_id: PanelId) -> bool: ...

    async def stop(self, panel_id: PanelId) -> None: ...


class WakeupBridge:
    """Reads the woken panel's new events once and hands them to the local hub.

    It listens on the bus it is given; after a reconnect it asks for a catch-up now (`catch_up`:
    wake-ups sent while disconnected are lost; the LogReconciler delivers what the watched panels
    logged meanwhile, as it does on its interval anyway).

    A wake-up from this very process is ignored: its events were delivered at commit. A panel
    nobody here watches or runs costs nothing. Wake-ups of one panel are handled in order. A run
    here whose panel was ended elsewhere (a cancel on another node) is stopped.
    """

    def __init__(
        self,
        bus: Bus,
        uow_factory: UnitOfWorkFactory,
        hub: EventHub,
        *,
        origin: str,
        local_runs: LocalRuns | None = None,
        catch_up: Callable[[], None] | None = None,
    ) -> None:
        self._uow = uow_factory
        self._hub = hub
        self.origin = origin
        self._runs = local_runs
        self._catch_up = catch_up
        self._outage = Outage("the event log (delivering wake-ups)", log)
        self._locks: dict[PanelId, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        bus.subscribe(CHANNEL, self.on_payload, on_reconnect=self.resync)

    def _running_here(self, panel_id: PanelId) -> bool:
        return self._runs is not None and self._runs.is_running(panel_id)

    def wanted(self, panel_id: PanelId) -> bool:
        return self._hub.has_subscribers(panel_id) or self._running_here(panel_id)

    def on_payload(self, payload: str) -> None:
        wakeup = Wakeup.decode(payload)
        if wakeup is not None:
            self.on_wakeup(wakeup)

    def on_wakeup(self, wakeup: Wakeup) -> None:
        if wakeup.origin == self.origin or not self.wanted(wakeup.panel_id):
            metrics.WAKEUPS.labels("ignored").inc()
            return
        self._spawn(self._deliver(wakeup))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
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
                self._stop_if_ended(wakeup.panel_id, events)
            metrics.WAKEUPS.labels("delivered").inc()
            self._outage.succeeded()
        except Exception as exc:
            metrics.WAKEUPS.labels("failed").inc()
            self._outage.failed(exc, consequence="wake-ups are not delivered; watchers catch up when it is back")
        finally:
            if not lock.locked():
                self._locks.pop(wakeup.panel_id, None)

    def _stop_if_ended(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        if self._runs is not None and self._runs.is_running(panel_id) and any(e.is_terminal for e in events):
            self._spawn(self._runs.stop(panel_id))

    def resync(self) -> None:
        """After a reconnect: deliver whatever the watched panels logged while wake-ups were lost."""
        if self._catch_up is not None:
            self._catch_up()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
