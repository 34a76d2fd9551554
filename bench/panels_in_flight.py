"""Benchmark: panels in flight in one process, and orchestration overhead per LLM call.

    .venv/bin/python -m bench.panels_in_flight [--panels 1000] [--delay-ms 20]

Part 1 runs N structured panels at once with the simulated provider at a realistic token delay and
reports how many were in flight together, the time to finish them all and the memory used.
Part 2 runs panels with an instant provider (zero delay, constant answers) and divides the wall time
by the number of LLM calls: what the service itself costs per call (strategy, prompts, JSON
parsing, checkpoint commit with its events, fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import TenantId
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.llm.registry import Providers
from ask_panel.infrastructure.llm.simulated import SimulatedProvider
from bench.common import machine, rss_kib, scratch_sqlite, stamp

TENANT = TenantId.from_string("11111111-1111-1111-1111-111111111111")
AGENTS = ["fda_expert", "clinical_expert", "reimbursement_expert"]


class InstantProvider:
    """Answers at once; JSON answers are built by the simulated provider's schema instance generator."""

    name = "instant"

    def __init__(self) -> None:
        self._inner = SimulatedProvider(token_delay_ms=0)
        self.calls = 0
        self._cache: dict[str, str] = {}

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        self.calls += 1
        key = json.dumps(json_schema, sort_keys=True) if json_schema else ""
        text = self._cache.get(key)
        if text is None:
            parts = [
                p.text
                async for p in self._inner.stream(messages, model=None, temperature=None, json_schema=json_schema)
                if isinstance(p, TextDelta)
            ]
            text = self._cache[key] = "".join(parts)
        yield TextDelta(text)
        yield StreamEnd("instant", TokenUsage(100, 50))


async def run(settings: Settings, providers: Providers | None, panels: int, rounds: int) -> dict[str, Any]:
    container = bootstrap(settings, providers=providers)
    await container.start()
    ids = []
    for _ in range(panels):
        created = await container.panels.create(
            TENANT,
            CreatePanel(
                query="What is our FDA 510(k) strategy for this device?",
                panel_type=PanelType.STRUCTURED,
                agent_ids=AGENTS,
                configuration={"max_rounds": rounds, "consensus_threshold": 1.0},
            ),
        )
        ids.append(created.panel.panel_id)
    rss_before = rss_kib()
    started = time.perf_counter()
    # Executes arrive together, as from many clients at once.
    await asyncio.gather(*(container.panels.execute(TENANT, pid) for pid in ids))
    runs = [container.pool.running[pid] for pid in ids if pid in container.pool.running]
    peak = len(container.pool.running)
    sampler_peak = 0
    rss_peak = rss_before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal sampler_peak, rss_peak
        while not done.is_set():
            sampler_peak = max(sampler_peak, len(container.pool.running))
            rss_peak = max(rss_peak, rss_kib())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*runs)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.cancel()
    statuses: dict[str, int] = {}
    calls = 0
    for pid in ids:
        panel = await container.panels.get(TENANT, pid)
        statuses[panel.status.value] = statuses.get(panel.status.value, 0) + 1
        calls += panel.usage.llm_calls
    await container.stop()
    return {
        "elapsed_s": elapsed,
        "peak_in_flight": max(peak, sampler_peak),
        "statuses": statuses,
        "llm_calls": calls,
        "rss_growth_mib": (rss_peak - rss_before) / 1024,
    }


async def main(args: argparse.Namespace, url: str, url2: str) -> None:
    print(f"# panels_in_flight — {stamp()} — {machine()}")
    print(f"database: {url.split('://')[0]}")

    settings = Settings(
        environment="test",
        database_url=url,
        auth_mode="none",
        llm_provider="simulated",
        simulated_token_delay_ms=args.delay_ms,
        max_concurrent_panels=args.panels,
    )
    result = await run(settings, None, args.panels, rounds=2)
    print(
        f"[in flight] {args.panels} structured panels (3 experts, 2 rounds), simulated provider at "
        f"{args.delay_ms:g} ms/token: peak in flight {result['peak_in_flight']}, all done in "
        f"{result['elapsed_s']:.1f} s, statuses {result['statuses']}, {result['llm_calls']} LLM calls, "
        f"RSS growth {result['rss_growth_mib']:.0f} MiB"
    )

    instant = InstantProvider()
    settings2 = settings.model_copy(update={"database_url": url2, "max_concurrent_panels": 50})
    providers = Providers("instant", {"instant": lambda: instant})
    result2 = await run(settings2, providers, args.overhead_panels, rounds=3)
    per_call = result2["elapsed_s"] * 1000 / max(1, instant.calls)
    print(
        f"[overhead] {args.overhead_panels} panels, instant provider: {instant.calls} LLM calls in "
        f"{result2['elapsed_s']:.2f} s = {per_call:.3f} ms of orchestration per LLM call "
        f"(statuses {result2['statuses']})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--panels", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--overhead-panels", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    cli = parser.parse_args()
    asyncio.run(main(cli, cli.database_url or scratch_sqlite(), cli.database_url or scratch_sqlite()))
