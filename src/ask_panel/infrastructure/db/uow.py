"""SqlUnitOfWork: one transaction, scoped to one tenant; rolled back unless committed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.bus.wakeup import Wakeup, WakeupSender
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.repositories import (
    SqlAgentRepository,
    SqlEventLog,
    SqlPanelRepository,
    SqlTicketStore,
    SqlUsageLedger,
)
from ask_panel.infrastructure.db.scope import TenantScope


class SqlUnitOfWork:
    panels: SqlPanelRepository
    agents: SqlAgentRepository
    events: SqlEventLog
    tickets: SqlTicketStore
    usage: SqlUsageLedger

    def __init__(
        self, database: Database, tenant: TenantId, *, write: bool = False, wakeups: WakeupSender | None = None
    ) -> None:
        self._db = database
        self._scope = TenantScope(tenant)
        self._write = write
        self._sender = wakeups
        self._wakeups: list[Wakeup] = []
        self._conn: AsyncConnection | None = None
        self._locked = False
        self._committed = False

    async def __aenter__(self) -> Self:
        lock = self._db.write_lock
        if self._write and lock is not None:
            await lock.acquire()
            self._locked = True
        try:
            self._conn = await self._db.engine.connect()
            await self._conn.begin()
            if self._db.is_postgres:
                await self._conn.execute(
                    text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": self._scope.tenant_key}
                )
        except BaseException as error:
            await self._release(failed=True)
            self._db.health.raise_translated(error)
            raise
        self.panels = SqlPanelRepository(self._conn, self._scope, wakeups=self._wakeups, sender=self._sender)
        self.agents = SqlAgentRepository(self._conn, self._scope)
        self.events = SqlEventLog(self._conn, self._scope)
        self.tickets = SqlTicketStore(self._conn)
        self.usage = SqlUsageLedger(self._conn, self._scope)
        return self

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection (for tests that look under the repositories)."""
        assert self._conn is not None
        return self._conn

    async def commit(self) -> None:
        """Commit; the other processes are woken for the events it appended (see WakeupSender)."""
        assert self._conn is not None
        wakeups, self._wakeups[:] = list(self._wakeups), []
        if self._sender is not None and wakeups:
            await self._sender.before_commit(self._conn, wakeups)
        await self._conn.commit()
        self._committed = True
        if self._sender is not None and wakeups:
            await self._sender.after_commit(wakeups)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """A database fault met inside the block leaves it as StorageUnavailable (or InvalidInput for text
        the database cannot store); the first one of an outage is logged, and so is the recovery."""
        try:
            await self._release(failed=exc is not None)
        except Exception as error:
            self._db.health.raise_translated(error)
            raise
        if exc is not None:
            self._db.health.raise_translated(exc)
        else:
            self._db.health.succeeded()

    async def _release(self, *, failed: bool) -> None:
        """Roll back unless committed, and give the connection back (quietly when the block already failed:
        a broken connection cannot roll back, and its error is the one that matters)."""
        try:
            if self._conn is not None:
                if not self._committed:
                    await self._conn.rollback()
                await self._conn.close()
        except Exception:
            if not failed:
                raise
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.invalidate()
        finally:
            self._conn = None
            if self._locked and self._db.write_lock is not None:
                self._db.write_lock.release()
                self._locked = False


class SqlUnitOfWorkFactory:
    def __init__(self, database: Database, *, wakeups: WakeupSender | None = None) -> None:
        self.database = database
        self.wakeups = wakeups

    def __call__(self, tenant: TenantId, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, tenant, write=write, wakeups=self.wakeups)


@asynccontextmanager
async def system_connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection that may read (and beat) across tenants; with RLS it sets the bypass flag.

    The flag is local to the connection's transaction: whether the caller commits or not, it is gone
    when the transaction ends, and the pooled connection never carries it to a tenant's unit of work.
    """
    try:
        async with database.engine.connect() as conn:
            if database.is_postgres:
                await conn.execute(text("SELECT set_config('app.system', 'on', true)"))
            yield conn
    except Exception as error:
        database.health.raise_translated(error)
        raise
    database.health.succeeded()
