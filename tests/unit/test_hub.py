"""The in-process event hub: fan-out, encoding once, bounded buffers, caps, token listeners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ask_panel.api.wire import sse_frame
from ask_panel.application.deltas import DeltaBatcher
from ask_panel.application.hub import EventHub
from ask_panel.domain.errors import TooManyStreams
from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.ids import PanelId, TenantId

T = TenantId.from_string("11111111-1111-1111-1111-111111111111")
P = PanelId.from_string("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")


def event(seq: int, kind: str = "expert_speaking") -> StoredEvent:
    return StoredEvent(str(P), seq, kind, {"n": seq}, datetime.now(UTC))


async def test_every_subscriber_gets_the_same_encoded_bytes() -> None:
    hub = EventHub()
    subs = [hub.subscribe(P, T) for _ in range(3)]
    hub.deliver(P, [event(1), event(2)])
    batches = [batch for s in subs if (batch := await s.next()) is not None]
    assert len(batches) == 3 and all(len(b) == 2 for b in batches)
    assert batches[0][0] is batches[1][0] is batches[2][0], "one LiveEvent object shared by all"
    assert sse_frame(batches[0][0]) == b'id: 1\nevent: expert_speaking\ndata: {"n":1}\n\n'
    assert sse_frame(batches[0][0]) is sse_frame(batches[1][0]), "encoded once"


async def test_an_idle_subscriber_waits_without_polling_and_wakes_on_publish() -> None:
    hub = EventHub()
    sub = hub.subscribe(P, T)
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    assert not waiting.done()
    await hub.publish(P, [event(1)])
    assert [e.seq for e in await waiting or []] == [1]


async def test_a_subscriber_whose_buffer_overflows_is_dropped_not_the_others() -> None:
    hub = EventHub(buffer_size=4)
    slow, fast = hub.subscribe(P, T), hub.subscribe(P, T)
    for seq in range(1, 4):
        hub.deliver(P, [event(seq)])
        assert len(await fast.next() or []) == 1
    hub.deliver(P, [event(4), event(5)])
    assert slow.dropped and await slow.next() is None
    assert [e.seq for e in await fast.next() or []] == [4, 5]


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


def test_text_deltas_go_only_to_subscribers_that_asked() -> None:
    hub = EventHub()
    plain, deltas = hub.subscribe(P, T), hub.subscribe(P, T, deltas=True)
    assert hub.wants_deltas(P)
    hub.publish_delta(P, ExpertToken("fda_expert", "Dr. A", 1, "hi"))
    assert plain._buffer == [] and deltas._buffer[0].seq is None
    frame = sse_frame(deltas._buffer[0])
    assert (
        frame == b'event: expert_token\ndata: {"agent_id":"fda_expert","agent_name":"Dr. A","round":1,"delta":"hi"}\n\n'
    )
    hub.unsubscribe(deltas)
    assert not hub.wants_deltas(P)


async def test_a_panel_s_first_delta_subscriber_is_announced_once() -> None:
    hub = EventHub()
    waiting = asyncio.create_task(hub.new_delta_interest())
    await asyncio.sleep(0)
    assert not waiting.done()
    first = hub.subscribe(P, T, deltas=True)
    hub.subscribe(P, T, deltas=True)
    hub.subscribe(P, T)
    assert await waiting == [P]
    gone = PanelId.generate()
    hub.unsubscribe(hub.subscribe(gone, T, deltas=True))  # came and went: nothing to announce
    hub.unsubscribe(first)
    later = asyncio.create_task(hub.new_delta_interest())
    await asyncio.sleep(0)
    assert not later.done()
    later.cancel()


def test_the_delta_batcher_flushes_by_size() -> None:
    sent: list[str] = []
    batcher = DeltaBatcher(sent.append, chars=16, seconds=60)
    for word in ["one ", "two ", "three ", "four ", "five"]:
        batcher.add(word)
    batcher.flush()
    assert "".join(sent) == "one two three four five"
    assert len(sent) == 2
