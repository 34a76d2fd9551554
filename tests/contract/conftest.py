"""Contract fixtures: every storage backend (memory, SQLite, PostgreSQL) and every bus, built the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.application.ports import CheckpointStore, RecoveryScanner, UnitOfWorkFactory
from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.group_commit import GroupCommitCheckpoints
from ask_panel.infrastructure.db.repositories import SqlRecoveryScanner
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from ask_panel.infrastructure.memory.repositories import MemoryRecoveryScanner
from ask_panel.infrastructure.memory.store import MemoryStore
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.integration.conftest import fakellm_url

__all__ = ["fakellm_url"]


@dataclass
class Storage:
    """A backend's storage adapters: units of work, every checkpoint writer it has, the recovery scan."""

    name: str
    uow: UnitOfWorkFactory
    recovery: RecoveryScanner
    checkpoint_writers: list[CheckpointStore] = field(default_factory=list)
    database: Database | None = None


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    if database_url == MEMORY_DATABASE_URL:
        store = MemoryStore()
        uow = MemoryUnitOfWorkFactory(store)
        yield Storage("memory", uow, MemoryRecoveryScanner(store), [UnitOfWorkCheckpoints(uow)])
        return
    database = Database(database_url)
    sql = SqlUnitOfWorkFactory(database)
    writers: list[CheckpointStore] = [UnitOfWorkCheckpoints(sql)]
    group_commit = GroupCommitCheckpoints(database) if database.is_sqlite else None  # SQLite's writer only
    if group_commit is not None:
        writers.append(group_commit)
    yield Storage(database.url.get_backend_name(), sql, SqlRecoveryScanner(database), writers, database)
    if group_commit is not None:
        await group_commit.close()
    await database.dispose()
