"""Benchmark: `estimated_duration` against the real duration, for every panel type and size.

    .venv/bin/python -m bench.duration_calibration [--seeds 3] [--delay-ms 8] [--sizes 2,3,5] [--rounds 1,2,3]

Runs panels of every type, member count and round limit with the simulated provider at its
default pace, on a scratch SQLite database (what `make run` and `ask-panel ask --local` use),
one panel at a time, and compares each panel's `estimated_duration` (given at creation) with
its real duration (started → completed). Prints one row per case and the worst factor
(max of estimate/actual and actual/estimate over every panel); the aim is a factor of at most 2.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import TenantId
from ask_panel.domain.status import PanelType
from bench.common import machine, scratch_sqlite, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
EXPERTS = [
    "fda_expert",
    "clinical_expert",
    "reimbursement_expert",
    "quality_expert",
    "biostatistics_expert",
    "patient_safety_expert",
    "commercial_expert",
    "manufacturing_expert",
    "eu_mdr_expert",
    "health_economics_expert",
]
QUESTIONS = (
    "Should we pursue a 510(k) or a De Novo for our AI-based ECG patch?",
    "What price should we set for our new glucose monitor subscription?",
    "How many months will FDA clearance take for a class II wound dressing?",
)


async def measure(
    settings: Settings, panel_type: PanelType, members: int, rounds: int, seed: int
) -> tuple[int, float, int]:
    """(estimate in seconds, real duration in seconds, rounds held) of one panel."""
    container = bootstrap(settings)
    await container.start()
    try:
        created = await container.panels.create(
            TENANT,
            CreatePanel(
                query=QUESTIONS[seed % len(QUESTIONS)],
                panel_type=panel_type,
                agent_ids=EXPERTS[:members],
                configuration={"seed": seed, "max_rounds": rounds},
            ),
        )
        panel_id = created.panel.panel_id
        await container.panels.execute(TENANT, panel_id)
        task = container.pool.running.get(panel_id)
        if task is not None:
            await task
        panel = await container.panels.get(TENANT, panel_id)
        assert panel.status.value == "completed", panel.error
        assert panel.duration_seconds is not None
        return panel.estimated_duration, panel.duration_seconds, len(panel.rounds)
    finally:
        await container.stop()


def factor(estimate: float, actual: float) -> float:
    return max(estimate / actual, actual / estimate) if estimate > 0 and actual > 0 else float("inf")


async def main(args: argparse.Namespace, settings: Settings) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    round_limits = [int(r) for r in args.rounds.split(",")]
    print(f"# {stamp()} — {machine()}")
    print(f"# simulated provider at {args.delay_ms:g} ms per token, SQLite, {args.seeds} seeds per case")
    print("| type | members | max_rounds | estimate s | actual s (min-max) | rounds held | worst factor |")
    print("|---|---|---|---|---|---|---|")
    worst = (0.0, "")
    for panel_type in PanelType:
        for members in sizes:
            for rounds in round_limits:
                runs = [await measure(settings, panel_type, members, rounds, seed) for seed in range(args.seeds)]
                estimate = runs[0][0]
                actuals = [a for _, a, _ in runs]
                held = sorted({r for _, _, r in runs})
                case_worst = max(factor(e, a) for e, a, _ in runs)
                if case_worst > worst[0]:
                    worst = (case_worst, f"{panel_type.value}, {members} members, max_rounds {rounds}")
                print(
                    f"| {panel_type.value} | {members} | {rounds} | {estimate} | "
                    f"{statistics.median(actuals):.2f} ({min(actuals):.2f}-{max(actuals):.2f}) | "
                    f"{'/'.join(map(str, held))} | {case_worst:.2f} |",
                    flush=True,
                )
    print(f"\nworst factor: {worst[0]:.2f} ({worst[1]})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=8.0)
    parser.add_argument("--sizes", default="2,3,5")
    parser.add_argument("--rounds", default="1,2,3")
    arguments = parser.parse_args()
    url = scratch_sqlite()  # migrations run their own event loop: before ours
    asyncio.run(main(arguments, Settings(database_url=url, simulated_token_delay_ms=arguments.delay_ms)))
