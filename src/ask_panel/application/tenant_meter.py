"""TenantMeter: a running panel's view of its tenant's spend, to hold it to the tenant's daily and monthly budgets.

Reading the usage ledger before every model call would add a query per call. The meter reads it at
most once every `refresh_s` seconds (and again when the UTC day turns) and adds what its own panel
has spent since that reading; between readings, other panels' spend (in this process or another)
is not seen, so a tenant can go past its budget by at most what its other panels spend within
`refresh_s`. A panel's own spend is counted at once, committed or not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from ask_panel.domain.usage import TenantBudget


@dataclass(frozen=True, slots=True)
class Spent:
    """What a tenant's model calls have cost on `day` (UTC) and in its month, as its ledger says."""

    day: date
    today_usd: float
    month_usd: float


class TenantMeter:
    def __init__(
        self,
        budget: TenantBudget,
        read: Callable[[], Awaitable[Spent]],
        *,
        refresh_s: float,
        today: Callable[[], date],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._budget = budget
        self._read = read
        self._refresh_s = refresh_s
        self._today = today
        self._clock = clock
        self._spent: Spent | None = None
        self._read_at = 0.0
        self._own_at_read = 0.0  # the panel's committed spend when the ledger was read (the ledger holds it)
        self._reading: asyncio.Future[None] | None = None
        self.reads = 0

    @property
    def stale(self) -> bool:
        spent = self._spent
        return spent is None or self._clock() - self._read_at >= self._refresh_s or spent.day != self._today()

    async def refresh(self, committed_usd: float) -> None:
        """Read the ledger again if the last reading is stale; `committed_usd` is what the panel's saved
        checkpoints have spent (so in the ledger). Concurrent callers share one reading."""
        if not self.stale:
            return
        if self._reading is not None:
            await asyncio.shield(self._reading)
            return
        self._reading = asyncio.get_running_loop().create_future()
        try:
            spent = await self._read()
            self._spent, self._read_at, self._own_at_read = spent, self._clock(), committed_usd
            self.reads += 1
            self._reading.set_result(None)
        except BaseException as exc:
            self._reading.set_exception(exc)
            self._reading.exception()  # retrieved: the caller gets it, the waiters read it again
            raise
        finally:
            self._reading = None

    def check(self, own_usd: float) -> None:
        """BudgetExceeded once the tenant's spend has reached a budget.

        `own_usd` is all the panel has spent (committed or not); the tenant's spend is the last
        reading plus what the panel spent since. Call `refresh` first.
        """
        spent = self._spent
        if spent is None:
            return
        since = max(0.0, own_usd - self._own_at_read)
        self._budget.check_running(spent.today_usd + since, spent.month_usd + since)
