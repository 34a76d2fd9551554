"""GroupCommitCheckpoints: many panels' checkpoints committed in one SQLite transaction.

SQLite has one writer; every statement hops to the driver's thread. Under load, a transaction per
checkpoint spends its time waiting for hops, so checkpoints queue here and the writer commits all
that are waiting in one transaction. Each caller still gets its own result once its write is
durable; a stale attempt fails only its own write.
"""

from __future__ import annotations

import asyncio
import logging

import orjson

from ask_panel.domain.errors import StaleAttempt
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.panel import Panel
from ask_panel.infrastructure.bus.wakeup import Wakeup, WakeupSender
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.repositories import SqlPanelRepository
from ask_panel.infrastructure.db.scope import TenantScope
from ask_panel.infrastructure.serialization.events import event_data
from ask_panel.infrastructure.serialization.panels import panel_body
from ask_panel.observability import metrics

log = logging.getLogger(__name__)

Pending = tuple[Panel, "asyncio.Future[list[StoredEvent]]"]


def _serializable(panel: Panel, future: asyncio.Future[list[StoredEvent]]) -> bool:
    """One panel's unstorable data fails its own write only, not the whole batch."""
    try:
        orjson.dumps([panel_body(panel), [event_data(event) for event in panel.pending_events]])
    except (TypeError, orjson.JSONEncodeError) as exc:
        future.set_exception(exc)
        return False
    return True


class GroupCommitCheckpoints:
    def __init__(self, database: Database, *, wakeups: WakeupSender | None = None, max_batch: int = 256) -> None:
        self._db = database
        self._sender = wakeups
        self._max_batch = max_batch
        self._queue: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, panel: Panel) -> list[StoredEvent]:
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._queue.append((panel, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            batch = [(panel, future) for panel, future in batch if not future.done()]
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[Pending]) -> None:
        batch = [item for item in batch if _serializable(*item)]
        if not batch:
            return
        outcomes: list[tuple[asyncio.Future[list[StoredEvent]], list[StoredEvent] | BaseException]] = []
        wakeups: list[Wakeup] = []
        lock = self._db.write_lock
        try:
            if lock is not None:
                await lock.acquire()
            try:
                async with self._db.engine.connect() as conn:
                    await conn.begin()
                    for panel, future in batch:
                        repository = SqlPanelRepository(
                            conn, TenantScope(panel.tenant_id), wakeups=wakeups, sender=self._sender
                        )
                        try:
                            outcomes.append((future, await repository.save(panel)))
                        except StaleAttempt as exc:
                            outcomes.append((future, exc))
                    if self._sender is not None and wakeups:
                        await self._sender.before_commit(conn, wakeups)
                    await conn.commit()
                metrics.GROUP_COMMITS.inc()
                metrics.GROUP_COMMIT_CHECKPOINTS.inc(len(batch))
            finally:
                if lock is not None:
                    lock.release()
        except Exception as exc:
            error: BaseException = exc
            try:
                self._db.health.raise_translated(exc)  # a fault of the moment: each run waits and retries
            except Exception as translated:
                error = translated
            else:
                log.exception("group commit of %d checkpoints failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self._db.health.succeeded()
        if self._sender is not None and wakeups:
            await self._sender.after_commit(wakeups)
        for future, outcome in outcomes:
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
