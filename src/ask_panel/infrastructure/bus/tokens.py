"""TokenForwarder: token deltas between processes, only for panels some process watches with tokens.

A process with token subscribers announces its interest in those panels (at once, then every
`refresh_s`); a process running such a panel forwards its token batches while the interest is
fresh. Deltas are ephemeral: a full outbox drops them rather than slowing the panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ask_panel.application.hub import EventHub
from ask_panel.domain.ids import PanelId

log = logging.getLogger(__name__)

TOKENS_CHANNEL = "ask_panel_tokens"
INTEREST_CHANNEL = "ask_panel_token_interest"
MAX_OUTBOX = 2000


class Bus(Protocol):
    """What the Redis and PostgreSQL buses offer: handlers per channel, and sending."""

    def subscribe(self, channel: str, handler: Callable[[str], None]) -> None: ...

    async def send(self, channel: str, payload: str) -> None: ...


class TokenForwarder:
    def __init__(self, bus: Bus, hub: EventHub, *, origin: str, refresh_s: float = 10.0) -> None:
        self._bus = bus
        self._hub = hub
        self._origin = origin
        self._refresh = refresh_s
        self._interest: dict[PanelId, float] = {}
        self._outbox: deque[str] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._announcing: set[asyncio.Task[None]] = set()
        self.forwarded = 0
        self.dropped = 0
        bus.subscribe(TOKENS_CHANNEL, self._on_tokens)
        bus.subscribe(INTEREST_CHANNEL, self._on_interest)
        hub.on_token_interest = self.announce

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="token-forwarder"),
            asyncio.create_task(self._refresh_loop(), name="token-interest"),
        ]

    # ---- running side ------------------------------------------------------------------------
    def wanted_elsewhere(self, panel_id: PanelId) -> bool:
        until = self._interest.get(panel_id)
        return until is not None and until > time.monotonic()

    def forward(self, panel_id: PanelId, data: dict[str, object]) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            self.dropped += 1
            return
        self._outbox.append(f"{self._origin}|{panel_id}|{json.dumps(data)}")
        self._wake.set()

    def _on_interest(self, payload: str) -> None:
        origin, _, panels = payload.partition("|")
        if origin == self._origin:  # our own announcement, echoed by the bus
            return
        until = time.monotonic() + 3 * self._refresh
        for item in panels.split(","):
            with contextlib.suppress(ValueError):
                self._interest[PanelId(uuid.UUID(item))] = until

    async def _send_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                await self._bus.send(TOKENS_CHANNEL, self._outbox.popleft())
                self.forwarded += 1

    # ---- watching side -----------------------------------------------------------------------
    def announce(self, panel_id: PanelId) -> None:
        with contextlib.suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(
                self._bus.send(INTEREST_CHANNEL, f"{self._origin}|{panel_id}")
            )
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            panels = [str(p) for p in self._hub.token_panels()]
            for start in range(0, len(panels), 150):  # NOTIFY payloads stay far below 8000 bytes
                await self._bus.send(INTEREST_CHANNEL, f"{self._origin}|" + ",".join(panels[start : start + 150]))
            now = time.monotonic()
            for panel_id in [p for p, until in self._interest.items() if until <= now]:
                del self._interest[panel_id]

    def _on_tokens(self, payload: str) -> None:
        try:
            origin, panel, data = payload.split("|", 2)
            if origin == self._origin:
                return
            panel_id = PanelId(uuid.UUID(panel))
            if self._hub.wants_tokens(panel_id):
                self._hub.publish_tokens(panel_id, json.loads(data))
        except ValueError:
            log.info("ignored a malformed token message")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
