"""SQL repositories: panels (with the fenced, append-only event log), agents, tickets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ask_panel.application.ports import PanelPage, Ticket
from ask_panel.domain.errors import AgentAlreadyExists, IdempotencyConflict, PanelNotFound, StaleAttempt
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.llm import parse_output_mode
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.usage import UsageDay
from ask_panel.domain.values import Usage
from ask_panel.infrastructure.bus.wakeup import Wakeup, WakeupSender
from ask_panel.infrastructure.db.scope import TenantScope
from ask_panel.infrastructure.db.tables import agents, panel_events, panels, stream_tickets, usage_ledger
from ask_panel.infrastructure.serialization.events import event_data, stored_type
from ask_panel.infrastructure.serialization.panels import SUMMARY_KEYS, panel_body, panel_of, summary_of

UNFINISHED = [PanelStatus.QUEUED.value, PanelStatus.IN_PROGRESS.value]
AGENT_ORDER = (agents.c.created_at, agents.c.agent_id)
# Statements built once; values come as parameters (no per-call compilation of literals).
INSERT_PANEL = insert(panels)
INSERT_EVENTS = insert(panel_events)
INSERT_USAGE = insert(usage_ledger)
# The fenced checkpoint write: only the tenant's row, only while its attempt is still current.
SAVE_PANEL = (
    TenantScope.update_bound(
        panels,
        panels.c.panel_id == bindparam("w_panel_id"),
        panels.c.attempt == bindparam("w_attempt"),
        panels.c.status.not_in([s.value for s in PanelStatus if s.is_terminal]),
    )
    .values(
        status=bindparam("status"),
        error=bindparam("error"),
        body=bindparam("body", type_=panels.c.body.type),
        updated_at=bindparam("updated_at", type_=panels.c.updated_at.type),
        attempt=bindparam("attempt"),
        last_seq=panels.c.last_seq + bindparam("added"),
    )
    .returning(panels.c.last_seq)
)


# A summary's projection: the panel's own columns, a few keys of its body, and its messages counted in SQL.
SUMMARY_COLUMNS = (
    panels.c.panel_id,
    panels.c.tenant_id,
    panels.c.query,
    panels.c.panel_type,
    panels.c.status,
    panels.c.created_at,
    panels.c.updated_at,
)
_MESSAGE_COUNT = {
    "sqlite": "(SELECT coalesce(sum(json_array_length(d.value, '$.messages')), 0)"
    " FROM json_each(panels.body, '$.discussions') AS d)",
    "postgresql": "(SELECT coalesce(sum(jsonb_array_length(d.value -> 'messages')), 0)"
    " FROM jsonb_array_elements(panels.body -> 'discussions') AS d)",
}


def _body_keys() -> list[Any]:
    return [panels.c.body[key].label(key) for key in SUMMARY_KEYS]


def _message_count(dialect: str) -> Any:
    return literal_column(_MESSAGE_COUNT[dialect]).label("total_messages")


class SqlPanelRepository:
    """Panels of one tenant. A save that appends events adds its wake-up to `wakeups` (sent at commit)."""

    def __init__(
        self, conn: AsyncConnection, scope: TenantScope, *, wakeups: list[Wakeup], sender: WakeupSender | None
    ) -> None:
        self._conn = conn
        self._scope = scope
        self._wakeups = wakeups
        self._sender = sender

    async def add(self, panel: Panel, *, idempotency_key: str | None, fingerprint: str | None) -> None:
        events, panel.pending_events = panel.pending_events, []
        try:
            await self._conn.execute(
                INSERT_PANEL,
                self._scope.row(
                    panel_id=str(panel.panel_id),
                    query=panel.query,
                    panel_type=panel.panel_type.value,
                    status=panel.status.value,
                    attempt=panel.attempt,
                    last_seq=0,
                    error=panel.error,
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                    body=panel_body(panel),
                    created_at=panel.created_at,
                    updated_at=panel.updated_at,
                ),
            )
        except IntegrityError:
            raise IdempotencyConflict("A request with this Idempotency-Key is being processed; retry") from None
        if events:
            panel.pending_events = events
            await self.save(panel)

    async def get(self, panel_id: PanelId, *, for_update: bool = False) -> Panel:
        stmt = self._scope.select(panels, panels.c.panel_id == str(panel_id))
        if for_update and self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            raise PanelNotFound(panel_id)
        return panel_of(row)

    async def find_by_idempotency_key(self, key: str) -> tuple[Panel, str | None] | None:
        row = (await self._conn.execute(self._scope.select(panels, panels.c.idempotency_key == key))).first()
        return None if row is None else (panel_of(row), row.request_fingerprint)

    async def page(
        self, *, limit: int, offset: int, status: PanelStatus | None, panel_type: PanelType | None
    ) -> PanelPage:
        filters = []
        if status is not None:
            filters.append(panels.c.status == status.value)
        if panel_type is not None:
            filters.append(panels.c.panel_type == panel_type.value)
        order = (panels.c.created_at.desc(), panels.c.panel_id.desc())
        # The page's ids first (the count runs over every match), then the projection of those rows only.
        chosen = (
            self._scope.select(panels, *filters)
            .with_only_columns(panels.c.panel_id, func.count().over().label("total"))
            .order_by(*order)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        page = (
            select(*SUMMARY_COLUMNS, *_body_keys(), _message_count(self._conn.dialect.name), chosen.c.total)
            .join_from(panels, chosen, panels.c.panel_id == chosen.c.panel_id)
            .order_by(*order)
        )
        rows = (await self._conn.execute(page)).all()
        if rows:
            total = rows[0].total
        else:
            counted = self._scope.select(panels, *filters).with_only_columns(func.count())
            total = (await self._conn.execute(counted)).scalar_one()
        return PanelPage([summary_of(r) for r in rows], int(total))

    async def save(self, panel: Panel, *, bump_attempt: bool = False) -> list[StoredEvent]:
        events, panel.pending_events = panel.pending_events, []
        attempt = panel.attempt + 1 if bump_attempt else panel.attempt
        now = utcnow()
        params = self._scope.bound(
            w_panel_id=str(panel.panel_id),
            w_attempt=panel.attempt,
            status=panel.status.value,
            error=panel.error,
            body=panel_body(panel),
            updated_at=now,
            attempt=attempt,
            added=len(events),
        )
        last_seq = (await self._conn.execute(SAVE_PANEL, params)).scalar_one_or_none()
        if last_seq is None:
            raise StaleAttempt(f"attempt {panel.attempt} of panel {panel.panel_id} is no longer current")
        panel.attempt = attempt
        panel.last_seq = last_seq
        panel.updated_at = now
        usage, panel.unrecorded_usage = panel.unrecorded_usage, Usage()
        if usage.llm_calls:
            await SqlUsageLedger(self._conn, self._scope).add(panel.panel_id, usage, now)
        if not events:
            return []
        first = last_seq - len(events) + 1
        panel_key = str(panel.panel_id)
        stored = [
            StoredEvent(panel_key, first + i, e.type.value, event_data(e), now, panel.tenant_id)
            for i, e in enumerate(events)
        ]
        await self._conn.execute(
            INSERT_EVENTS,
            [self._scope.row(panel_id=panel_key, seq=s.seq, type=s.type, data=s.data, created_at=now) for s in stored],
        )
        if self._sender is not None:
            self._wakeups.append(self._sender.wakeup(panel.tenant_id, panel.panel_id, stored))
        return stored


class SqlUsageLedger:
    """The tenant's usage entries: one per save that used models, summed by UTC day when read."""

    def __init__(self, conn: AsyncConnection, scope: TenantScope) -> None:
        self._conn = conn
        self._scope = scope

    async def add(self, panel_id: PanelId, usage: Usage, at: datetime) -> None:
        await self._conn.execute(
            INSERT_USAGE,
            self._scope.row(
                panel_id=str(panel_id),
                day=at.astimezone(UTC).date(),
                recorded_at=at,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                llm_calls=usage.llm_calls,
                cost_usd=usage.cost_usd,
            ),
        )

    async def days(self, first: date, last: date) -> list[UsageDay]:
        c = usage_ledger.c
        stmt = (
            select(
                c.day,
                func.sum(c.input_tokens),
                func.sum(c.output_tokens),
                func.sum(c.llm_calls),
                func.sum(c.cost_usd),
                func.count(c.panel_id.distinct()),
            )
            .where(self._scope.owns(usage_ledger), c.day >= first, c.day <= last)
            .group_by(c.day)
            .order_by(c.day)
        )
        rows = (await self._conn.execute(stmt)).all()
        return [UsageDay(_day(r[0]), int(r[1]), int(r[2]), int(r[3]), round(float(r[4]), 8), int(r[5])) for r in rows]

    async def cost_since(self, first: date) -> float:
        c = usage_ledger.c
        stmt = select(func.coalesce(func.sum(c.cost_usd), 0.0)).where(self._scope.owns(usage_ledger), c.day >= first)
        return round(float((await self._conn.execute(stmt)).scalar_one()), 8)


