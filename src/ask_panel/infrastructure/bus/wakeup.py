"""Wake-ups between processes: "panel P of tenant T has committed events first..last", never the data.

`WakeupSender` is the one place that sends them, called by every commit that appended events: on
PostgreSQL a NOTIFY inside the committing transaction (delivered only on commit, never lost while
the listener is connected), with Redis a PUBLISH right after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ask_panel.application.ports import Bus
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId

CHANNEL = "ask_panel_events"


@dataclass(frozen=True, slots=True)
class Wakeup:
    tenant_id: TenantId
    panel_id: PanelId
    first: int
    last: int
    origin: str

    def encode(self) -> str:
        return f"{self.tenant_id}|{self.panel_id}|{self.first}|{self.last}|{self.origin}"

    @classmethod
    def decode(cls, payload: str) -> Wakeup | None:
        try:
            tenant, panel, first, last, origin = payload.split("|")
            return cls(TenantId(uuid.UUID(tenant)), PanelId(uuid.UUID(panel)), int(first), int(last), origin)
        except ValueError:
            return None


class WakeupSender:
    """Sends the wake-ups of a commit: NOTIFY in its transaction (`notify`), or on the bus after it."""

    def __init__(self, *, origin: str, notify: bool = False, bus: Bus | None = None) -> None:
        self.origin = origin
        self._notify = notify
        self._bus = bus

    def wakeup(self, tenant: TenantId, panel_id: PanelId, events: Sequence[StoredEvent]) -> Wakeup:
        return Wakeup(tenant, panel_id, events[0].seq, events[-1].seq, self.origin)

    async def before_commit(self, conn: AsyncConnection, wakeups: Sequence[Wakeup]) -> None:
        if self._notify:
            for wakeup in wakeups:
                await conn.execute(select(func.pg_notify(CHANNEL, wakeup.encode())))

    async def after_commit(self, wakeups: Sequence[Wakeup]) -> None:
        if self._bus is not None:
            for wakeup in wakeups:
                await self._bus.send(CHANNEL, wakeup.encode())
