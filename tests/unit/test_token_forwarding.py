"""Token forwarding between processes: only on another process's interest, never on our own echo."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ask_panel.application.hub import EventHub
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.bus.tokens import TokenForwarder

T = TenantId.from_string("11111111-1111-1111-1111-111111111111")
P = PanelId.from_string("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")


class LoopbackBus:
    """Delivers every message to every forwarder on it, the sender included (as NOTIFY and Redis do)."""

    def __init__(self) -> None:
        self.handlers: list[tuple[str, Callable[[str], None]]] = []
        self.sent: list[tuple[str, str]] = []

    def subscribe(self, channel: str, handler: Callable[[str], None]) -> None:
        self.handlers.append((channel, handler))

    async def send(self, channel: str, payload: str) -> None:
        self.sent.append((channel, payload))
        for name, handler in self.handlers:
            if name == channel:
                handler(payload)


async def test_a_process_does_not_take_its_own_interest_for_another_s() -> None:
    bus, hub = LoopbackBus(), EventHub()
    forwarder = TokenForwarder(bus, hub, origin="me")
    hub.subscribe(P, T, tokens=True)
    await asyncio.sleep(0)
    assert bus.sent, "the interest was announced"
    assert not forwarder.wanted_elsewhere(P)


async def test_tokens_flow_to_the_process_that_watches() -> None:
    bus = LoopbackBus()
    runner_hub, watcher_hub = EventHub(), EventHub()
    runner = TokenForwarder(bus, runner_hub, origin="runner")
    TokenForwarder(bus, watcher_hub, origin="watcher")
    watcher = watcher_hub.subscribe(P, T, tokens=True)
    await asyncio.sleep(0)
    assert runner.wanted_elsewhere(P)
    runner.start()
    runner.forward(P, {"delta": "hello", "agent_id": "fda_expert"})
    batch = await asyncio.wait_for(watcher.next(), 1)
    assert batch is not None and batch[0].type == "expert_token" and batch[0].data["delta"] == "hello"
    await runner.close()