def _day(value: object) -> date:
    """A DATE column's value (SQLite may hand back its text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class SqlEventLog:
    def __init__(self, conn: AsyncConnection, scope: TenantScope) -> None:
        self._conn = conn
        self._scope = scope

    async def read(self, panel_id: PanelId, *, after: int, limit: int | None = None) -> list[StoredEvent]:
        key = str(panel_id)
        stmt = self._scope.select(panel_events, panel_events.c.panel_id == key, panel_events.c.seq > after).order_by(
            panel_events.c.seq
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = (await self._conn.execute(stmt)).all()
        return [
            StoredEvent(key, r.seq, stored_type(r.type, r.data), r.data, r.created_at, self._scope.tenant) for r in rows
        ]


class SqlAgentRepository:
    def __init__(self, conn: AsyncConnection, scope: TenantScope) -> None:
        self._conn = conn
        self._scope = scope

    @staticmethod
    def _to_expert(row: Any) -> Expert:
        return Expert(
            row.agent_id,
            row.name,
            row.role,
            tuple(row.expertise),
            row.instructions,
            row.model,
            row.provider,
            output_mode=parse_output_mode(row.output_mode),
        )

    async def all(self) -> list[Expert]:
        rows = (await self._conn.execute(self._scope.select(agents).order_by(*AGENT_ORDER))).all()
        return [self._to_expert(r) for r in rows]

    async def page(self, *, limit: int, offset: int) -> list[Expert]:
        stmt = self._scope.select(agents).order_by(*AGENT_ORDER).limit(limit).offset(offset)
        return [self._to_expert(r) for r in (await self._conn.execute(stmt)).all()]

    async def count(self) -> int:
        stmt = self._scope.select(agents).with_only_columns(func.count())
        return int((await self._conn.execute(stmt)).scalar_one())

    async def get(self, agent_id: str) -> Expert | None:
        row = (await self._conn.execute(self._scope.select(agents, agents.c.agent_id == agent_id))).first()
        return None if row is None else self._to_expert(row)

    async def add(self, expert: Expert) -> None:
        try:
            await self._add(expert)
        except IntegrityError:
            raise AgentAlreadyExists(f"Agent '{expert.agent_id}' already exists") from None

    async def _add(self, expert: Expert) -> None:
        await self._conn.execute(
            insert(agents).values(
                self._scope.row(
                    agent_id=expert.agent_id,
                    name=expert.name,
                    role=expert.role,
                    expertise=list(expert.expertise),
                    instructions=expert.instructions,
                    model=expert.model,
                    provider=expert.provider,
                    output_mode=expert.output_mode,
                    created_at=utcnow(),
                )
            )
        )

    async def replace(self, expert: Expert) -> bool:
        result = await self._conn.execute(
            self._scope.update(agents, agents.c.agent_id == expert.agent_id).values(
                name=expert.name,
                role=expert.role,
                expertise=list(expert.expertise),
                instructions=expert.instructions,
                model=expert.model,
                provider=expert.provider,
                output_mode=expert.output_mode,
            )
        )
        return bool(result.rowcount)

    async def delete(self, agent_id: str) -> bool:
        result = await self._conn.execute(self._scope.delete(agents, agents.c.agent_id == agent_id))
        return bool(result.rowcount)


class SqlTicketStore:
    """Stream tickets are redeemed before the tenant is known: this store is not tenant-scoped."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, digest: str, ticket: Ticket, expires_at: datetime) -> None:
        # Expired tickets are useless: each new one sweeps them, so the table stays small.
        await self._conn.execute(delete(stream_tickets).where(stream_tickets.c.expires_at < utcnow()))
        await self._conn.execute(
            insert(stream_tickets).values(
                digest=digest,
                tenant_id=str(ticket.tenant_id),
                panel_id=str(ticket.panel_id),
                expires_at=expires_at,
            )
        )

    async def use(self, digest: str, panel_id: PanelId, stream: str, now: datetime) -> Ticket | None:
        column = stream_tickets.c
        stmt = (
            update(stream_tickets)
            .where(
                column.digest == digest,
                column.panel_id == str(panel_id),
                column.expires_at > now,
                or_(column.stream.is_(None), column.stream == stream),
            )
            .values(stream=stream, used_at=func.coalesce(column.used_at, now))
            .returning(column.tenant_id, column.panel_id)
        )
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return Ticket(TenantId(uuid.UUID(row.tenant_id)), PanelId(uuid.UUID(row.panel_id)))


