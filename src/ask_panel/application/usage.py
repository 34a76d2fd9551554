"""UsageService: a tenant's usage read from its ledger, and its daily and monthly budgets enforced.

A tenant whose model calls have cost at least its daily budget (this UTC day) or its monthly budget
(this UTC calendar month) can neither create nor execute panels until the period turns:
`BudgetExhausted` (402, with `Retry-After` until then). A panel already running is held to the same
budgets by its `TenantMeter` (`meter`): it stops at its next step boundary once the tenant's spend
would cross one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.application.tenant_meter import Spent, TenantMeter
from ask_panel.domain.errors import BudgetExhausted, InvalidInput
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import utcnow
from ask_panel.domain.usage import MAX_USAGE_DAYS, TenantBudget, UsageDay, month_start, next_month, seconds_until, usd


@dataclass(frozen=True, slots=True)
class UsageReport:
    first: date
    last: date
    days: list[UsageDay]
    budget: TenantBudget
    spent_today_usd: float
    spent_this_month_usd: float


class UsageService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        budget_for: Callable[[TenantId], TenantBudget],
        clock: Callable[[], datetime] = utcnow,
        refresh_s: float = 2.0,
    ) -> None:
        """`refresh_s`: how old a running panel's reading of its tenant's spend may get (`TenantMeter`)."""
        self._uow = uow_factory
        self._budget_for = budget_for
        self._clock = clock
        self._refresh_s = refresh_s

    async def report(self, tenant: TenantId, first: date | None, last: date | None) -> UsageReport:
        """The tenant's usage by day from `first` (default: this month's first day) to `last` (default: today)."""
        today = self._clock().date()
        last = last or today
        first = first or month_start(min(last, today))
        if first > last:
            raise InvalidInput("'from' must not be after 'to'")
        if (last - first).days >= MAX_USAGE_DAYS:
            raise InvalidInput(f"at most {MAX_USAGE_DAYS} days at a time")
        async with self._uow(tenant) as uow:
            days = await uow.usage.days(first, last)
            this_month = await uow.usage.days(month_start(today), today)
        return UsageReport(
            first,
            last,
            days,
            self._budget_for(tenant),
            spent_today_usd=round(sum(d.cost_usd for d in this_month if d.day == today), 8),
            spent_this_month_usd=round(sum(d.cost_usd for d in this_month), 8),
        )

    async def spent(self, tenant: TenantId) -> Spent:
        """What the tenant's model calls have cost this UTC day and this UTC month (its ledger, one transaction)."""
        today = self._clock().date()
        async with self._uow(tenant) as uow:
            month = await uow.usage.cost_since(month_start(today))
            day = await uow.usage.cost_since(today)
        return Spent(today, day, month)

    def meter(self, tenant: TenantId) -> TenantMeter | None:
        """A running panel's view of its tenant's budgets; None when the tenant has none."""
        budget = self._budget_for(tenant)
        if not budget.capped:
            return None
        return TenantMeter(
            budget, lambda: self.spent(tenant), refresh_s=self._refresh_s, today=lambda: self._clock().date()
        )

    async def check(self, tenant: TenantId) -> None:
        """BudgetExhausted when the tenant has spent its daily or monthly budget."""
        budget = self._budget_for(tenant)
        if not budget.capped:
            return
        now = self._clock()
        today = now.date()
        spent = await self.spent(tenant)
        spent_month, spent_today = spent.month_usd, spent.today_usd
        if budget.monthly_usd is not None and spent_month >= budget.monthly_usd:
            raise BudgetExhausted(
                f"This tenant has spent {usd(spent_month)} USD of its monthly budget of {usd(budget.monthly_usd)} USD; "
                "new panels can start again next month (UTC)",
                retry_after_s=seconds_until(next_month(today), now),
                period="month",
            )
        if budget.daily_usd is not None and spent_today >= budget.daily_usd:
            raise BudgetExhausted(
                f"This tenant has spent {usd(spent_today)} USD of its daily budget of {usd(budget.daily_usd)} USD; "
                "new panels can start again tomorrow (UTC)",
                retry_after_s=seconds_until(today + timedelta(days=1), now),
                period="day",
            )
