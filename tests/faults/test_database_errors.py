"""Item 5: which database errors are faults of the moment (503), which are the data's (422), and which are bugs."""

from __future__ import annotations

import sqlite3

import httpx2
import pytest
from sqlalchemy import exc as sa
from sqlalchemy import text

from ask_panel.bootstrap import bootstrap
from ask_panel.domain.errors import InvalidInput, ServiceBusy, StorageUnavailable
from ask_panel.domain.ids import TenantId
from ask_panel.infrastructure.db.errors import translate
from tests.conftest import TENANT_A, headers_for, make_settings
from tests.faults.conftest import http_server


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def dbapi_error(sqlstate: str) -> sa.DBAPIError:
    return sa.DBAPIError("SELECT 1", None, DriverError(sqlstate))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (dbapi_error("57014"), StorageUnavailable),  # statement timeout
        (dbapi_error("08006"), StorageUnavailable),  # connection failure
        (dbapi_error("53300"), StorageUnavailable),  # too many connections
        (dbapi_error("57P01"), StorageUnavailable),  # admin shutdown
        (dbapi_error("40P01"), StorageUnavailable),  # deadlock
        (dbapi_error("22021"), InvalidInput),  # NUL in text
        (dbapi_error("22P05"), InvalidInput),  # \u0000 in JSONB
        (sa.TimeoutError(), ServiceBusy),  # the pool is exhausted
        (ConnectionRefusedError(111, "refused"), StorageUnavailable),
        (TimeoutError(), StorageUnavailable),
        (sa.OperationalError("BEGIN", None, sqlite3.OperationalError("database is locked")), StorageUnavailable),
    ],
)
def test_faults_of_the_moment_and_unstorable_text_are_told_apart(error: BaseException, expected: type) -> None:
    assert type(translate(error)) is expected


@pytest.mark.parametrize(
    "error",
    [
        dbapi_error("23505"),  # a unique violation: a bug or a race the code handles itself
        dbapi_error("42P01"),  # undefined table: a bug
        sa.OperationalError("SELECT", None, sqlite3.OperationalError("no such table: panels")),
        RuntimeError("a bug"),
    ],
)
def test_anything_else_is_left_alone_as_a_bug(error: BaseException) -> None:
    assert translate(error) is None


@pytest.mark.timeout(60)
async def test_a_statement_timeout_and_an_exhausted_pool_are_503s_not_500s(pg_url: str) -> None:
    settings = make_settings(
        pg_url, db_statement_timeout_ms=100, db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.2
    )
    container = bootstrap(settings)
    tenant = TenantId.from_string(TENANT_A)
    try:
        with pytest.raises(StorageUnavailable):
            async with container.uow(tenant) as uow:
                await uow.connection.execute(text("SELECT pg_sleep(2)"))  # type: ignore[attr-defined]
        async with container.uow(tenant):  # holds the only connection
            with pytest.raises(ServiceBusy):
                async with container.uow(tenant):
                    pass
    finally:
        await container.stop()
    small_pool = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_s": 0.2}
    async with (
        http_server(pg_url, **small_pool) as (base, served),
        served.uow(tenant),  # holds the only connection
        httpx2.AsyncClient(base_url=base) as client,
    ):
        busy = await client.get("/api/v1/panels", headers=headers_for())
    assert busy.status_code == 503 and busy.headers["retry-after"] and busy.headers["connection"] == "close"
