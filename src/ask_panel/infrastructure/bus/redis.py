"""RedisWakeups: wake-ups over Redis pub/sub (published after commit), one subscriber per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from ask_panel.infrastructure.bus.wakeup import CHANNEL, Wakeup

log = logging.getLogger(__name__)


class RedisWakeups:
    def __init__(self, url: str, on_wakeup: Callable[[Wakeup], None], *, channel: str = CHANNEL) -> None:
        self._client = aioredis.from_url(url)
        self._on_wakeup = on_wakeup
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._subscribed.wait()

    async def publish(self, wakeup: Wakeup) -> None:
        try:
            await self._client.publish(self._channel, wakeup.encode())
        except Exception as exc:  # the log has the events; subscribers fill gaps from it
            log.warning("could not publish a wake-up to Redis: %s", exc)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        data = message["data"]
                        wakeup = Wakeup.decode(data.decode() if isinstance(data, bytes) else str(data))
                        if wakeup is not None:
                            self._on_wakeup(wakeup)
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
