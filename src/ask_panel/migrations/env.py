"""Alembic environment: runs the migrations on the configured async engine."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ask_panel.infrastructure.db.tables import metadata

config = context.config


def _applied(ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]) -> None:
    """Tells `upgrade()` (infrastructure/db/migrate.py) each migration applied, when it asked."""
    record = config.attributes.get("on_version_apply")
    if record is not None and step.is_upgrade:
        from ask_panel.infrastructure.db.migrate import Applied

        doc = (getattr(step.up_revision, "doc", None) or "").strip().splitlines()
        record(Applied(step.up_revision_id or "base", doc[0] if doc else ""))


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, on_version_apply=_applied)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
