"""RedisBus: the cross-process messages over Redis pub/sub, one subscription per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from ask_panel.infrastructure.bus.subscriptions import Handler, Subscriptions

log = logging.getLogger(__name__)


class RedisBus:
    def __init__(self, url: str, *, send_timeout_s: float = 2.0) -> None:
        # Publishing runs on the panels' commit path: it must fail fast, never stall a panel.
        self._client = aioredis.from_url(url, socket_timeout=send_timeout_s, socket_connect_timeout=send_timeout_s)
        self._listener = aioredis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        self._send_timeout = send_timeout_s
        self._subscriptions = Subscriptions()
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def subscribe(self, channel: str, handler: Handler, *, on_reconnect: Callable[[], None] | None = None) -> None:
        self._subscriptions.add(channel, handler, on_reconnect)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._subscribed.wait()

    async def send(self, channel: str, payload: str) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await self._client.publish(channel, payload)
        except Exception as exc:  # the log has the events; subscribers fill gaps from it
            log.warning("could not publish to Redis %s: %s", channel, exc)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(*self._subscriptions.channels)
                    self._subscribed.set()
                    self._subscriptions.reconnected()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        channel = message["channel"]
                        data = message["data"]
                        self._subscriptions.dispatch(
                            channel.decode() if isinstance(channel, bytes) else channel,
                            data.decode() if isinstance(data, bytes) else str(data),
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Redis subscription lost (%s); resubscribing", exc)
                self._subscribed.clear()
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()
        await self._listener.aclose()
