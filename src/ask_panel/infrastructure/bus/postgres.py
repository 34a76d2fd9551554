"""PostgresWakeups: one LISTEN connection per process; NOTIFY is sent inside the committing transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from ask_panel.infrastructure.bus.wakeup import CHANNEL, Wakeup

log = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresWakeups:
    """Listens on the channel and reconnects after a lost connection (a lost wake-up costs latency only)."""

    def __init__(self, database_url: str, on_wakeup: Callable[[Wakeup], None], *, channel: str = CHANNEL) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._on_wakeup = on_wakeup
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="pg-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._connected.wait()

    def _callback(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        wakeup = Wakeup.decode(payload)
        if wakeup is not None:
            self._on_wakeup(wakeup)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    await conn.add_listener(self._channel, self._callback)
                    self._connected.set()
                    while not conn.is_closed():
                        await asyncio.sleep(5)
                        await conn.execute("SELECT 1")
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", exc)
                self._connected.clear()
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
