"""Two processes on one store and one bus (both in memory): wake-ups, cancels and text deltas cross between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ask_panel.bootstrap import Container, bootstrap
from ask_panel.domain.status import PanelStatus
from ask_panel.infrastructure.bus.memory import MemoryBroker, MemoryBus
from ask_panel.infrastructure.bus.wakeup import WakeupSender
from ask_panel.infrastructure.memory.store import MemoryStore
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.harness import TENANT, create, eventually, load, memory_settings, scripted, types
from tests.scripted import ScriptedProvider

TWO = ["fda_expert", "clinical_expert"]


@asynccontextmanager
async def process(
    name: str, store: MemoryStore, broker: MemoryBroker, provider: ScriptedProvider
) -> AsyncIterator[Container]:
    """A process of the deployment: its own hub, runs and bus, the shared store."""
    bus = MemoryBus(broker)
    uow = MemoryUnitOfWorkFactory(store, wakeups=WakeupSender(origin=name, bus=bus))
    container = bootstrap(memory_settings(), uow=uow, providers=scripted(provider), bus=bus, origin=name)
    await container.start()
    try:
        yield container
    finally:
        await container.stop()


async def test_a_watcher_on_one_process_gets_every_event_of_a_panel_run_by_another() -> None:
    store, broker = MemoryStore(), MemoryBroker()
    async with (
        process("runner", store, broker, ScriptedProvider()) as runner,
        process("watcher", store, broker, ScriptedProvider()) as watcher,
    ):
        panel_id = await create(runner, "structured", TWO, max_rounds=1)
        stream = await watcher.streams.open(TENANT, panel_id)
        await runner.panels.execute(TENANT, panel_id)
        received = [e.seq async for batch in stream.batches() for e in batch]
        _, events = await load(runner, panel_id)
    assert received == [e.seq for e in events] and types(events)[-1] == "panel_complete"


async def test_a_cancel_on_one_process_stops_the_run_on_another() -> None:
    store, broker = MemoryStore(), MemoryBroker()
    # One expert's turn is held, so the run is surely under way when the cancel arrives (these agreeable experts
    # end after round 1, within milliseconds).
    slow = ScriptedProvider(delay_s=0.005, hold_for=lambda call: call.speaker == "Dr. Samuel Okafor")
    async with (
        process("runner", store, broker, slow) as runner,
        process("api", store, broker, ScriptedProvider()) as api,
    ):
        panel_id = await create(runner, "structured", TWO, max_rounds=3, consensus_threshold=1.0)
        await runner.panels.execute(TENANT, panel_id)

        async def speaking() -> bool:
            return bool(slow.calls)

        await eventually(speaking, "the run has started")
        await api.panels.cancel(TENANT, panel_id)

        async def stopped() -> bool:
            return not runner.pool.is_running(panel_id)

        await eventually(stopped, "the run on the other process stopped")
        panel, events = await load(runner, panel_id)
    assert panel.status is PanelStatus.CANCELLED and types(events)[-1] == "panel_cancelled"


async def test_text_deltas_reach_a_watcher_on_another_process() -> None:
    store, broker = MemoryStore(), MemoryBroker()
    async with (
        process("runner", store, broker, ScriptedProvider(delay_s=0.002)) as runner,
        process("watcher", store, broker, ScriptedProvider()) as watcher,
    ):
        panel_id = await create(runner, "structured", TWO, max_rounds=1)
        stream = await watcher.streams.open(TENANT, panel_id, deltas=True)

        async def interest_arrived() -> bool:
            return any(channel == "ask_panel_token_interest" for channel, _ in broker.sent)

        await eventually(interest_arrived, "the watcher announced its interest")
        await runner.panels.execute(TENANT, panel_id)
        received = [e async for batch in stream.batches() for e in batch]
    deltas = [e for e in received if e.type == "expert_token"]
    assert deltas and all(e.seq is None for e in deltas)
    assert received[-1].type == "panel_complete"


async def test_after_a_reconnect_a_watcher_catches_up_what_was_logged_while_wake_ups_were_lost() -> None:
    store = MemoryStore()
    watcher_bus = MemoryBus(MemoryBroker())
    uow = MemoryUnitOfWorkFactory(store, wakeups=WakeupSender(origin="watcher", bus=watcher_bus))
    watcher = bootstrap(
        memory_settings(), uow=uow, providers=scripted(ScriptedProvider()), bus=watcher_bus, origin="watcher"
    )
    await watcher.start()
    # The runner's wake-ups go to another broker: to the watcher they are lost.
    async with process("runner", store, MemoryBroker(), ScriptedProvider()) as runner:
        panel_id = await create(runner, "structured", TWO, max_rounds=1)
        stream = await watcher.streams.open(TENANT, panel_id)
        await runner.panels.execute(TENANT, panel_id)
        await runner.pool.running[panel_id]
        await watcher_bus.close()
        await watcher_bus.start()  # reconnected: the bridge reads what the watched panel logged meanwhile
        received = [e.seq async for batch in stream.batches() for e in batch]
        _, events = await load(runner, panel_id)
    await watcher.stop()
    assert received == [e.seq for e in events] and types(events)[-1] == "panel_complete"


async def test_a_watcher_gets_every_event_even_when_every_wake_up_is_lost_and_the_bus_never_reconnects() -> None:
    store = MemoryStore()
    watcher_bus = MemoryBus(MemoryBroker())
    uow = MemoryUnitOfWorkFactory(store, wakeups=WakeupSender(origin="watcher", bus=watcher_bus))
    settings = memory_settings(stream_reconcile_s=0.05)
    watcher = bootstrap(settings, uow=uow, providers=scripted(ScriptedProvider()), bus=watcher_bus, origin="watcher")
    await watcher.start()
    # The runner's wake-ups go to another broker: to the watcher they are lost, and nothing reconnects.
    async with process("runner", store, MemoryBroker(), ScriptedProvider()) as runner:
        panel_id = await create(runner, "structured", TWO, max_rounds=1)
        stream = await watcher.streams.open(TENANT, panel_id)
        await runner.panels.execute(TENANT, panel_id)
        async with asyncio.timeout(30):  # a watcher left waiting fails here
            received = [e.seq async for batch in stream.batches() for e in batch]
        _, events = await load(runner, panel_id)
    await watcher.stop()
    assert received == [e.seq for e in events] and types(events)[-1] == "panel_complete"
