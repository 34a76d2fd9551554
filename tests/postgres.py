"""PostgreSQL for tests: a migrated template database, and a fresh copy of it per test.

The service connects as `ask_panel_app`, a role that is neither superuser nor owner, so row-level
security applies to it. Without a reachable server the PostgreSQL variants are skipped with the
reason, except under CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import psycopg
import pytest

from ask_panel.infrastructure.db.migrate import upgrade
from ask_panel.infrastructure.jobs.procrastinate_queue import apply_schema, build_app

ADMIN_URL = os.environ.get("ASK_PANEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_ROLE = "ask_panel_app"
APP_PASSWORD = "ask_panel_app"


def _server() -> tuple[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    return str(info.get("host", "127.0.0.1")), str(info.get("port", 5432))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"no PostgreSQL reachable at {ADMIN_URL}: {reason}")


def asyncpg_url(database: str, *, user: str = APP_ROLE, password: str | None = APP_PASSWORD) -> str:
    host, port = _server()
    auth = f"{user}:{password}" if password else user
    return f"postgresql+asyncpg://{auth}@{host}:{port}/{database}"


def owner_url(database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    password = info.get("password")
    return asyncpg_url(database, user=str(info.get("user", "postgres")), password=str(password) if password else None)


@dataclass
class PostgresTemplate:
    name: str

    @classmethod
    def create(cls) -> PostgresTemplate:
        try:
            admin = _admin()
        except psycopg.OperationalError as exc:
            unavailable(str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed")
            raise
        name = f"ask_panel_tmpl_{uuid.uuid4().hex[:10]}"
        with admin:
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
            if not exists:
                # two pytest-xdist workers can both find the role missing: the second one's CREATE loses
                with suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{APP_PASSWORD}'")
            admin.execute(f'CREATE DATABASE "{name}"')
        upgrade(owner_url(name))
        asyncio.run(apply_schema(build_app(owner_url(name))))
        db_info = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(ADMIN_URL).items() if v is not None}
        with psycopg.connect(
            psycopg.conninfo.make_conninfo("", **(db_info | {"dbname": name})), autocommit=True
        ) as conn:
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
                f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP_ROLE}",
            ):
                conn.execute(statement)
        return cls(name)

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        name = f"ask_panel_t_{uuid.uuid4().hex[:12]}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        try:
            yield asyncpg_url(name)
        finally:
            with _admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self) -> None:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
