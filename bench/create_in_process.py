"""Benchmark: the panel-creation request path in-process, without HTTP or a load generator sharing the CPU.

    .venv/bin/python -m bench.create_in_process [--panels 1000] [--runs 3]

`PanelService.create` (validation, expert selection, one transaction on a scratch SQLite database)
plus the response body (`PanelResponse.from_panel(...).model_dump_json()`), one request at a time;
prints the best per-request time of the runs. Steadier than `create_rps` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from ask_panel.api.schemas import PanelResponse
from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import TenantId
from ask_panel.domain.status import PanelType
from bench.common import machine, scratch_sqlite, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")


async def main(panels: int, runs: int) -> None:
    url = await asyncio.to_thread(scratch_sqlite)
    container = bootstrap(Settings(database_url=url, auth_mode="none", run_worker=False))
    await container.start()
    command = CreatePanel(
        query="What is our FDA 510(k) strategy?",
        panel_type=PanelType.STRUCTURED,
        agent_ids=["fda_expert", "clinical_expert"],
    )
    times = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            for _ in range(panels):
                created = await container.panels.create(TENANT, command)
                PanelResponse.from_panel(created.panel).model_dump_json()
            times.append((time.perf_counter() - started) / panels * 1000)
    finally:
        await container.stop()
    print(f"# create_in_process — {stamp()} — {machine()}")
    print(
        f"{panels} creates + responses on SQLite, {runs} runs: best {min(times):.3f} ms per request "
        f"(runs: {', '.join(f'{t:.3f}' for t in times)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--panels", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.panels, args.runs))
