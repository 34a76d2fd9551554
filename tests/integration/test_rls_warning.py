"""A warning at start, once, when the service's PostgreSQL role escapes row-level security (superuser or BYPASSRLS)."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ask_panel.bootstrap import bootstrap
from tests.conftest import make_settings
from tests.postgres import ADMIN_URL, APP_ROLE, PostgresTemplate, asyncpg_url, owner_url

RLS_WARNING = "PostgreSQL row-level security does not apply to it"


async def warnings_at_start(url: str, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    container = bootstrap(make_settings(url))
    with caplog.at_level(logging.WARNING):
        await container.start()
        await container.stop()
    return [r for r in caplog.records if RLS_WARNING in r.getMessage()]


async def test_serving_as_a_superuser_warns_once_at_start(
    postgres_template: PostgresTemplate, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres_template.fresh_database() as url:
        superuser = owner_url(str(make_url(url).database))  # the test server's admin role is a superuser
        found = await warnings_at_start(superuser, caplog)
    assert len(found) == 1
    assert "superuser" in found[0].getMessage()
    assert found[0].levelno == logging.WARNING
    assert getattr(found[0], "rls_bypassed", None) is True


async def test_a_role_with_bypassrls_is_warned_about_too(
    postgres_template: PostgresTemplate, caplog: pytest.LogCaptureFixture
) -> None:
    role = "ask_panel_bypass"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS PASSWORD '{role}'")
        admin.execute(f"GRANT {APP_ROLE} TO {role}")  # the app role's table grants
    with postgres_template.fresh_database() as url:
        found = await warnings_at_start(asyncpg_url(str(make_url(url).database), user=role, password=role), caplog)
    assert len(found) == 1
    message = found[0].getMessage()
    assert "BYPASSRLS" in message and "superuser" not in message


async def test_the_service_role_starts_without_the_warning(
    postgres_template: PostgresTemplate, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres_template.fresh_database() as url:
        assert await warnings_at_start(url, caplog) == []
