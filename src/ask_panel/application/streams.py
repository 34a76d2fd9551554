"""StreamService: a panel's events for one client, replayed from the log and then pushed live.

Exactly-once by seq across the replay/live boundary: the subscriber is registered with the hub
first, the log is read after, and live events at or below the last seq sent (or the client's own
resume id, even one beyond the log) are dropped: ids only ever go up from the client's. A gap in
the live sequence (a lost wake-up across processes) is filled from the log.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from ask_panel.application.hub import EventHub, LiveEvent, Subscriber
from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel


@dataclass
class PanelStream:
    panel: Panel
    subscriber: Subscriber
    replay: list[LiveEvent]
    last_event_id: int
    _hub: EventHub
    _uow: UnitOfWorkFactory
    ended_with_panel: bool = False
    """Whether the stream ended because the panel did (its terminal event was sent, or had been)."""

    @property
    def finished(self) -> bool:
        """The panel has ended and the client already has its last event: nothing will ever be sent."""
        return self.panel.status.is_terminal and not self.replay

    async def batches(self) -> AsyncGenerator[list[LiveEvent]]:
        """Batches of events to send, in seq order (an empty batch: heartbeat due); ends after a terminal event."""
        try:
            last = self.subscriber.last_seq = self.last_event_id
            if self.replay:
                yield self.replay
                last = self.subscriber.last_seq = self.replay[-1].seq or last
                if any(e.terminal for e in self.replay):
                    self.ended_with_panel = True
                    return
            if self.panel.status.is_terminal and not self.subscriber.closed:
                # Everything up to the end was asked for and already sent (or skipped by the resume id).
                self.ended_with_panel = True
                return
            while True:
                batch = await self.subscriber.next()
                if batch is None:
                    return
                if not batch:
                    yield []  # a heartbeat is due: the consumer decides what that means
                    continue
                out: list[LiveEvent] = []
                ended = False
                for event in batch:
                    if event.seq is None:
                        out.append(event)
                        continue
                    if event.seq <= last:
                        # Already sent, or at or below the client's resume id: never again. A terminal
                        # one still ends the stream (a client that claimed an id past the panel's end).
                        ended = ended or event.terminal
                        continue
                    if event.seq > last + 1:
                        out.extend(await self._fill(last, event.seq))
                    out.append(event)
                    last = event.seq
                self.subscriber.last_seq = last
                if out:
                    yield out
                    if any(e.terminal for e in out):
                        self.ended_with_panel = True
                        return
                if ended:
                    self.ended_with_panel = True
                    return
        finally:
            self._hub.unsubscribe(self.subscriber)

    async def _fill(self, after: int, before: int) -> list[LiveEvent]:
        async with self._uow(self.panel.tenant_id) as uow:
            missing = await uow.events.read(self.panel.panel_id, after=after, limit=before - after - 1)
        return [LiveEvent.of(e) for e in missing]

    def close(self) -> None:
        self._hub.unsubscribe(self.subscriber)

    @property
    def server_closing(self) -> bool:
        """The process is shutting down (the stream should tell its client to reconnect elsewhere)."""
        return self._hub.closing


class StreamService:
    def __init__(self, uow_factory: UnitOfWorkFactory, hub: EventHub) -> None:
        self._uow = uow_factory
        self._hub = hub

    async def open(
        self, tenant: TenantId, panel_id: PanelId, *, last_event_id: int = 0, deltas: bool = False
    ) -> PanelStream:
        """Subscribe, then read the log after `last_event_id` (>= 0). PanelNotFound or TooManyStreams."""
        subscriber = self._hub.subscribe(panel_id, tenant, deltas=deltas)
        try:
            async with self._uow(tenant) as uow:
                panel = await uow.panels.get(panel_id)
                # An id beyond the log (a client's mistake, or a panel it saw elsewhere) is kept: only
                # greater ids are ever sent, and the panel's terminal event ends the stream either way.
                last_event_id = max(0, last_event_id)
                events = await uow.events.read(panel_id, after=last_event_id)
            subscriber.note(events[-1].seq if events else last_event_id)
        except BaseException:
            self._hub.unsubscribe(subscriber)
            raise
        replay = [LiveEvent.replayed(e) for e in events]
        return PanelStream(panel, subscriber, replay, last_event_id, self._hub, self._uow)
