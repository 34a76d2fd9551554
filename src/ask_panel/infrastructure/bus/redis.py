"""RedisBus: the cross-process messages over Redis pub/sub, one subscription per process.

Sending never blocks the caller (a panel's commit path): messages go to a bounded outbox that one
task publishes, pipelined; while Redis cannot take them they are dropped (the event log has the
data, and watchers reconcile against it) and the outage is logged once. The subscription is probed
with PING every `probe_s`: one that stays silent for three probes (a stalled connection, which
never breaks by itself) is dropped and made again, and the subscribers are told to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from ask_panel.application.outages import Outage
from ask_panel.infrastructure.bus.subscriptions import Handler, Subscriptions

log = logging.getLogger(__name__)

MAX_OUTBOX = 10_000
BATCH = 256


class RedisBus:
    def __init__(self, url: str, *, send_timeout_s: float = 2.0, probe_s: float = 2.0) -> None:
        self._client = aioredis.from_url(url, socket_timeout=send_timeout_s, socket_connect_timeout=send_timeout_s)
        self._listener = aioredis.from_url(url, socket_connect_timeout=max(probe_s, 1.0))
        self._send_timeout = send_timeout_s
        self._probe_s = probe_s
        self._subscriptions = Subscriptions()
        self._outbox: deque[tuple[str, str]] = deque(maxlen=MAX_OUTBOX)
        self._pending = asyncio.Event()
        self._drained = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._publishing = Outage("Redis (publishing wake-ups)", log)
        self._listening = Outage("Redis (receiving wake-ups)", log)

    def subscribe(self, channel: str, handler: Handler, *, on_reconnect: Callable[[], None] | None = None) -> None:
        self._subscriptions.add(channel, handler, on_reconnect)

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set() and not self._publishing.ongoing

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-listen"),
            asyncio.create_task(self._send_loop(), name="redis-publish"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(10.0, 3 * self._probe_s)):
                await self._subscribed.wait()

    async def send(self, channel: str, payload: str) -> None:
        self._outbox.append((channel, payload))  # full: the oldest message is dropped
        self._drained.clear()
        self._pending.set()

    async def _send_loop(self) -> None:
        while True:
            if self._publishing.ongoing:  # nothing to send may be a while: find out when Redis is back
                try:
                    async with asyncio.timeout(self._probe_s):
                        await self._pending.wait()
                except TimeoutError:
                    await self._probe_publisher()
                    continue
            else:
                await self._pending.wait()
            self._pending.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(BATCH, len(self._outbox)))]
                try:
                    async with asyncio.timeout(self._send_timeout):
                        await self._publish(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the log has the events; watchers reconcile against it
                    self._outbox.clear()
                    self._publishing.failed(exc, consequence="messages are dropped until it is back")
                    await asyncio.sleep(min(1.0, self._probe_s))
                else:
                    self._publishing.succeeded()
            self._drained.set()

    async def _probe_publisher(self) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._client.ping()
        except Exception as exc:
            self._publishing.failed(exc)
        else:
            self._publishing.succeeded()

    async def _publish(self, batch: list[tuple[str, str]]) -> None:
        if len(batch) == 1:
            await self._client.publish(*batch[0])
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for channel, payload in batch:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    async with asyncio.timeout(3 * self._probe_s):
                        await pubsub.subscribe(*self._subscriptions.channels)
                    self._subscribed.set()
                    self._listening.succeeded()
                    self._subscriptions.reconnected()
                    await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._subscribed.clear()
                self._listening.failed(exc, consequence="resubscribing; watchers catch up from the log meanwhile")
                await asyncio.sleep(min(1.0, self._probe_s))

    async def _receive(self, pubsub: Any) -> None:
        """Dispatch messages until the connection breaks or stays silent past its probe."""
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=self._probe_s)
            now = time.monotonic()
            if message is not None:
                heard = now
                if message.get("type") == "message":
                    channel, data = message["channel"], message["data"]
                    self._subscriptions.dispatch(
                        channel.decode() if isinstance(channel, bytes) else channel,
                        data.decode() if isinstance(data, bytes) else str(data),
                    )
            if now - heard > 3 * self._probe_s:
                raise ConnectionError(f"no answer to PING for {now - heard:.1f} s")
            if now - pinged >= self._probe_s:
                pinged = now
                async with asyncio.timeout(self._probe_s):
                    await pubsub.ping()

    async def close(self) -> None:
        if self._outbox and self._tasks:  # give the last messages (a cancel's wake-up) a moment to leave
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._drained.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._subscribed.clear()
        await self._client.aclose()
        await self._listener.aclose()
