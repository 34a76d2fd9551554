"""MemoryStore: the committed state of an in-memory database, shared by every unit of work of a process.

Panels are kept in their stored form (`PanelRow`, the same JSON body the SQL tables hold), so what a
unit of work reads is always a fresh aggregate, never an object someone else still holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from ask_panel.application.ports import Ticket
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.values import Usage
from ask_panel.infrastructure.serialization.panels import PanelRow


@dataclass(frozen=True, slots=True)
class StoredPanel:
    row: PanelRow
    idempotency_key: str | None
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class StoredTicket:
    ticket: Ticket
    expires_at: datetime
    used_at: datetime | None = None
    stream: str | None = None  # the kind of stream its first use opened


@dataclass(frozen=True, slots=True)
class UsageEntry:
    tenant_id: str
    panel_id: str
    recorded_at: datetime
    usage: Usage


@dataclass(slots=True)
class Tables:
    """One set of tables: the committed ones of a store, or the changes a unit of work has made."""

    panels: dict[str, StoredPanel] = field(default_factory=dict)
    events: dict[str, list[StoredEvent]] = field(default_factory=dict)
    agents: dict[tuple[str, str], Expert | None] = field(default_factory=dict)  # None: deleted
    tickets: dict[str, StoredTicket | None] = field(default_factory=dict)  # None: deleted
    usage: list[UsageEntry] = field(default_factory=list)  # the usage ledger, append-only


class MemoryStore:
    """Committed tables. Writing units of work take `write_lock` (one writer at a time, as on SQLite)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.write_lock = asyncio.Lock()
        self.heartbeats: dict[str, datetime] = {}  # panel id -> the last beat of the process running it

    def apply(self, changes: Tables) -> None:
        """Make a unit of work's changes visible at once (no await: nobody sees half of them)."""
        self.tables.panels.update(changes.panels)
        for panel_id, added in changes.events.items():
            self.tables.events.setdefault(panel_id, []).extend(added)
        for key, expert in changes.agents.items():
            if expert is None:
                self.tables.agents.pop(key, None)
            else:
                self.tables.agents[key] = expert
        self.tables.usage.extend(changes.usage)
        for digest, ticket in changes.tickets.items():
            if ticket is None:
                self.tables.tickets.pop(digest, None)
            else:
                self.tables.tickets[digest] = ticket
