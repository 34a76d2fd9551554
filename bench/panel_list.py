"""Benchmark: one page of the panel list (`GET /api/v1/panels`'s read) when the panels have long discussions.

    .venv/bin/python -m bench.panel_list [--panels 200] [--messages 30] [--pages 50] [--database sqlite|postgres]

Stores `--panels` completed panels of `--messages` turns (about 600 characters each) on a scratch
database, then reads the first page of 50 through the repository `--pages` times and prints the
median time per page. The list is a projection (columns, a few body keys and a message count the
database computes), so a page should cost the same whatever the discussions hold.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelType
from ask_panel.domain.values import Consensus, Member, Message, Recommendation
from ask_panel.infrastructure.db.engine import Database
from ask_panel.infrastructure.db.uow import SqlUnitOfWorkFactory
from bench.common import machine, scratch_sqlite, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
EXPERTS = ["fda_expert", "clinical_expert", "eu_mdr_expert", "quality_expert", "reimbursement_expert"]
TURN = "The evidence plan must be settled before the submission strategy. " * 9


def draft() -> Panel:
    return Panel.create(
        tenant_id=TENANT,
        query="Should we launch in the EU or the US first?",
        panel_type=PanelType.STRUCTURED,
        configuration=PanelConfiguration(seed=1),
        members=[Member(e, e.title(), "Expert") for e in EXPERTS],
    )


def discuss(panel: Panel, messages: int) -> None:
    for turn in range(messages):
        round_number, agent = turn // len(EXPERTS) + 1, EXPERTS[turn % len(EXPERTS)]
        if turn % len(EXPERTS) == 0:
            panel.begin_round(round_number)
        message = Message(agent, agent.title(), TURN, utcnow(), round_number)
        panel.add_message(StepKey.speaking(round_number, agent), message)
        if turn % len(EXPERTS) == len(EXPERTS) - 1:
            panel.complete_round(round_number, Consensus(0.8, 0.7, "m", {}), None)
    panel.complete(
        Recommendation("Launch in the EU", "Most agree.", ("a",), ("b",), degraded=False, decided_by="moderator")
    )


async def main(panels: int, messages: int, pages: int, url: str) -> None:
    database = Database(url)
    uow = SqlUnitOfWorkFactory(database)
    try:
        for _ in range(panels):
            panel = draft()
            async with uow(TENANT, write=True) as work:
                await work.panels.add(panel, idempotency_key=None, fingerprint=None)
                await work.commit()
            panel.queue()
            panel.start()
            async with uow(TENANT, write=True) as work:
                await work.panels.save(panel, bump_attempt=True)
                await work.commit()
            discuss(panel, messages)
            async with uow(TENANT, write=True) as work:
                await work.panels.save(panel)
                await work.commit()
        times = []
        for _ in range(pages):
            started = time.perf_counter()
            async with uow(TENANT) as work:
                page = await work.panels.page(limit=50, offset=0, status=None, panel_type=None)
            times.append((time.perf_counter() - started) * 1000)
        assert len(page.panels) == min(50, panels)
    finally:
        await database.dispose()
    print(f"# panel_list — {stamp()} — {machine()}")
    print(
        f"{panels} panels of {messages} turns on {url.split(':', 1)[0]}: a page of 50 in "
        f"{statistics.median(times):.1f} ms (median of {pages}; best {min(times):.1f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--panels", type=int, default=200)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--database", default=None, help="a database URL (default: a scratch SQLite file)")
    args = parser.parse_args()
    asyncio.run(main(args.panels, args.messages, args.pages, args.database or scratch_sqlite()))
