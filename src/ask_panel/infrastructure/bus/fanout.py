"""FanoutPublisher: delivers to this process's hub at once, then wakes the other processes (Redis)."""

from __future__ import annotations

from collections.abc import Sequence

from ask_panel.application.hub import EventHub
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.bus.redis import RedisWakeups
from ask_panel.infrastructure.bus.wakeup import Wakeup


class FanoutPublisher:
    def __init__(self, hub: EventHub, wakeups: RedisWakeups, *, origin: str) -> None:
        self._hub = hub
        self._wakeups = wakeups
        self._origin = origin

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        self._hub.deliver(panel_id, events)
        tenant = _tenant_of(events)
        if tenant is not None:
            await self._wakeups.publish(Wakeup(tenant, panel_id, events[0].seq, events[-1].seq, self._origin))

    def publish_tokens(self, panel_id: PanelId, data: dict[str, object]) -> None:
        self._hub.publish_tokens(panel_id, data)

    def wants_tokens(self, panel_id: PanelId) -> bool:
        return self._hub.wants_tokens(panel_id)


def _tenant_of(events: Sequence[StoredEvent]) -> TenantId | None:
    return events[0].tenant_id
