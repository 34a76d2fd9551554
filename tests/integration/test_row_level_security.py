"""PostgreSQL row-level security: the second wall behind the repositories' tenant filter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ask_panel.application.panels import CreatePanel
from ask_panel.application.ports import UnitOfWork
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.domain.ids import TenantId
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.db.uow import SqlUnitOfWork
from tests.conftest import database_of, make_settings
from tests.postgres import PostgresTemplate


def connection_of(uow: UnitOfWork) -> AsyncConnection:
    assert isinstance(uow, SqlUnitOfWork)
    return uow.connection


A = TenantId.from_string("11111111-1111-1111-1111-111111111111")
B = TenantId.from_string("22222222-2222-2222-2222-222222222222")


@pytest.fixture
async def pg(postgres_template: PostgresTemplate) -> AsyncIterator[Container]:
    with postgres_template.fresh_database() as url:
        container = bootstrap(make_settings(url))
        try:
            await _seed(container)
            yield container
        finally:
            await container.stop()


async def _seed(container: Container) -> None:
    await container.start()
    for tenant in (A, B):
        created = await container.panels.create(
            tenant,
            CreatePanel(query=f"Question of {tenant}?", panel_type=PanelType.STRUCTURED, agent_ids=["fda_expert"]),
        )
        await container.panels.cancel(tenant, created.panel.panel_id)  # writes an event too


async def test_the_service_role_is_neither_superuser_nor_exempt_from_rls(pg: Container) -> None:
    async with database_of(pg).engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))
        ).one()
        owner = (await conn.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'panels'"))).scalar()
        user = (await conn.execute(text("SELECT current_user"))).scalar()
    assert tuple(row) == (False, False)
    assert owner != user


async def test_a_query_that_forgets_the_tenant_filter_sees_only_its_own_tenant(pg: Container) -> None:
    async with pg.uow(A) as uow:
        conn = connection_of(uow)  # the unit of work's connection, tenant already set
        panels = (await conn.execute(text("SELECT tenant_id FROM panels"))).scalars().all()
        events = (await conn.execute(text("SELECT tenant_id FROM panel_events"))).scalars().all()
    assert panels == [str(A)]
    assert events and set(events) == {str(A)}


async def test_without_a_tenant_in_the_transaction_nothing_is_visible(pg: Container) -> None:
    async with database_of(pg).engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM panels"))).scalar() == 0
        assert (await conn.execute(text("SELECT count(*) FROM panel_events"))).scalar() == 0


async def test_writing_a_row_for_another_tenant_is_refused(pg: Container) -> None:
    async with pg.uow(A, write=True) as uow:
        conn = connection_of(uow)
        with pytest.raises(DBAPIError):
            await conn.execute(
                text(
                    "INSERT INTO agents (tenant_id, agent_id, name, role, expertise, instructions, created_at) "
                    "VALUES (:t, 'x_agent', 'X', 'r', '[]', 'i', now())"
                ),
                {"t": str(B)},
            )


async def test_the_recovery_scan_sees_every_tenant(pg: Container) -> None:
    async with database_of(pg).system_connection() as conn:
        tenants = (await conn.execute(text("SELECT DISTINCT tenant_id FROM panels"))).scalars().all()
    assert sorted(tenants) == sorted([str(A), str(B)])
    async with database_of(pg).engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM panels"))).scalar() == 0, "the bypass does not leak"
