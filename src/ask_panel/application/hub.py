"""EventHub: the in-process broker that wakes a panel's subscribers when its events are committed.

Subscribers register per panel. A published batch is wrapped once into WireEvents (encoded once, on
first use) and appended to every subscriber's bounded buffer; a subscriber whose buffer overflows is
dropped (it resumes with Last-Event-ID) and never slows the panel down. Idle subscribers cost a
parked future: no polling, no timers.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence

from ask_panel.application.wire import WireEvent
from ask_panel.domain.errors import TooManyStreams
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.ids import PanelId, TenantId


class Subscriber:
    __slots__ = (
        "_buffer",
        "_nudged",
        "_waiter",
        "closed",
        "dropped",
        "last_seq",
        "limit",
        "panel_id",
        "tenant",
        "tokens",
    )

    def __init__(self, panel_id: PanelId, tenant: TenantId, *, tokens: bool, limit: int) -> None:
        self.panel_id = panel_id
        self.tenant = tenant
        self.tokens = tokens
        self.limit = limit
        self.dropped = False
        self.closed = False
        self.last_seq = 0  # the last seq its stream has sent (kept by the stream)
        self._buffer: list[WireEvent] = []
        self._nudged = False
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, events: Sequence[WireEvent]) -> None:
        if self.closed or self.dropped:
            return
        if len(self._buffer) + len(events) > self.limit:
            self.dropped = True
            self._buffer.clear()
        else:
            self._buffer.extend(events)
        self._wake()

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

    async def next(self) -> list[WireEvent] | None:
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
    def __init__(
        self, *, buffer_size: int = 1024, max_streams: int = 10_000, max_streams_per_tenant: int = 1000
    ) -> None:
        self._subscribers: dict[PanelId, set[Subscriber]] = {}
        self._token_listeners: Counter[PanelId] = Counter()
        self._per_tenant: Counter[TenantId] = Counter()
        self._count = 0
        self.buffer_size = buffer_size
        self.max_streams = max_streams
        self.max_streams_per_tenant = max_streams_per_tenant
        self.delivered = 0
        self._closing = False
        self.on_token_interest: Callable[[PanelId], None] | None = None

    @property
    def open_streams(self) -> int:
        return self._count

    def subscribe(self, panel_id: PanelId, tenant: TenantId, *, tokens: bool = False) -> Subscriber:
        if self._closing:  # shutting down: a stream opened now ends at once
            closed = Subscriber(panel_id, tenant, tokens=tokens, limit=self.buffer_size)
            closed.close()
            return closed
        if self._count >= self.max_streams:
            raise TooManyStreams("This server holds its maximum number of streams; retry later")
        if self._per_tenant[tenant] >= self.max_streams_per_tenant:
            raise TooManyStreams("This tenant holds its maximum number of streams; retry later")
        subscriber = Subscriber(panel_id, tenant, tokens=tokens, limit=self.buffer_size)
        self._subscribers.setdefault(panel_id, set()).add(subscriber)
        self._per_tenant[tenant] += 1
        self._count += 1
        if tokens:
            self._token_listeners[panel_id] += 1
            if self._token_listeners[panel_id] == 1 and self.on_token_interest is not None:
                self.on_token_interest(panel_id)
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
        if subscriber.tokens:
            self._token_listeners[subscriber.panel_id] -= 1
            if self._token_listeners[subscriber.panel_id] <= 0:
                del self._token_listeners[subscriber.panel_id]
        subscriber.close()

    def has_subscribers(self, panel_id: PanelId) -> bool:
        return panel_id in self._subscribers

    def watched(self) -> list[tuple[PanelId, TenantId, int]]:
        """Each watched panel, its tenant, and the lowest seq its subscribers have sent."""
        return [
            (panel_id, next(iter(subs)).tenant, min(s.last_seq for s in subs))
            for panel_id, subs in self._subscribers.items()
            if subs
        ]

    def deliver(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        subscribers = self._subscribers.get(panel_id)
        if not subscribers or not events:
            return
        wire = [WireEvent.of(e) for e in events]
        for subscriber in subscribers:
            subscriber.deliver(wire)
        self.delivered += len(wire) * len(subscribers)

    # EventPublisher, for a single process
    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        self.deliver(panel_id, events)

    def publish_tokens(self, panel_id: PanelId, data: dict[str, object]) -> None:
        subscribers = self._subscribers.get(panel_id)
        if not subscribers:
            return
        event = [WireEvent.token(dict(data))]
        for subscriber in subscribers:
            if subscriber.tokens:
                subscriber.deliver(event)

    def wants_tokens(self, panel_id: PanelId) -> bool:
        return panel_id in self._token_listeners

    def token_panels(self) -> list[PanelId]:
        return list(self._token_listeners)

    def close_all(self) -> None:
        self._closing = True
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.close()