class SqlRecoveryScanner:
    """Finds unfinished and orphaned panels of every tenant, and records the heartbeats of their runs."""

    def __init__(self, database: Any) -> None:
        self._db = database

    async def unfinished(self) -> list[tuple[TenantId, PanelId]]:
        stmt = (
            select(panels.c.tenant_id, panels.c.panel_id)
            .where(panels.c.status.in_(UNFINISHED))
            .order_by(panels.c.created_at)
        )
        async with self._db.system_connection() as conn:
            rows = (await conn.execute(stmt)).all()
        return [(TenantId(uuid.UUID(r.tenant_id)), PanelId(uuid.UUID(r.panel_id))) for r in rows]

    async def beat(self, panel_ids: Sequence[PanelId]) -> None:
        if not panel_ids:
            return
        stmt = (
            update(panels)
            .where(panels.c.panel_id.in_([str(p) for p in panel_ids]), panels.c.status.in_(UNFINISHED))
            .values(heartbeat_at=utcnow())
        )
        lock = self._db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self._db.system_connection() as conn:
                await conn.execute(stmt)
                await conn.commit()
        finally:
            if lock is not None:
                lock.release()

    async def orphaned(self, *, silent_for_s: float) -> list[tuple[TenantId, PanelId]]:
        cutoff = utcnow() - timedelta(seconds=silent_for_s)
        stmt = (
            select(panels.c.tenant_id, panels.c.panel_id)
            .where(
                panels.c.status.in_(UNFINISHED),
                panels.c.updated_at < cutoff,
                or_(panels.c.heartbeat_at.is_(None), panels.c.heartbeat_at < cutoff),
            )
            .order_by(panels.c.updated_at)
        )
        async with self._db.system_connection() as conn:
            rows = (await conn.execute(stmt)).all()
        return [(TenantId(uuid.UUID(r.tenant_id)), PanelId(uuid.UUID(r.panel_id))) for r in rows]


class SqlLogHeads:
    """Each panel's last seq, across tenants, in one read per chunk of panels (what watchers reconcile against)."""

    CHUNK = 500

    def __init__(self, database: Any) -> None:
        self._db = database

    async def last_seqs(self, panel_ids: Sequence[PanelId]) -> dict[PanelId, int]:
        keys = [str(p) for p in panel_ids]
        heads: dict[PanelId, int] = {}
        async with self._db.system_connection() as conn:
            for start in range(0, len(keys), self.CHUNK):
                chunk = keys[start : start + self.CHUNK]
                stmt = select(panels.c.panel_id, panels.c.last_seq).where(panels.c.panel_id.in_(chunk))
                for row in (await conn.execute(stmt)).all():
                    heads[PanelId(uuid.UUID(row.panel_id))] = int(row.last_seq)
        return heads
