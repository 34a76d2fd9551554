"""MemoryUnitOfWork: one tenant's changes, applied to the store on commit and dropped otherwise."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.bus.wakeup import Wakeup, WakeupSender
from ask_panel.infrastructure.memory.repositories import (
    MemoryAgentRepository,
    MemoryEventLog,
    MemoryPanelRepository,
    MemoryTicketStore,
    MemoryUsageLedger,
)
from ask_panel.infrastructure.memory.store import MemoryStore, Tables


class MemoryUnitOfWork:
    panels: MemoryPanelRepository
    agents: MemoryAgentRepository
    events: MemoryEventLog
    tickets: MemoryTicketStore
    usage: MemoryUsageLedger

    def __init__(
        self, store: MemoryStore, tenant: TenantId, *, write: bool = False, wakeups: WakeupSender | None = None
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._write = write
        self._locked = False
        self._changes = Tables()
        self._sender = wakeups
        self._wakeups: list[Wakeup] = []
        self.panels = MemoryPanelRepository(store, self._changes, tenant, wakeups=self._wakeups, sender=wakeups)
        self.agents = MemoryAgentRepository(store, self._changes, tenant)
        self.events = MemoryEventLog(store, self._changes, tenant)
        self.tickets = MemoryTicketStore(store, self._changes)
        self.usage = MemoryUsageLedger(store, self._changes, tenant)

    async def __aenter__(self) -> Self:
        if self._write:
            await self._store.write_lock.acquire()
            self._locked = True
        return self

    async def commit(self) -> None:
        """Apply the changes at once; the other processes are woken (on the bus) for the events appended."""
        self._store.apply(self._changes)
        self._forget()
        wakeups, self._wakeups[:] = list(self._wakeups), []
        if self._sender is not None and wakeups:
            await self._sender.after_commit(wakeups)

    def _forget(self) -> None:
        self._changes.panels.clear()
        self._changes.events.clear()
        self._changes.agents.clear()
        self._changes.tickets.clear()
        self._changes.usage.clear()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._forget()  # whatever was not committed is dropped
        self._wakeups.clear()
        if self._locked:
            self._locked = False
            self._store.write_lock.release()


class MemoryUnitOfWorkFactory:
    def __init__(self, store: MemoryStore | None = None, *, wakeups: WakeupSender | None = None) -> None:
        self.store = store or MemoryStore()
        self.wakeups = wakeups

    def __call__(self, tenant: TenantId, *, write: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store, tenant, write=write, wakeups=self.wakeups)
