"""A tenant's spending: the usage ledger's days, and the budget periods (UTC days and calendar months)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ask_panel.domain.errors import BudgetExceeded
from ask_panel.domain.values import Usage

MAX_USAGE_DAYS = 366  # the longest range one usage read covers


@dataclass(frozen=True, slots=True)
class UsageDay:
    """What a tenant's panels used on one UTC day: tokens, model calls, estimated cost, distinct panels."""

    day: date
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0
    panels: int = 0


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def seconds_until(moment: date, now: datetime) -> int:
    """Whole seconds from `now` to the start (00:00 UTC) of `moment`, at least 1."""
    start = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return max(1, int((start - now).total_seconds()) + 1)


def usd(amount: float) -> str:
    """An amount of USD as people read it: in cents ("50.00"), or to four decimals when cents would
    misstate it ("0.0250", not "0.03": a small budget must read as the one configured)."""
    return f"{amount:.2f}" if round(amount, 2) == round(amount, 4) else f"{amount:.4f}"


def expected(
    used: Usage, next_calls: int, *, estimate: Usage | None = None, largest: Usage | None = None
) -> tuple[float, float]:
    """The tokens and cost of `next_calls` more model calls: each at the panel's `largest` call so far
    where that is more than its mean per call, else at the mean; before any call at the estimate's
    mean (nothing, without an estimate).

    Not the mean alone: every prompt carries the discussion so far, so calls grow as it goes on and
    the mean of the earlier ones falls short (bench/budget_adherence.py: with it, 62 of 200 simulated
    panels went past their max_tokens; with the largest call, 3 to 9, as a call can still outgrow every
    earlier one: a synthesis, a structured round 2 that reads all of round 1).
    """
    per_call = used if used.llm_calls else (estimate or Usage())
    calls = max(per_call.llm_calls, 1)
    tokens = (per_call.input_tokens + per_call.output_tokens) / calls
    cost = per_call.cost_usd / calls
    if largest is not None:
        tokens = max(tokens, largest.input_tokens + largest.output_tokens)
        cost = max(cost, largest.cost_usd)
    return tokens * next_calls, cost * next_calls


@dataclass(frozen=True, slots=True)
class PanelBudget:
    """A panel's own caps (`max_tokens`, `max_cost_usd` in its configuration), checked before each step.

    A step is refused when what the panel has used, plus what the steps under way and this one are
    expected to use (`expected`), would go past a cap: the run stops at a step boundary instead of
    spending past the budget.
    """

    max_tokens: int | None = None
    max_cost_usd: float | None = None

    @property
    def capped(self) -> bool:
        return self.max_tokens is not None or self.max_cost_usd is not None

    def check(
        self, used: Usage, next_calls: int, *, estimate: Usage | None = None, largest: Usage | None = None
    ) -> None:
        """BudgetExceeded when `next_calls` more model calls would take the panel past a cap (`expected`)."""
        more, more_cost = expected(used, next_calls, estimate=estimate, largest=largest)
        tokens = used.input_tokens + used.output_tokens
        if self.max_tokens is not None and (tokens >= self.max_tokens or tokens + more > self.max_tokens):
            raise BudgetExceeded(
                f"The panel stopped before going past its token budget: it has used {tokens:,} tokens of its "
                f"max_tokens {self.max_tokens:,}, and its next steps would use about {round(more):,} more "
                "(budget_exceeded)",
                reached=f"the panel's token budget was reached ({tokens:,} of max_tokens {self.max_tokens:,} used, "
                f"the next steps needed about {round(more):,} more)",
            )
        if self.max_cost_usd is not None:
            spent_all = used.cost_usd > 0 and used.cost_usd >= self.max_cost_usd
            if spent_all or round(used.cost_usd + more_cost, 8) > self.max_cost_usd:
                raise BudgetExceeded(
                    f"The panel stopped before going past its cost budget: it has used {usd(used.cost_usd)} USD of "
                    f"its max_cost_usd {usd(self.max_cost_usd)}, and its next steps would cost about {usd(more_cost)} "
                    "USD more (budget_exceeded)",
                    reached=f"the panel's cost budget was reached ({usd(used.cost_usd)} of max_cost_usd "
                    f"{usd(self.max_cost_usd)} USD used, the next steps needed about {usd(more_cost)} USD more)",
                )


@dataclass(frozen=True, slots=True)
class TenantBudget:
    """What a tenant may spend on model calls per UTC day and per calendar month (None: no cap)."""

    daily_usd: float | None = None
    monthly_usd: float | None = None

    @property
    def capped(self) -> bool:
        return self.daily_usd is not None or self.monthly_usd is not None

    def check_running(self, spent_today: float, spent_month: float) -> None:
        """BudgetExceeded (period "month" or "day") once the tenant's spend has reached a budget: a running
        panel stops at its next step boundary (so a tenant ends at most a step per running panel over it)."""
        for period, cap, spent, name in (
            ("month", self.monthly_usd, spent_month, "monthly"),
            ("day", self.daily_usd, spent_today, "daily"),
        ):
            if cap is not None and round(spent, 8) >= cap:
                when = "this month" if period == "month" else "today"
                raise BudgetExceeded(
                    f"The panel stopped when its tenant reached its {name} budget: the tenant has spent "
                    f"{usd(spent)} USD {when} of its {name} budget of {usd(cap)} USD (budget_exceeded)",
                    reached=f"the tenant's {name} budget was reached ({usd(spent)} of {usd(cap)} USD spent {when})",
                    period=period,
                )
