"""Graceful drain: stop taking panels, end streams, and let running turns reach their next checkpoint (bounded).

On SIGTERM the process drains before it stops:

1. `Drain.active` turns on: the edge refuses new panels (create, execute, start-and-stream) with
   503 and `Retry-After`, and readiness fails, so a load balancer sends new work elsewhere.
2. Every open stream ends: SSE streams with a final `reconnect` frame, WebSockets with close
   code 1012 (service restart). Clients resume on another node with Last-Event-ID.
3. Each running panel continues until it commits its next step (a turn, a decision, a round
   marker): the `CheckpointGate` publishes that commit to the local watchers and then holds the
   run there. The drain waits until every running panel is held, or `timeout_s` has passed.
4. The process then stops its runs (cancelled without a status change): the panels stay
   `in_progress` with their committed steps and are resumed by the next process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextvars import ContextVar

from ask_panel.application.hub import EventHub
from ask_panel.application.ports import EventPublisher
from ask_panel.application.runner import LocalPanelPool
from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.ids import PanelId

log = logging.getLogger(__name__)


running_panel: ContextVar[PanelId | None] = ContextVar("running_panel", default=None)
"""Set by a run for its own task (and the turns it starts): the gate holds only runs, never a request's publish."""


class CheckpointGate:
    """An EventPublisher that, once draining, holds each run of this process right after its next commit."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner
        self.closed = False
        self.held: set[PanelId] = set()
        self._changed = asyncio.Event()

    async def publish(self, panel_id: PanelId, events: Sequence[StoredEvent]) -> None:
        await self._inner.publish(panel_id, events)
        if self.closed and running_panel.get() == panel_id:
            # This commit is the run's checkpoint; it waits here until the process stops it.
            self.held.add(panel_id)
            self._changed.set()
            await asyncio.get_running_loop().create_future()

    def publish_delta(self, panel_id: PanelId, delta: ExpertToken) -> None:
        self._inner.publish_delta(panel_id, delta)

    def wants_deltas(self, panel_id: PanelId) -> bool:
        return self._inner.wants_deltas(panel_id)

    async def wait_until_held(self, pool: LocalPanelPool, timeout_s: float) -> bool:
        """Close the gate; wait until every run of `pool` is held at a checkpoint or has ended (False: the bound)."""
        self.closed = True
        try:
            async with asyncio.timeout(timeout_s):
                while not set(pool.running) <= self.held:
                    self._changed.clear()
                    waiting: list[asyncio.Future[object]] = [asyncio.ensure_future(self._changed.wait())]
                    waiting += [asyncio.shield(task) for task in pool.running.values()]
                    try:
                        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for future in waiting:
                            future.cancel()
        except TimeoutError:
            return False
        return True


class Drain:
    """The process's drain: `active` from the first signal on; `begin()` runs steps 1-3 (see the module)."""

    def __init__(self, hub: EventHub, gate: CheckpointGate, pool: LocalPanelPool, *, timeout_s: float) -> None:
        self._hub = hub
        self._gate = gate
        self._pool = pool
        self.timeout_s = timeout_s
        self.active = False
        self._done: asyncio.Task[None] | None = None

    def begin(self) -> asyncio.Task[None]:
        """Start draining (idempotent): the task ends when every run is held or the bound has passed."""
        if self._done is None:
            self.active = True
            self._done = asyncio.get_running_loop().create_task(self._run(), name="drain")
        return self._done

    async def _run(self) -> None:
        running = len(self._pool.running)
        log.info(
            "draining: new panels refused, streams closed; %d running panels get up to %g s to reach a checkpoint",
            running,
            self.timeout_s,
        )
        self._hub.close_all()
        held = await self._gate.wait_until_held(self._pool, self.timeout_s)
        left = set(self._pool.running) - self._gate.held
        if held:
            log.info("drained: %d panels held at a checkpoint; they resume on the next start", len(self._gate.held))
        else:
            log.warning(
                "drain bound reached: %d panels held at a checkpoint, %d stopped mid-turn (they resume from their"
                " last checkpoint)",
                len(self._gate.held),
                len(left),
            )
