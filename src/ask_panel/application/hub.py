"""EventHub: the in-process broker that wakes a panel's subscribers when its events are committed.

Subscribers register per panel. A published batch is wrapped once into LiveEvents (shared by every
subscriber, so each encoding of an event is made once) and appended to every subscriber's bounded
buffer; a subscriber whose buffer overflows is dropped (its client resumes from its last event) and never
slows the panel down. Idle subscribers cost a parked future: no polling, no timers.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ask_panel.domain.errors import TooManyStreams
from ask_panel.domain.events import EventType, ExpertToken, StoredEvent, is_terminal_event
from ask_panel.domain.ids import PanelId, TenantId

T = TypeVar("T")


class LiveEvent:
    """An event on its way to subscribers: `seq` None for text deltas (never stored, no id).

    Streams encode it for their wire (`encoded`); each encoding is computed once and shared.
    `committed_at` (epoch seconds) is when a stored event was written, for the fan-out lag.
    """

    __slots__ = ("_encodings", "committed_at", "data", "seq", "terminal", "type")

    def __init__(self, seq: int | None, type: str, data: Mapping[str, Any], committed_at: float | None = None) -> None:
        self.seq = seq
        self.type = type
        self.data = data
        self.terminal = seq is not None and is_terminal_event(type, data)
        self.committed_at = committed_at
        self._encodings: dict[Callable[[LiveEvent], Any], Any] | None = None

    @classmethod
    def of(cls, event: StoredEvent) -> LiveEvent:
        return cls(event.seq, event.type, event.data, event.created_at.timestamp())

    @classmethod
    def replayed(cls, event: StoredEvent) -> LiveEvent:
        """An event read back from the log for a replay: no fan-out lag to measure."""
        return cls(event.seq, event.type, event.data)

    @classmethod
    def delta(cls, token: ExpertToken) -> LiveEvent:
        data = {"agent_id": token.agent_id, "agent_name": token.agent_name, "round": token.round, "delta": token.delta}
        return cls(None, EventType.EXPERT_TOKEN.value, data)

    def encoded(self, encoder: Callable[[LiveEvent], T]) -> T:
        """`encoder(self)`, computed on first use and shared by every subscriber."""
        if self._encodings is None:
            self._encodings = {}
        try:
            value: T = self._encodings[encoder]
        except KeyError:
            value = self._encodings[encoder] = encoder(self)
        return value


class Subscriber:
    __slots__ = (
        "_buffer",
        "_nudged",
        "_waiter",
        "closed",
        "deltas",
        "dropped",
        "last_seq",
        "limit",
        "panel_id",
        "received",
        "tenant",
    )

    def __init__(self, panel_id: PanelId, tenant: TenantId, *, deltas: bool, limit: int) -> None:
        self.panel_id = panel_id
        self.tenant = tenant
        self.deltas = deltas
        self.limit = limit
        self.dropped = False
        self.closed = False
        self.last_seq = 0  # the last seq its stream has sent (kept by the stream)
        self.received = 0  # the highest seq it was handed (replayed or live; sent or still buffered)
        self._buffer: list[LiveEvent] = []
        self._nudged = False
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, events: Sequence[LiveEvent]) -> bool:
        """Buffer `events`; False when the subscriber is dropped now (its buffer would overflow)."""
        if self.closed or self.dropped:
            return True
        if len(self._buffer) + len(events) > self.limit:
            self.dropped = True
            self._buffer.clear()
            self._wake()
            return False
        self._buffer.extend(events)
        self.note(events[-1].seq if events else None)
        self._wake()
        return True

    def note(self, seq: int | None) -> None:
        """Its stream holds the events up to `seq` (from the log, or live)."""
        if seq is not None and seq > self.received:
            self.received = seq

    @property
    def position(self) -> int:
        """The last seq this subscriber has in hand, sent or buffered: what it needs next comes after."""
        return max(self.last_seq, self.received)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def nudge(self) -> None:
        """Wake the stream with nothing to send (it is time for a heartbeat)."""
        self._nudged = True
        self._wake()

    async def next(self) -> list[LiveEvent] | None:
        """Everything buffered, waiting until there is something; [] when nudged; None once closed or dropped."""
        while not self._buffer:
            if self.closed or self.dropped:
                return None
            if self._nudged:
                self._nudged = False
                return []
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch, self._buffer = self._buffer, []
        return batch


class EventHub:
    """Subscribers of this process by panel; an EventPublisher for a single process.

    `delivered` (events handed to subscribers) and `overflows` (subscribers dropped for a full
    buffer) count since start; the metrics read them at scrape time.
    """

    def __init__(
        self, *, buffer_size: int = 1024, max_streams: int = 10_000, max_streams_per_tenant: int = 1000
    ) -> None:
        self._subscribers: dict[PanelId, set[Subscriber]] = {}
        self._delta_listeners: Counter[PanelId] = Counter()
        self._new_delta_interest: dict[PanelId, None] = {}
        self._interest_waiter: asyncio.Future[None] | None = None
        self._per_tenant: Counter[TenantId] = Counter()
        self._count = 0
        self.buffer_size = buffer_size
        self.max_streams = max_streams
        self.max_streams_per_tenant = max_streams_per_tenant
        self._closing = False
        self.delivered = 0
        self.overflows = 0

    @property
    def open_streams(self) -> int:
        return self._count

    @property
    def closing(self) -> bool:
        """The process is shutting down: its streams were closed and new ones end at once."""
        return self._closing

    def subscribe(self, panel_id: PanelId, tenant: TenantId, *, deltas: bool = False) -> Subscriber:
        if self._closing:  # shutting down: a stream opened now ends at once
            closed = Subscriber(panel_id, tenant, deltas=deltas, limit=self.buffer_size)
            closed.close()
            return closed
        if self._count >= self.max_streams:
            raise TooManyStreams("This server holds its maximum number of streams; retry later")
        if self._per_tenant[tenant] >= self.max_streams_per_tenant:
            raise TooManyStreams("This tenant holds its maximum number of streams; retry later")
        subscriber = Subscriber(panel_id, tenant, deltas=deltas, limit=self.buffer_size)
        self._subscribers.setdefault(panel_id, set()).add(subscriber)
        self._per_tenant[tenant] += 1
        self._count += 1
        if deltas:
            self._delta_listeners[panel_id] += 1
            if self._delta_listeners[panel_id] == 1:
                self._new_delta_interest[panel_id] = None
                waiter = self._interest_waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.panel_id)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[subscriber.panel_id]
        self._per_tenant[subscriber.tenant] -= 1
        if self._per_tenant[subscriber.tenant] <= 0:
            del self._per_tenant[subscriber.tenant]
        self._count -= 1
        if subscriber.deltas:
            self._delta_listeners[subscriber.panel_id] -= 1
            if self._delta_listeners[subscriber.panel_id] <= 0:
                del self._delta_listeners[subscriber.panel_id]
                self._new_delta_interest.pop(subscriber.panel_id, None)
        subscriber.close()

    def has_subscribers(self, panel_id: PanelId) -> bool:
        return panel_id in self._subscribers

    def watched(self) -> list[tuple[PanelId, TenantId, int]]:
        """Each watched panel, its tenant, and the lowest seq its subscribers have in hand (sent or buffered)."""
        return [
            (panel_id, next(iter(subs)).tenant, min(s.position for s in subs))
            for panel_id, subs in self._subscribers.items()
            if subs
        ]

    def deliver(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        subscribers = self._subscribers.get(panel_id)
        if not subscribers or not events:
            return
        live = [LiveEvent.of(e) for e in events]
        for subscriber in subscribers:
            if not subscriber.deliver(live):
                self.overflows += 1
        self.delivered += len(live) * len(subscribers)

    # EventPublisher, for a single process
    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        self.deliver(panel_id, events)

    def publish_delta(self, panel_id: PanelId, delta: ExpertToken) -> None:
        subscribers = self._subscribers.get(panel_id)
        if not subscribers:
            return
        event = [LiveEvent.delta(delta)]
        for subscriber in subscribers:
            if subscriber.deltas and not subscriber.deliver(event):
                self.overflows += 1

    def wants_deltas(self, panel_id: PanelId) -> bool:
        return panel_id in self._delta_listeners

    # Text-delta interest, for forwarding deltas between processes
    def delta_panels(self) -> list[PanelId]:
        """The panels some subscriber here watches with text deltas."""
        return list(self._delta_listeners)

    async def new_delta_interest(self) -> list[PanelId]:
        """The panels that got their first delta subscriber since the last call (waits for one)."""
        while not self._new_delta_interest:
            self._interest_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._interest_waiter
            finally:
                self._interest_waiter = None
        panels = list(self._new_delta_interest)
        self._new_delta_interest.clear()
        return panels

    def close_all(self) -> None:
        self._closing = True
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.close()
