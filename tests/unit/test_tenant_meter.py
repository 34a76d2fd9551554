"""TenantMeter: a running panel's view of its tenant's spend, read from the ledger at most every `refresh_s`."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from ask_panel.application.tenant_meter import Spent, TenantMeter
from ask_panel.domain.errors import BudgetExceeded
from ask_panel.domain.usage import TenantBudget

DAY = date(2026, 12, 1)


class Ledger:
    """The tenant's spend as the ledger holds it, counting the readings."""

    def __init__(self, today_usd: float, month_usd: float) -> None:
        self.spent = Spent(DAY, today_usd, month_usd)
        self.reads = 0

    async def read(self) -> Spent:
        self.reads += 1
        await asyncio.sleep(0)
        return self.spent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.day = DAY

    def __call__(self) -> float:
        return self.now


def meter(ledger: Ledger, clock: Clock, budget: TenantBudget) -> TenantMeter:
    return TenantMeter(budget, ledger.read, refresh_s=2.0, today=lambda: clock.day, clock=clock)


async def test_the_ledger_is_read_once_per_interval_and_the_panel_s_own_spend_is_added_in_between() -> None:
    ledger, clock = Ledger(0.50, 3.0), Clock()
    tenant = meter(ledger, clock, TenantBudget(daily_usd=1.0))
    await tenant.refresh(committed_usd=0.10)  # the panel's 0.10 already in the ledger's 0.50
    tenant.check(own_usd=0.20)  # 0.50 + 0.10 since
    for _ in range(50):
        await tenant.refresh(committed_usd=0.20)
    assert ledger.reads == 1
    with pytest.raises(BudgetExceeded) as stopped:
        tenant.check(own_usd=0.60)  # 0.50 + 0.50 since: the daily budget is reached
    assert stopped.value.period == "day"
    assert stopped.value.reached == "the tenant's daily budget was reached (1.00 of 1.00 USD spent today)"

    clock.now += 2.0
    ledger.spent = Spent(DAY, 0.95, 3.5)  # another panel spent meanwhile
    await tenant.refresh(committed_usd=0.20)
    assert ledger.reads == 2
    tenant.check(own_usd=0.20)  # 0.95: under
    with pytest.raises(BudgetExceeded):
        tenant.check(own_usd=0.25)


async def test_a_new_utc_day_is_read_at_once() -> None:
    ledger, clock = Ledger(0.99, 0.99), Clock()
    tenant = meter(ledger, clock, TenantBudget(daily_usd=1.0))
    await tenant.refresh(committed_usd=0.0)
    clock.day = date(2026, 12, 2)
    ledger.spent = Spent(clock.day, 0.0, 0.99)
    await tenant.refresh(committed_usd=0.0)
    assert ledger.reads == 2
    tenant.check(own_usd=0.5)


async def test_concurrent_turns_share_one_reading() -> None:
    ledger, clock = Ledger(0.0, 0.0), Clock()
    tenant = meter(ledger, clock, TenantBudget(monthly_usd=1.0))
    await asyncio.gather(*(tenant.refresh(committed_usd=0.0) for _ in range(5)))
    assert ledger.reads == 1


async def test_the_monthly_budget_is_named_when_it_is_the_one_reached() -> None:
    ledger, clock = Ledger(0.10, 5.0), Clock()
    tenant = meter(ledger, clock, TenantBudget(daily_usd=1.0, monthly_usd=5.0))
    await tenant.refresh(committed_usd=0.0)
    with pytest.raises(BudgetExceeded, match=r"reached its monthly budget: the tenant has spent 5\.00 USD this month"):
        tenant.check(own_usd=0.0)
