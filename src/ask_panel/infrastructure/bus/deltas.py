"""DeltaForwarder: text deltas between processes, only for panels some process watches with deltas.

A process with delta subscribers announces its interest in those panels (as soon as a panel gets
its first one, then every `refresh_s`); a process running such a panel forwards its delta batches
while the interest is fresh. Deltas are ephemeral: a full outbox drops them rather than slowing the
panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import asdict

from ask_panel.application.hub import EventHub
from ask_panel.application.ports import Bus
from ask_panel.domain.events import ExpertToken
from ask_panel.domain.ids import PanelId
from ask_panel.observability import metrics

log = logging.getLogger(__name__)

# The channel names are shared with processes of earlier releases during a rolling deploy.
DELTAS_CHANNEL = "ask_panel_tokens"
INTEREST_CHANNEL = "ask_panel_token_interest"
MAX_OUTBOX = 2000
PANELS_PER_ANNOUNCEMENT = 150  # NOTIFY payloads stay far below 8000 bytes


class DeltaForwarder:
    def __init__(self, bus: Bus, hub: EventHub, *, origin: str, refresh_s: float = 10.0) -> None:
        self._bus = bus
        self._hub = hub
        self._origin = origin
        self._refresh = refresh_s
        self._interest: dict[PanelId, float] = {}
        self._outbox: deque[str] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        bus.subscribe(DELTAS_CHANNEL, self._on_deltas)
        bus.subscribe(INTEREST_CHANNEL, self._on_interest, on_reconnect=self._reannounce)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="delta-forwarder"),
            asyncio.create_task(self._announce_loop(), name="delta-interest"),
            asyncio.create_task(self._refresh_loop(), name="delta-interest-refresh"),
        ]

    # ---- running side ------------------------------------------------------------------------
    def wanted_elsewhere(self, panel_id: PanelId) -> bool:
        until = self._interest.get(panel_id)
        return until is not None and until > time.monotonic()

    def forward(self, panel_id: PanelId, delta: ExpertToken) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            metrics.DELTA_BATCHES.labels("dropped").inc()
            return  # the watchers elsewhere miss these deltas; the stored message will have the text
        self._outbox.append(f"{self._origin}|{panel_id}|{json.dumps(asdict(delta))}")
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
                await self._bus.send(DELTAS_CHANNEL, self._outbox.popleft())
                metrics.DELTA_BATCHES.labels("forwarded").inc()

    # ---- watching side -----------------------------------------------------------------------
    async def _announce(self, panels: list[PanelId]) -> None:
        names = [str(p) for p in panels]
        for start in range(0, len(names), PANELS_PER_ANNOUNCEMENT):
            await self._bus.send(
                INTEREST_CHANNEL, f"{self._origin}|" + ",".join(names[start : start + PANELS_PER_ANNOUNCEMENT])
            )

    async def _announce_loop(self) -> None:
        """Announce a panel as soon as it gets its first delta subscriber here."""
        while True:
            await self._announce(await self._hub.new_delta_interest())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            await self._announce(self._hub.delta_panels())
            now = time.monotonic()
            for panel_id in [p for p, until in self._interest.items() if until <= now]:
                del self._interest[panel_id]

    def _reannounce(self) -> None:
        """After a reconnect the other processes may have missed our interest: say it again now."""
        panels = self._hub.delta_panels()
        if panels and self._tasks:
            task = asyncio.get_running_loop().create_task(self._announce(panels))
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)

    def _on_deltas(self, payload: str) -> None:
        try:
            origin, panel, data = payload.split("|", 2)
            if origin == self._origin:
                return
            panel_id = PanelId(uuid.UUID(panel))
            if self._hub.wants_deltas(panel_id):
                self._hub.publish_delta(panel_id, ExpertToken(**json.loads(data)))
        except (ValueError, TypeError):
            log.info("ignored a malformed delta message")

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
