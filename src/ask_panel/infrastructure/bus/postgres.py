"""PostgresBus: one LISTEN connection per process for all channels; it also sends out-of-transaction NOTIFYs.

Event wake-ups are NOTIFYed inside the committing transaction (so they are delivered only on
commit; see `wakeup.WakeupSender`); text deltas and delta interest go through `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from ask_panel.application.outages import Outage
from ask_panel.infrastructure.bus.subscriptions import Handler, Subscriptions

log = logging.getLogger(__name__)


def asyncpg_dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresBus:
    """Reconnects after a lost connection: a lost message costs latency (the log has the data)."""

    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._subscriptions = Subscriptions()
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._connected = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._outage = Outage("PostgreSQL LISTEN connection (wake-ups)", log)

    def subscribe(self, channel: str, handler: Handler, *, on_reconnect: Callable[[], None] | None = None) -> None:
        self._subscriptions.add(channel, handler, on_reconnect)

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._connected.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="pg-listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._connected.wait()

    def _callback(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self._subscriptions.dispatch(channel, payload)

    async def send(self, channel: str, payload: str) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            async with asyncio.timeout(2.0), self._send_lock:
                await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
        except Exception as exc:
            log.info("could not NOTIFY %s: %s", channel, exc)

    async def _listen(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    for channel in self._subscriptions.channels:
                        await conn.add_listener(channel, self._callback)
                    self._conn = conn
                    self._connected.set()
                    self._outage.succeeded()
                    self._subscriptions.reconnected()
                    while not conn.is_closed():
                        await asyncio.sleep(5)
                        async with asyncio.timeout(5), self._send_lock:
                            await conn.execute("SELECT 1")  # a half-open connection times out: reconnect
                finally:
                    self._conn = None
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected.clear()
                self._outage.failed(exc, consequence="reconnecting; watchers catch up from the log meanwhile")
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._connected.clear()
