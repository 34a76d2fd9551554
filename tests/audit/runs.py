"""Panels for the audit: many seeds and every panel size, run through the real services in memory.

Each audited panel type is run once per seed (`SEEDS` of them) on the simulated provider with no
token delay. A seed picks the panel's size (2 to 10 members, every size over nine seeds), its
experts, its question and its settings, so every invariant is checked over all of them. The runs
are made once per session and shared by the tests, so the whole suite stays fast.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ask_panel.application.panels import CreatePanel
from ask_panel.application.ports import LLMProvider
from ask_panel.domain.experts import BUILTIN_EXPERTS
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.llm.simulated import SimulatedProvider
from ask_panel.infrastructure.serialization.panels import panel_body
from tests.harness import TENANT, finished, harness, load, memory_settings

SEEDS = 54  # six times every panel size from 2 to 10
SIZES = range(2, 11)
QUESTIONS = (
    "What is our FDA 510(k) strategy for this device?",
    "How should we price the premium tier of our subscription product?",
    "How many months will the clinical study for the new catheter take?",
    "Should we expand our reimbursement team before the payer negotiations?",
    "What share of hospitals will adopt the device in its first year?",
    "Which market should we launch in first, the EU or the US?",
)


@dataclass(frozen=True, slots=True)
class Run:
    """One audited panel: the seed and settings it was created with, and the panel as it ended."""

    seed: int
    question: str
    configuration: dict[str, Any]
    panel: Panel

    @property
    def size(self) -> int:
        return len(self.panel.members)


def size_of(seed: int) -> int:
    return SIZES[seed % len(SIZES)]


def settings_of(seed: int) -> dict[str, Any]:
    """Varied settings: rounds 1-4 and thresholds from easy to unreachable."""
    rng = random.Random(f"audit:{seed}")
    return {"seed": seed, "max_rounds": rng.choice((1, 2, 3, 4)), "consensus_threshold": rng.choice((0.3, 0.8, 1.0))}


async def run_all(
    panel_type: str,
    seeds: Sequence[int] = range(SEEDS),
    *,
    provider: LLMProvider | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Run]:
    """Run one panel per seed, one after the other, in one in-memory container."""
    experts = [e.agent_id for e in BUILTIN_EXPERTS]
    runs: list[Run] = []
    async with harness(memory_settings(), provider or SimulatedProvider(token_delay_ms=0)) as container:
        for seed in seeds:
            rng = random.Random(f"members:{seed}")
            question = QUESTIONS[seed % len(QUESTIONS)]
            configuration = settings_of(seed) | (extra or {})
            created = await container.panels.create(
                TENANT,
                CreatePanel(
                    query=question,
                    panel_type=PanelType(panel_type),
                    agent_ids=rng.sample(experts, size_of(seed)),
                    configuration=configuration,
                ),
            )
            panel_id = created.panel.panel_id
            await container.panels.execute(TENANT, panel_id)
            await finished(container, panel_id)
            panel, _ = await load(container, panel_id)
            runs.append(Run(seed, question, configuration, panel))
    return runs


_DEFAULT_RUNS: dict[str, list[Run]] = {}


def run_sync(panel_type: str, **kwargs: Any) -> list[Run]:
    """`run_all` from a synchronous (module-scoped) fixture; the default runs are made once per session."""
    if kwargs:
        return asyncio.run(run_all(panel_type, **kwargs))
    if panel_type not in _DEFAULT_RUNS:
        _DEFAULT_RUNS[panel_type] = asyncio.run(run_all(panel_type))
    return _DEFAULT_RUNS[panel_type]


def stored_form(panel: Panel) -> dict[str, Any]:
    """The panel as it is stored and sent (its JSON body)."""
    return panel_body(panel)


def experts(panel: Panel) -> list[Any]:
    return [m for m in panel.messages() if m.role == "expert"]
