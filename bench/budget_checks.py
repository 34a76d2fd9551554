"""Benchmark: what holding a running panel to its budgets costs per model step.

    .venv/bin/python -m bench.budget_checks [--entries 20000] [--checks 20000] [--reads 500] [--database URL]

Before each model step a running panel checks its own budget (`PanelBudget`, arithmetic) and its
tenant's (`TenantMeter`: the usage ledger read at most every `ASK_PANEL_TENANT_BUDGET_REFRESH_S`,
plus what the panel spent since). This measures, on a scratch SQLite file (or `--database`) and in
memory, with `--entries` ledger entries of the tenant this month (a busy tenant: each entry is one
checkpoint of one panel):

- one ledger reading (`UsageService.spent`: a read-only transaction, two SUM queries), which a
  reading per model call would cost every step;
- one step's check (`PanelDiscussion._read_tenant_spend` and `_check`) with no budget, with the
  panel's own, and with the panel's and the tenant's while the reading is fresh (the common case:
  no query).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from ask_panel.application.discussion import PanelDiscussion, UnitOfWorkCheckpoints
from ask_panel.application.hub import EventHub
from ask_panel.application.ports import UnitOfWorkFactory
from ask_panel.application.pricing import FixedPrices
from ask_panel.application.usage import UsageService
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from ask_panel.domain.usage import TenantBudget
from ask_panel.domain.values import Member, Usage
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from ask_panel.infrastructure.llm.registry import Providers
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from bench.common import machine, scratch_sqlite, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
BUDGET = TenantBudget(daily_usd=1_000_000.0, monthly_usd=10_000_000.0)  # never reached: every check passes


async def fill_ledger(uow: UnitOfWorkFactory, entries: int) -> None:
    """`entries` checkpoints' usage this month, over 100 panels, 1,000 per transaction."""
    panels = [PanelId(uuid.uuid4()) for _ in range(100)]
    now = datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span = (now - start).total_seconds()
    for first in range(0, entries, 1000):
        async with uow(TENANT, write=True) as work:
            for i in range(first, min(first + 1000, entries)):
                at = start + timedelta(seconds=span * i / max(entries, 1))
                await work.usage.add(panels[i % len(panels)], Usage(3_000, 800, 2, 0.004), at)
            await work.commit()


def discussion(uow: UnitOfWorkFactory, usage: UsageService | None, *, capped: bool) -> PanelDiscussion:
    config = PanelConfiguration(seed=1, max_tokens=10_000_000 if capped else None)
    panel = Panel.create(
        tenant_id=TENANT,
        query="Should we launch in the EU or the US first?",
        panel_type=PanelType.STRUCTURED,
        configuration=config,
        members=[Member("fda_expert", "FDA", "Expert")],
    )
    panel.record_usage(30_000, 8_000, 0.04)  # some steps taken
    return PanelDiscussion(
        panel,
        experts={},
        checkpoints=UnitOfWorkCheckpoints(uow),
        publisher=EventHub(),
        providers=Providers("none", {}),
        prices=FixedPrices({}),
        tenant=usage.meter(TENANT) if usage is not None else None,
    )


async def step_check(subject: PanelDiscussion) -> None:
    """What the discussion does before a step of two calls: the tenant's reading if stale, then the checks."""
    await subject._read_tenant_spend()
    subject._check(2)


async def per_check_us(subject: PanelDiscussion, checks: int) -> float:
    await step_check(subject)  # the first check reads the ledger; the rest find the reading fresh
    started = time.perf_counter()
    for _ in range(checks):
        await step_check(subject)
    return (time.perf_counter() - started) / checks * 1e6


async def reading_ms(usage: UsageService, reads: int) -> list[float]:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        await usage.spent(TENANT)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(name: str, uow: UnitOfWorkFactory, entries: int, checks: int, reads: int) -> None:
    await fill_ledger(uow, entries)
    usage = UsageService(uow, budget_for=lambda _tenant: BUDGET, refresh_s=3600.0)
    times = await reading_ms(usage, reads)
    spent = await usage.spent(TENANT)
    assert abs(spent.month_usd - entries * 0.004) < 1e-6 * max(entries, 1), spent
    none = await per_check_us(discussion(uow, None, capped=False), checks)
    own = await per_check_us(discussion(uow, None, capped=True), checks)
    both = await per_check_us(discussion(uow, usage, capped=True), checks)
    print(
        f"{name}, {entries:,} ledger entries this month: one ledger reading {statistics.median(times):.3f} ms "
        f"(median of {reads}; best {min(times):.3f} ms)"
    )
    print(
        f"{name}: a step's check, mean of {checks:,}: no budget {none:.2f} µs, the panel's own {own:.2f} µs, "
        f"the panel's and the tenant's (fresh reading) {both:.2f} µs"
    )


async def main(entries: int, checks: int, reads: int, url: str) -> None:
    print(f"# budget_checks — {stamp()} — {machine()}")
    await measure("memory", MemoryUnitOfWorkFactory(), entries, checks, reads)
    database = Database(url)
    try:
        await measure(url.split(":", 1)[0], SqlUnitOfWorkFactory(database), entries, checks, reads)
    finally:
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--database", default=None, help="a database URL (default: a scratch SQLite file)")
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.checks, args.reads, args.database or scratch_sqlite()))
