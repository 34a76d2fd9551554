"""The schema as SQLAlchemy Core tables (the migrations create the same)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if dialect.name != "sqlite" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


panels = Table(
    "panels",
    metadata,
    Column("panel_id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("query", Text, nullable=False),
    Column("panel_type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("idempotency_key", String(255)),
    Column("request_fingerprint", String(64)),
    Column("body", JsonDocument, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime()),  # the last beat of the process running it (queued or in progress)
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_panels_tenant_idempotency_key"),
    Index("ix_panels_tenant_created", "tenant_id", "created_at"),
    Index("ix_panels_status", "status"),
)

panel_events = Table(
    "panel_events",
    metadata,
    Column("panel_id", String(36), ForeignKey("panels.panel_id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("type", String(40), nullable=False),
    Column("data", JsonDocument, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("agent_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(200), nullable=False),
    Column("expertise", JsonDocument, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("model", String(200)),
    Column("provider", String(40)),
    Column("output_mode", String(20)),
    Column("created_at", UTCDateTime(), nullable=False),
)

stream_tickets = Table(
    "stream_tickets",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("panel_id", String(36), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("stream", String(16)),  # the kind of stream its first use opened; it serves only that one
)

usage_ledger = Table(
    "usage_ledger",
    metadata,
    Column("entry_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("panel_id", String(36), nullable=False),
    Column("day", Date, nullable=False),  # the UTC day of recorded_at: what usage is summed by
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("llm_calls", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Index("ix_usage_ledger_tenant_day", "tenant_id", "day"),
)
