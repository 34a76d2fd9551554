"""In-memory repositories: panels (fenced writes, gapless event log), agents, tickets, recovery.

Each reads the unit of work's own changes first, then the store's committed tables, and writes only
to the unit of work's changes (which `commit` applies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from ask_panel.application.ports import PanelPage, Ticket
from ask_panel.domain.errors import AgentAlreadyExists, IdempotencyConflict, PanelNotFound, StaleAttempt
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.usage import UsageDay
from ask_panel.domain.values import Usage
from ask_panel.infrastructure.bus.wakeup import Wakeup, WakeupSender
from ask_panel.infrastructure.memory.store import MemoryStore, StoredPanel, StoredTicket, Tables, UsageEntry
from ask_panel.infrastructure.serialization.events import event_data
from ask_panel.infrastructure.serialization.panels import panel_body, panel_of, panel_row, summary_of, summary_row

TERMINAL = frozenset(s.value for s in PanelStatus if s.is_terminal)
UNFINISHED = frozenset({PanelStatus.QUEUED.value, PanelStatus.IN_PROGRESS.value})


class MemoryPanelRepository:
    """Panels of one tenant. A save that appends events adds its wake-up to `wakeups` (sent at commit)."""

    def __init__(
        self,
        store: MemoryStore,
        changes: Tables,
        tenant: TenantId,
        *,
        wakeups: list[Wakeup] | None = None,
        sender: WakeupSender | None = None,
    ) -> None:
        self._store = store
        self._changes = changes
        self._tenant = tenant
        self._tenant_key = str(tenant)
        self._wakeups = wakeups if wakeups is not None else []
        self._sender = sender

    def _stored(self, panel_id: str) -> StoredPanel | None:
        found = self._changes.panels.get(panel_id) or self._store.tables.panels.get(panel_id)
        return found if found is not None and found.row.tenant_id == self._tenant_key else None

    def _tenant_panels(self) -> list[StoredPanel]:
        merged = {**self._store.tables.panels, **self._changes.panels}
        return [p for p in merged.values() if p.row.tenant_id == self._tenant_key]

    async def add(self, panel: Panel, *, idempotency_key: str | None, fingerprint: str | None) -> None:
        events, panel.pending_events = panel.pending_events, []
        key = str(panel.panel_id)
        taken = idempotency_key is not None and any(p.idempotency_key == idempotency_key for p in self._tenant_panels())
        if taken or key in self._changes.panels or key in self._store.tables.panels:
            raise IdempotencyConflict("A request with this Idempotency-Key is being processed; retry")
        row = replace(panel_row(panel), last_seq=0)
        self._changes.panels[key] = StoredPanel(row, idempotency_key, fingerprint)
        if events:
            panel.pending_events = events
            await self.save(panel)

    async def get(self, panel_id: PanelId, *, for_update: bool = False) -> Panel:
        stored = self._stored(str(panel_id))
        if stored is None:
            raise PanelNotFound(panel_id)
        return panel_of(stored.row)

    async def find_by_idempotency_key(self, key: str) -> tuple[Panel, str | None] | None:
        for stored in self._tenant_panels():
            if stored.idempotency_key == key:
                return panel_of(stored.row), stored.fingerprint
        return None

    async def page(
        self, *, limit: int, offset: int, status: PanelStatus | None, panel_type: PanelType | None
    ) -> PanelPage:
        rows = [
            p.row
            for p in self._tenant_panels()
            if (status is None or p.row.status == status.value)
            and (panel_type is None or p.row.panel_type == panel_type.value)
        ]
        rows.sort(key=lambda r: (r.created_at, r.panel_id), reverse=True)
        return PanelPage([summary_of(summary_row(r)) for r in rows[offset : offset + limit]], len(rows))

    async def save(self, panel: Panel, *, bump_attempt: bool = False) -> list[StoredEvent]:
        events, panel.pending_events = panel.pending_events, []
        key = str(panel.panel_id)
        stored = self._stored(key)
        if stored is None or stored.row.attempt != panel.attempt or stored.row.status in TERMINAL:
            raise StaleAttempt(f"attempt {panel.attempt} of panel {panel.panel_id} is no longer current")
        now = utcnow()
        first = stored.row.last_seq + 1
        attempt = panel.attempt + 1 if bump_attempt else panel.attempt
        last_seq = stored.row.last_seq + len(events)
        row = replace(
            stored.row,
            status=panel.status.value,
            error=panel.error,
            body=panel_body(panel),
            updated_at=now,
            attempt=attempt,
            last_seq=last_seq,
        )
        self._changes.panels[key] = replace(stored, row=row)
        panel.attempt, panel.last_seq, panel.updated_at = attempt, last_seq, now
        usage, panel.unrecorded_usage = panel.unrecorded_usage, Usage()
        if usage.llm_calls:
            self._changes.usage.append(UsageEntry(str(panel.tenant_id), key, now, usage))
        added = [
            StoredEvent(key, first + i, e.type.value, event_data(e), now, panel.tenant_id) for i, e in enumerate(events)
        ]
        if added:
            self._changes.events.setdefault(key, []).extend(added)
            if self._sender is not None:
                self._wakeups.append(self._sender.wakeup(panel.tenant_id, panel.panel_id, added))
        return added


class MemoryUsageLedger:
    def __init__(self, store: MemoryStore, changes: Tables, tenant: TenantId) -> None:
        self._store = store
        self._changes = changes
        self._tenant = str(tenant)

    def _entries(self) -> list[UsageEntry]:
        return [e for e in (*self._store.tables.usage, *self._changes.usage) if e.tenant_id == self._tenant]

    async def add(self, panel_id: PanelId, usage: Usage, at: datetime) -> None:
        self._changes.usage.append(UsageEntry(self._tenant, str(panel_id), at, usage))

    async def days(self, first: date, last: date) -> list[UsageDay]:
        by_day: dict[date, list[UsageEntry]] = defaultdict(list)
        for entry in self._entries():
            day = entry.recorded_at.astimezone(UTC).date()
            if first <= day <= last:
                by_day[day].append(entry)
        return [
            UsageDay(
                day,
                sum(e.usage.input_tokens for e in entries),
                sum(e.usage.output_tokens for e in entries),
                sum(e.usage.llm_calls for e in entries),
                round(sum(e.usage.cost_usd for e in entries), 8),
                len({e.panel_id for e in entries}),
            )
            for day, entries in sorted(by_day.items())
        ]

    async def cost_since(self, first: date) -> float:
        return round(sum(e.usage.cost_usd for e in self._entries() if e.recorded_at.astimezone(UTC).date() >= first), 8)


class MemoryEventLog:
    def __init__(self, store: MemoryStore, changes: Tables, tenant: TenantId) -> None:
        self._store = store
        self._changes = changes
        self._tenant = tenant

    async def read(self, panel_id: PanelId, *, after: int, limit: int | None = None) -> list[StoredEvent]:
        key = str(panel_id)
        log = [*self._store.tables.events.get(key, ()), *self._changes.events.get(key, ())]
        found = [e for e in log if e.seq > after and e.tenant_id == self._tenant]
        return found if limit is None else found[:limit]


class MemoryAgentRepository:
    def __init__(self, store: MemoryStore, changes: Tables, tenant: TenantId) -> None:
        self._store = store
        self._changes = changes
        self._tenant_key = str(tenant)

    async def all(self) -> list[Expert]:
        merged = {**self._store.tables.agents, **self._changes.agents}
        return [expert for (tenant, _), expert in merged.items() if tenant == self._tenant_key and expert is not None]

    async def page(self, *, limit: int, offset: int) -> list[Expert]:
        return (await self.all())[offset : offset + limit]

    async def count(self) -> int:
        return len(await self.all())

    async def get(self, agent_id: str) -> Expert | None:
        key = (self._tenant_key, agent_id)
        if key in self._changes.agents:
            return self._changes.agents[key]
        return self._store.tables.agents.get(key)

    async def add(self, expert: Expert) -> None:
        if await self.get(expert.agent_id) is not None:
            raise AgentAlreadyExists(f"Agent '{expert.agent_id}' already exists")
        self._changes.agents[(self._tenant_key, expert.agent_id)] = expert

    async def replace(self, expert: Expert) -> bool:
        if await self.get(expert.agent_id) is None:
            return False
        self._changes.agents[(self._tenant_key, expert.agent_id)] = expert
        return True

    async def delete(self, agent_id: str) -> bool:
        if await self.get(agent_id) is None:
            return False
        self._changes.agents[(self._tenant_key, agent_id)] = None
        return True


class MemoryTicketStore:
    """Stream tickets are redeemed before the tenant is known: this store is not tenant-scoped."""

    def __init__(self, store: MemoryStore, changes: Tables) -> None:
        self._store = store
        self._changes = changes

    def _find(self, digest: str) -> StoredTicket | None:
        if digest in self._changes.tickets:
            return self._changes.tickets[digest]
        return self._store.tables.tickets.get(digest)

    async def add(self, digest: str, ticket: Ticket, expires_at: datetime) -> None:
        now = utcnow()
        for known in [*self._store.tables.tickets, *self._changes.tickets]:
            found = self._find(known)
            if found is not None and found.expires_at < now:
                self._changes.tickets[known] = None  # expired tickets are swept by each new one
        self._changes.tickets[digest] = StoredTicket(ticket, expires_at)

    async def use(self, digest: str, panel_id: PanelId, stream: str, now: datetime) -> Ticket | None:
        found = self._find(digest)
        if found is None or found.ticket.panel_id != panel_id or found.expires_at <= now:
            return None
        if found.stream is not None and found.stream != stream:
            return None
        self._changes.tickets[digest] = replace(found, used_at=found.used_at or now, stream=stream)
        return found.ticket


class MemoryRecoveryScanner:
    """Finds unfinished and orphaned panels of every tenant, and records the heartbeats of their runs."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def unfinished(self) -> list[tuple[TenantId, PanelId]]:
        rows = sorted(
            (p.row for p in self._store.tables.panels.values() if p.row.status in UNFINISHED),
            key=lambda r: r.created_at,
        )
        return [(TenantId.from_string(r.tenant_id), PanelId.from_string(r.panel_id)) for r in rows]

    async def beat(self, panel_ids: Sequence[PanelId]) -> None:
        now = utcnow()
        panels = self._store.tables.panels
        for panel_id in panel_ids:
            stored = panels.get(str(panel_id))
            if stored is not None and stored.row.status in UNFINISHED:
                self._store.heartbeats[str(panel_id)] = now

    async def orphaned(self, *, silent_for_s: float) -> list[tuple[TenantId, PanelId]]:
        cutoff = utcnow() - timedelta(seconds=silent_for_s)
        beats = self._store.heartbeats
        for key in [k for k, p in self._store.tables.panels.items() if k in beats and p.row.status not in UNFINISHED]:
            del beats[key]  # an ended panel needs no heartbeat
        rows = sorted(
            (
                p.row
                for key, p in self._store.tables.panels.items()
                if p.row.status in UNFINISHED and p.row.updated_at < cutoff and beats.get(key, cutoff) <= cutoff
            ),
            key=lambda r: r.updated_at,
        )
        return [(TenantId.from_string(r.tenant_id), PanelId.from_string(r.panel_id)) for r in rows]
