"""FanoutPublisher: delivers to this process's hub at once, then tells the other processes.

Committed events: on Redis, a wake-up is published after the commit (on PostgreSQL the repository
already NOTIFYed inside the transaction). Token deltas: forwarded to other processes only while one
of them has announced interest in the panel's tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from ask_panel.application.hub import EventHub
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId
from ask_panel.infrastructure.bus.tokens import Bus, TokenForwarder
from ask_panel.infrastructure.bus.wakeup import CHANNEL, Wakeup


class FanoutPublisher:
    def __init__(self, hub: EventHub, tokens: TokenForwarder, *, origin: str, bus: Bus | None = None) -> None:
        self._hub = hub
        self._tokens = tokens
        self._origin = origin
        self._bus = bus  # set for Redis: event wake-ups are published after the commit

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        self._hub.deliver(panel_id, events)
        tenant = events[0].tenant_id
        if self._bus is not None and tenant is not None:
            wakeup = Wakeup(tenant, panel_id, events[0].seq, events[-1].seq, self._origin)
            await self._bus.send(CHANNEL, wakeup.encode())

    def publish_tokens(self, panel_id: PanelId, data: dict[str, object]) -> None:
        self._hub.publish_tokens(panel_id, data)
        if self._tokens.wanted_elsewhere(panel_id):
            self._tokens.forward(panel_id, data)

    def wants_tokens(self, panel_id: PanelId) -> bool:
        return self._hub.wants_tokens(panel_id) or self._tokens.wanted_elsewhere(panel_id)
