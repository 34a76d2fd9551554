"""Shared fixtures: a fresh database per test (in memory, SQLite, PostgreSQL), the container, the ASGI client, JWTs."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from ask_panel.api.app import create_app
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import MEMORY_DATABASE_URL, Settings
from ask_panel.domain.status import PanelStatus
from ask_panel.infrastructure.auth import mint_jwt
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.migrate import upgrade
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from tests.postgres import PostgresTemplate

JWT_SECRET = "test-secret-0123456789-0123456789-abcdef"
TENANT_A = "11111111-1111-1111-1111-111111111111"
TENANT_B = "22222222-2222-2222-2222-222222222222"


BACKENDS = frozenset({"memory", "sqlite", "postgres", "redis"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the backends it runs on (`-m "not postgres"`, and `make test-fast`)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        for value in callspec.params.values() if callspec else ():
            if isinstance(value, str) and value in BACKENDS:
                item.add_marker(value)
        if "postgres_template" in getattr(item, "fixturenames", ()):
            item.add_marker("postgres")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test gets a copy (fresh database, real migrations)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, migrated_template: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: in memory, on SQLite, and on PostgreSQL (as a non-owner role)."""
    if request.param == "memory":
        yield MEMORY_DATABASE_URL
        return
    if request.param == "sqlite":
        path = tmp_path / "ask_panel.db"
        shutil.copy(migrated_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    with template.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    template = PostgresTemplate.create()
    yield template
    template.drop()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "auth_mode": "jwt",
        "jwt_secret": JWT_SECRET,
        "simulated_token_delay_ms": 0,
        "max_concurrent_panels": 16,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


def database_of(container: Container) -> Database:
    """The SQL database behind a container (for tests that look under the repositories)."""
    assert isinstance(container.uow, SqlUnitOfWorkFactory), "this test needs a SQL database"
    return container.uow.database


# For tests about SQL storage only: `@sql_only` runs them on SQLite and PostgreSQL, not in memory.
sql_only = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    container = bootstrap(settings)
    await container.start()
    yield container
    await container.stop()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(container=container)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Container, httpx2.AsyncClient]]:
    """A started container built from `settings`, and an ASGI client over its app."""
    container = bootstrap(settings)
    await container.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(container=container))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield container, client
    finally:
        await container.stop()


def headers_for(tenant: str = TENANT_A, *, token: str | None = None) -> dict[str, str]:
    return {"X-Tenant-ID": tenant, "Authorization": f"Bearer {token or mint_jwt(JWT_SECRET, [tenant])}"}


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    return headers_for


async def create_panel(client: httpx2.AsyncClient, tenant: str = TENANT_A, **body: Any) -> dict[str, Any]:
    payload = {
        "query": "What is our FDA 510(k) strategy for this device?",
        "panel_type": "structured",
        "agent_ids": ["fda_expert", "clinical_expert", "reimbursement_expert"],
    }
    payload.update(body)
    response = await client.post("/api/v1/panels", json=payload, headers=headers_for(tenant))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def wait_for_status(
    client: httpx2.AsyncClient, panel_id: str, statuses: set[str], *, tenant: str = TENANT_A, attempts: int = 2000
) -> dict[str, Any]:
    """Poll GET until the panel is in one of `statuses` (bounded; no timing is asserted)."""
    for _ in range(attempts):
        response = await client.get(f"/api/v1/panels/{panel_id}", headers=headers_for(tenant))
        data: dict[str, Any] = response.json()
        if data["status"] in statuses:
            return data
        await asyncio.sleep(0.01)
    raise AssertionError(f"panel {panel_id} never reached {statuses}; last: {data['status']}")


TERMINAL = {s.value for s in PanelStatus if s.is_terminal}


def new_tenant() -> str:
    return str(uuid.uuid4())
