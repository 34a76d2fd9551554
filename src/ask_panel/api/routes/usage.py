"""The tenant's model usage: tokens, calls and estimated cost by UTC day, read from its usage ledger."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from ask_panel.api.deps import Tenant, container_of
from ask_panel.api.errors import BadRequest
from ask_panel.api.routes.responses import problems
from ask_panel.api.schemas import BudgetState, UsageDayResponse, UsageResponse, UsageTotals
from ask_panel.application.usage import UsageService
from ask_panel.domain.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["usage"])
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _written_as_a_day(value: object) -> object:
    """Only YYYY-MM-DD: pydantic would also read `0` or `1700000000` as a Unix time's day."""
    if isinstance(value, str) and not DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[dt.date, BeforeValidator(_written_as_a_day)]


async def usage_service(request: Request) -> UsageService:
    return container_of(request).usage


@router.get("/usage", operation_id="getUsage", response_model=UsageResponse, responses=problems(400, 401, 403))
async def get_usage(
    tenant: Tenant,
    usage: Annotated[UsageService, Depends(usage_service)],
    first: Annotated[
        Day | None, Query(alias="from", description="First UTC day (YYYY-MM-DD); default: this month's first")
    ] = None,
    last: Annotated[Day | None, Query(alias="to", description="Last UTC day (YYYY-MM-DD); default: today")] = None,
) -> UsageResponse:
    """The tenant's model usage by UTC day from `from` to `to` (both included, at most 366 days), its totals,
    and its daily and monthly budgets with what it has spent against them. A date that cannot be read, or
    `from` after `to`, is a 400."""
    try:
        report = await usage.report(tenant, first, last)
    except InvalidInput as exc:  # a query parameter: the request's envelope (docs/architecture.md)
        raise BadRequest(exc.detail) from None
    days = [
        UsageDayResponse(
            date=d.day,
            input_tokens=d.input_tokens,
            output_tokens=d.output_tokens,
            llm_calls=d.llm_calls,
            cost_usd=d.cost_usd,
            panels=d.panels,
        )
        for d in report.days
    ]
    return UsageResponse(
        tenant_id=str(tenant),
        from_=report.first,
        to=report.last,
        totals=UsageTotals(
            input_tokens=sum(d.input_tokens for d in report.days),
            output_tokens=sum(d.output_tokens for d in report.days),
            llm_calls=sum(d.llm_calls for d in report.days),
            cost_usd=round(sum(d.cost_usd for d in report.days), 8),
        ),
        days=days,
        budget=BudgetState(
            daily_usd=report.budget.daily_usd,
            monthly_usd=report.budget.monthly_usd,
            spent_today_usd=report.spent_today_usd,
            spent_this_month_usd=report.spent_this_month_usd,
        ),
    )
