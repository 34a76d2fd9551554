"""The in-process event hub: fan-out, encoding once, bounded buffers, caps, token listeners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ask_panel.application.hub import EventHub
from ask_panel.application.tokens import TokenBatcher
from ask_panel.domain.errors import TooManyStreams
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId

T = TenantId.from_string("11111111-1111-1111-1111-111111111111")
P = PanelId.from_string("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")


def event(seq: int, kind: str = "expert_speaking") -> StoredEvent:
    return StoredEvent(str(P), seq, kind, {"n": seq}, datetime.now(UTC))


async def test_every_subscriber_gets_the_same_encoded_bytes() -> None:
    hub = EventHub()
    subs = [hub.subscribe(P, T) for _ in range(3)]
    hub.deliver(P, [event(1), event(2)])
    batches = [await s.next() for s in subs]
    assert all(len(b) == 2 for b in batches)
    assert batches[0][0] is batches[1][0] is batches[2][0], "one WireEvent object shared by all"
    assert batches[0][0].sse == b'id: 1\nevent: expert_speaking\ndata: {"n":1}\n\n'
    assert batches[0][0].sse is batches[1][0].sse


async def test_an_idle_subscriber_waits_without_polling_and_wakes_on_publish() -> None:
    hub = EventHub()
    sub = hub.subscribe(P, T)
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    assert not waiting.done()
    await hub.publish(P, [event(1)])
    assert [e.seq for e in await waiting] == [1]


async def test_a_subscriber_whose_buffer_overflows_is_dropped_not_the_others() -> None:
    hub = EventHub(buffer_size=4)
    slow, fast = hub.subscribe(P, T), hub.subscribe(P, T)
    for seq in range(1, 4):
        hub.deliver(P, [event(seq)])
        assert len(await fast.next()) == 1
    hub.deliver(P, [event(4), event(5)])
    assert slow.dropped and await slow.next() is None
    assert [e.seq for e in await fast.next()] == [4, 5]


def test_stream_caps_per_process_and_per_tenant() -> None:
    hub = EventHub(max_streams=3, max_streams_per_tenant=2)
    a = hub.subscribe(P, T)
    hub.subscribe(P, T)
    with pytest.raises(TooManyStreams):
        hub.subscribe(P, T)
    other = TenantId.from_string("22222222-2222-2222-2222-222222222222")
    hub.subscribe(P, other)
    with pytest.raises(TooManyStreams):
        hub.subscribe(P, other)
    hub.unsubscribe(a)
    hub.subscribe(P, T)
    assert hub.open_streams == 3


def test_token_deltas_go_only_to_subscribers_that_asked() -> None:
    hub = EventHub()
    plain, tokens = hub.subscribe(P, T), hub.subscribe(P, T, tokens=True)
    assert hub.wants_tokens(P)
    hub.publish_tokens(P, {"delta": "hi"})
    assert plain._buffer == [] and tokens._buffer[0].seq is None
    assert b"id:" not in tokens._buffer[0].sse
    hub.unsubscribe(tokens)
    assert not hub.wants_tokens(P)


def test_the_token_batcher_flushes_by_size() -> None:
    sent: list[str] = []
    batcher = TokenBatcher(sent.append, chars=16, seconds=60)
    for word in ["one ", "two ", "three ", "four ", "five"]:
        batcher.add(word)
    batcher.flush()
    assert "".join(sent) == "one two three four five"
    assert len(sent) == 2
