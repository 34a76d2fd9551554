"""`ask-panel migrate`: apply the service's database migrations (and the job queue's, on PostgreSQL)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ask_panel.cli.options import configure, server_settings

if TYPE_CHECKING:
    from ask_panel.config import Settings

log = logging.getLogger("ask_panel.cli")


def migrate(settings: Settings) -> None:
    """The service's schema (Alembic) and, on PostgreSQL, the job queue's schema."""
    from sqlalchemy.engine import make_url

    from ask_panel.infrastructure.db.migrate import head_revision, upgrade

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    applied = upgrade(settings.database_url)
    if applied:
        log.info(
            "applied %d migration%s: %s; the database is at %s",
            len(applied),
            "s" if len(applied) > 1 else "",
            ", ".join(str(a) for a in applied),
            applied[-1].revision,
        )
    else:
        log.info("no migration to apply: the database is already at %s, the latest", head_revision())
    if url.get_backend_name() == "postgresql":
        import asyncio

        from ask_panel.infrastructure.jobs.procrastinate_queue import apply_schema, build_app

        if asyncio.run(apply_schema(build_app(settings.database_url))):
            log.info("applied the job queue's schema (procrastinate)")


def migrate_command(ctx: typer.Context) -> None:
    """Apply the database migrations."""
    configure(ctx, "INFO")
    migrate(server_settings("ask-panel migrate", ctx))
