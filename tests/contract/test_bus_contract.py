"""The Bus port's contract, run against every bus: in memory, PostgreSQL LISTEN/NOTIFY and Redis pub/sub."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from ask_panel.application.ports import Bus
from ask_panel.infrastructure.bus.memory import MemoryBroker, MemoryBus
from tests.postgres import PostgresTemplate
from tests.redis_server import redis_or_skip

NewBus = Callable[[], Bus]


@pytest.fixture(params=["memory", "postgres", "redis"])
def bus_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """The kind of bus, and the server its processes share (a fresh database, or Redis)."""
    if request.param == "memory":
        yield "memory", ""
    elif request.param == "postgres":
        template: PostgresTemplate = request.getfixturevalue("postgres_template")
        with template.fresh_database() as url:
            yield "postgres", url
    else:
        yield "redis", redis_or_skip()


@pytest.fixture
async def new_bus(bus_server: tuple[str, str]) -> AsyncIterator[NewBus]:
    """Makes buses that reach each other, as two processes' buses do."""
    kind, url = bus_server
    broker = MemoryBroker()
    made: list[Bus] = []

    def make() -> Bus:
        if kind == "memory":
            bus: Bus = MemoryBus(broker)
        elif kind == "postgres":
            from ask_panel.infrastructure.bus.postgres import PostgresBus

            bus = PostgresBus(url)
        else:
            from ask_panel.infrastructure.bus.redis import RedisBus

            bus = RedisBus(url)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


async def received(inbox: list[str], count: int) -> list[str]:
    for _ in range(500):
        if len(inbox) >= count:
            return inbox
        await asyncio.sleep(0.01)
    return inbox


async def test_a_message_reaches_every_subscriber_of_its_channel_the_sender_included(new_bus: NewBus) -> None:
    channel, other = f"test_{uuid.uuid4().hex[:8]}", f"test_{uuid.uuid4().hex[:8]}"
    sender, listener = new_bus(), new_bus()
    at_sender: list[str] = []
    at_listener: list[str] = []
    elsewhere: list[str] = []
    sender.subscribe(channel, at_sender.append)
    listener.subscribe(channel, at_listener.append)
    listener.subscribe(other, elsewhere.append)
    await sender.start()
    await listener.start()
    await sender.send(channel, "one|two")
    await sender.send(channel, "three")
    assert await received(at_listener, 2) == ["one|two", "three"]
    assert await received(at_sender, 2) == ["one|two", "three"]
    assert elsewhere == []


async def test_subscribers_are_told_when_the_bus_has_connected(new_bus: NewBus) -> None:
    bus = new_bus()
    connected: list[bool] = []
    bus.subscribe(f"test_{uuid.uuid4().hex[:8]}", lambda _payload: None, on_reconnect=lambda: connected.append(True))
    await bus.start()
    for _ in range(500):
        if connected:
            break
        await asyncio.sleep(0.01)
    assert connected == [True]


async def test_a_failing_handler_does_not_stop_the_others(new_bus: NewBus) -> None:
    channel = f"test_{uuid.uuid4().hex[:8]}"
    bus = new_bus()
    inbox: list[str] = []

    def broken(_payload: str) -> None:
        raise RuntimeError("a bug in one subscriber")

    bus.subscribe(channel, broken)
    bus.subscribe(channel, inbox.append)
    await bus.start()
    await bus.send(channel, "first")
    await bus.send(channel, "second")
    assert await received(inbox, 2) == ["first", "second"]


async def test_a_started_bus_says_it_is_connected_and_a_closed_one_does_not(new_bus: NewBus) -> None:
    bus = new_bus()
    bus.subscribe(f"test_{uuid.uuid4().hex[:8]}", lambda _payload: None)
    assert not bus.connected
    await bus.start()
    for _ in range(500):
        if bus.connected:
            break
        await asyncio.sleep(0.01)
    assert bus.connected
    await bus.close()
    assert not bus.connected
