"""The Alembic migrations upgrade an empty database to head and downgrade back, on both backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from ask_panel.infrastructure.db.migrate import downgrade, upgrade
from tests.postgres import owner_url


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


async def check_round_trip(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    assert {"panels", "panel_events", "agents", "stream_tickets"} <= await table_names(url)
    await asyncio.to_thread(downgrade, url, "base")
    assert await table_names(url) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, url)
    assert "panels" in await table_names(url)


async def test_sqlite_upgrades_from_empty_and_downgrades(tmp_path: object) -> None:
    await check_round_trip(f"sqlite+aiosqlite:///{tmp_path}/m.db")


async def test_postgres_upgrades_from_empty_and_downgrades() -> None:
    import uuid

    import psycopg

    from tests.postgres import ADMIN_URL, unavailable

    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(str(exc))
        return
    name = f"ask_panel_mig_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await check_round_trip(owner_url(name))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
