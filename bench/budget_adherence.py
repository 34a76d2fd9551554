"""Benchmark: how closely running panels keep to their `max_tokens` (issue 12).

    .venv/bin/python -m bench.budget_adherence [--seeds 8] [--fractions 0.3,0.45,0.6,0.75,0.9] [--token-delay-ms N]

A panel's own cap is checked before each step at what the next calls are expected to use
(`domain/usage.py`'s `expected`); a call larger than expected can still take it past the cap. For
each panel type and seed this runs the simulated panel (3 experts, 4 for a debate, 3 rounds) once
without a cap, then again with `max_tokens` at each fraction of what it used, and counts the capped
runs that used more than their cap, and by how much at most. In memory, no database; the simulated
model streams at the service's default pace unless `--token-delay-ms` says otherwise (concurrent
experts then finish in another order, and the discussion, so the prompts, differ).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import MEMORY_DATABASE_URL, Settings
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from bench.common import machine, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]


async def run(container: Container, panel_type: PanelType, seed: int, **configuration: int) -> Panel:
    agents = [*THREE, "quality_expert"] if panel_type is PanelType.ADVERSARIAL else THREE
    created = await container.panels.create(
        TENANT,
        CreatePanel(
            query="Which market first: EU or US?",
            panel_type=panel_type,
            agent_ids=agents,
            configuration={"seed": seed, "max_rounds": 3, **configuration},
        ),
    )
    panel_id = created.panel.panel_id
    await container.panels.execute(TENANT, panel_id)
    task = container.pool.running.get(panel_id)
    if task is not None:
        await task
    return await container.panels.get(TENANT, panel_id)


async def main(seeds: int, fractions: list[float], token_delay_ms: float | None) -> None:
    settings = Settings(database_url=MEMORY_DATABASE_URL, llm_provider="simulated")
    if token_delay_ms is not None:
        settings = settings.model_copy(update={"simulated_token_delay_ms": token_delay_ms})
    container = bootstrap(settings)
    await container.start()
    over: Counter[str] = Counter()
    worst: dict[str, float] = {}
    try:
        for panel_type in PanelType:
            for seed in range(1, seeds + 1):
                full = await run(container, panel_type, seed)
                needed = full.usage.input_tokens + full.usage.output_tokens
                for fraction in fractions:
                    cap = int(needed * fraction)
                    capped = await run(container, panel_type, seed, max_tokens=cap)
                    used = capped.usage.input_tokens + capped.usage.output_tokens
                    if used > cap:
                        over[panel_type.value] += 1
                        worst[panel_type.value] = max(worst.get(panel_type.value, 0.0), used / cap - 1)
    finally:
        await container.stop()
    runs = seeds * len(fractions)
    print(f"# budget_adherence — {stamp()} — {machine()} — token delay {settings.simulated_token_delay_ms} ms")
    print("| panel type | capped runs past their max_tokens | by at most |")
    print("|---|---:|---:|")
    for panel_type in PanelType:
        name = panel_type.value
        print(f"| {name} | {over[name]} of {runs} | {worst.get(name, 0.0):.1%} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--fractions", default="0.3,0.45,0.6,0.75,0.9")
    parser.add_argument("--token-delay-ms", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.seeds, [float(f) for f in args.fractions.split(",")], args.token_delay_ms))
