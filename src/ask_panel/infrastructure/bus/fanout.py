"""FanoutPublisher: delivers committed events to this process's hub, and text deltas to other processes too.

Committed events reach other processes by the wake-ups their commit sent (`wakeup.WakeupSender`);
text deltas are never stored, so they are forwarded on the bus, only while another process has
announced interest in the panel's deltas.
"""

from __future__ import annotations

from collections.abc import Sequence

from ask_panel.application.hub import EventHub
from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.ids import PanelId
from ask_panel.infrastructure.bus.deltas import DeltaForwarder


class FanoutPublisher:
    def __init__(self, hub: EventHub, deltas: DeltaForwarder) -> None:
        self._hub = hub
        self._deltas = deltas

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        self._hub.deliver(panel_id, events)

    def publish_delta(self, panel_id: PanelId, delta: ExpertToken) -> None:
        self._hub.publish_delta(panel_id, delta)
        if self._deltas.wanted_elsewhere(panel_id):
            self._deltas.forward(panel_id, delta)

    def wants_deltas(self, panel_id: PanelId) -> bool:
        return self._hub.wants_deltas(panel_id) or self._deltas.wanted_elsewhere(panel_id)
