"""Database: the async engine for SQLite or PostgreSQL, configured for this service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ask_panel.application.outages import Outage
from ask_panel.domain.errors import StorageUnavailable

log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class DatabaseHealth:
    """Turns database faults into domain errors, and logs an outage once when it begins and once when it ends."""

    def __init__(self) -> None:
        self._outage = Outage("the database", log)

    def raise_translated(self, error: BaseException) -> None:
        """Raise the domain error that `error` stands for (a fault of the moment, or unstorable text), if any."""
        from ask_panel.infrastructure.db.errors import translate

        translated = translate(error)
        if translated is None:
            return
        if isinstance(translated, StorageUnavailable):
            self._outage.failed(error, consequence="requests get 503 with Retry-After; panels wait and retry")
        raise translated from error

    def succeeded(self) -> None:
        self._outage.succeeded()

    @property
    def down(self) -> bool:
        return self._outage.ongoing


class Database:
    """One engine per process. SQLite writes are serialised in-process (one writer at a time)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        statement_timeout_ms: int = 30_000,
        echo: bool = False,
        pool_timeout_s: float = 30.0,
        sqlite_pool_size: int = 1,
        connect_timeout_s: float = 10.0,
    ) -> None:
        """On PostgreSQL, a connection attempt gets `connect_timeout_s`, and a statement that gets no
        answer at all (a stalled network, where the server's statement_timeout cannot help) fails after
        the statement timeout plus `connect_timeout_s`: requests wait a bounded time, then get a 503."""
        self.url = make_url(url)
        if self.url.get_backend_name() == "postgresql" and "sslmode" in self.url.query:
            # libpq's `sslmode` (in hosted providers' URLs) is asyncpg's `ssl`.
            self.url = self.url.difference_update_query(["sslmode"]).update_query_dict(
                {"ssl": str(self.url.query["sslmode"])}
            )
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
            "pool_timeout": pool_timeout_s,
        }
        if self.is_sqlite:
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
            # Units of work roll back explicitly; skipping the pool's reset saves a thread hop per use.
            kwargs["pool_reset_on_return"] = None
            kwargs.update(pool_size=sqlite_pool_size, max_overflow=0)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
            if self.is_postgres:
                connect_args: dict[str, Any] = {"timeout": connect_timeout_s}
                if statement_timeout_ms:
                    connect_args["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
                    connect_args["command_timeout"] = statement_timeout_ms / 1000 + connect_timeout_s
                kwargs["connect_args"] = connect_args
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.health = DatabaseHealth()
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def system_connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for tenant-crossing system reads (start-up recovery)."""
        from ask_panel.infrastructure.db.uow import system_connection

        return system_connection(self)

    def pool_readings(self) -> Iterator[tuple[str, tuple[str, ...], float]]:
        """The connection pool's use, for the metrics (`ask_panel_db_pool_*`)."""
        pool = self.engine.pool
        size = getattr(pool, "size", None)
        if size is None:  # a pool without accounting (not used by this service)
            return
        in_use = float(pool.checkedout())  # type: ignore[attr-defined]
        yield "ask_panel_db_pool_connections", ("in_use",), in_use
        yield "ask_panel_db_pool_connections", ("idle",), float(pool.checkedin())  # type: ignore[attr-defined]
        yield "ask_panel_db_pool_connections", ("overflow",), float(max(0, pool.overflow()))  # type: ignore[attr-defined]
        yield "ask_panel_db_pool_size", (), float(size())

    async def rls_exemption(self) -> str | None:
        """PostgreSQL: why the connected role escapes row-level security (superuser, BYPASSRLS), else None.

        The tenant tables FORCE row-level security, so their owner is held by it too; only these two
        attributes let a role read every tenant's rows.
        """
        if not self.is_postgres:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
                )
            ).one()
        role, superuser, bypass = str(row[0]), bool(row[1]), bool(row[2])
        reasons = [name for name, held in (("superuser", superuser), ("BYPASSRLS", bypass)) if held]
        return f"the role {role!r} is {' and '.join(reasons)}" if reasons else None

    async def warn_if_rls_bypassed(self) -> None:
        """Log one warning at start when the service's role is exempt from row-level security."""
        try:
            exemption = await self.rls_exemption()
        except Exception as exc:  # the readiness probe reports an unreachable database; this check is advisory
            log.debug("could not check the database role's row-level security: %s", type(exc).__name__)
            return
        if exemption:
            log.warning(
                "%s: PostgreSQL row-level security does not apply to it, so only the repositories' tenant "
                "filter separates tenants; serve as a role with NOSUPERUSER NOBYPASSRLS (docs/deployment.md)",
                exemption,
                extra={"rls_bypassed": True},
            )

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
