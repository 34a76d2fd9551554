"""Text deltas between processes: forwarded only on another process's interest, never on our own echo."""

from __future__ import annotations

import asyncio

from ask_panel.application.hub import EventHub
from ask_panel.domain.events import ExpertToken
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.bus.deltas import INTEREST_CHANNEL, DeltaForwarder
from ask_panel.infrastructure.bus.memory import MemoryBroker, MemoryBus

T = TenantId.from_string("11111111-1111-1111-1111-111111111111")
P = PanelId.from_string("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_process_does_not_take_its_own_interest_for_another_s() -> None:
    broker = MemoryBroker()
    bus, hub = MemoryBus(broker), EventHub()
    forwarder = DeltaForwarder(bus, hub, origin="me")
    await bus.start()
    await forwarder.start()
    hub.subscribe(P, T, deltas=True)
    await settle()
    assert [channel for channel, _ in broker.sent] == [INTEREST_CHANNEL], "the interest was announced"
    assert not forwarder.wanted_elsewhere(P)
    await forwarder.close()


async def test_deltas_flow_to_the_process_that_watches() -> None:
    broker = MemoryBroker()
    runner_hub, watcher_hub = EventHub(), EventHub()
    runner_bus, watcher_bus = MemoryBus(broker), MemoryBus(broker)
    runner = DeltaForwarder(runner_bus, runner_hub, origin="runner")
    watching = DeltaForwarder(watcher_bus, watcher_hub, origin="watcher")
    for part in (runner_bus, watcher_bus, runner, watching):
        await part.start()
    watcher = watcher_hub.subscribe(P, T, deltas=True)
    await settle()
    assert runner.wanted_elsewhere(P)
    runner.forward(P, ExpertToken("fda_expert", "Dr. A", 1, "hello"))
    batch = await asyncio.wait_for(watcher.next(), 1)
    assert batch is not None and batch[0].type == "expert_token" and batch[0].data["delta"] == "hello"
    await runner.close()
    await watching.close()
