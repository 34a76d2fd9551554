"""Which database errors are faults of the moment (503, retry) or of the data (422), and which are bugs.

A database that cannot be reached, stalls, is out of connections or cancels a statement is
`StorageUnavailable` (or `ServiceBusy` when the pool is exhausted): the API answers 503 with
Retry-After and a panel's run waits and retries the step. Text the database cannot store is
`InvalidInput` (a safety net: the edge refuses such text before it gets here). Anything else is left
as it is: a bug, answered 500 and logged with its traceback.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa

from ask_panel.domain.errors import DomainError, InvalidInput, ServiceBusy, StorageUnavailable

# SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator intervention
# (57014 statement timeout, 57P01 shutdown, 57P03 cannot connect now), 58 system error.
TRANSIENT_CLASSES = ("08", "53", "57", "58")
# 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03"})
# 22021 character not in repertoire (a NUL in text), 22P05 untranslatable character (\u0000 in JSONB).
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def translate(error: BaseException) -> DomainError | None:
    """The domain error a database error stands for, or None when it is not a known fault."""
    if isinstance(error, DomainError):
        return None
    if isinstance(error, sa.TimeoutError):
        return ServiceBusy("All database connections are busy; retry shortly")
    state = sqlstate(error)
    if state in UNSTORABLE_TEXT:
        return InvalidInput("The text contains characters that cannot be stored (such as NUL)")
    if state is not None and (state[:2] in TRANSIENT_CLASSES or state in TRANSIENT_STATES):
        return StorageUnavailable("The database is unavailable; retry shortly")
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return StorageUnavailable("The database connection was lost; retry shortly")
    if isinstance(error, sa.InterfaceError | ConnectionError | TimeoutError | OSError):
        return StorageUnavailable("The database is unavailable; retry shortly")
    orig = getattr(error, "orig", None)
    sqlite_busy = isinstance(orig, sqlite3.OperationalError) and ("locked" in str(orig) or "busy" in str(orig))
    if isinstance(error, sa.OperationalError) and sqlite_busy:
        return StorageUnavailable("The database is busy; retry shortly")
    return None
