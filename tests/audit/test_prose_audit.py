"""Audit of the simulated model's prose: a panel does not read as one sentence frame said over and over.

Issue 9 asked for a simulated panel that reads like a panel of professionals. Before this audit the
same frame ("My one condition is that ...", "X makes a fair case for ..., but it leaves ...
unaddressed") came back expert after expert and round after round: up to 11 times in one
three-round panel, and in 48 of 50 structured panels some frame was used more than three times.
Here every panel type runs 50 seeds of realistic panels (3 to 5 experts, 3 rounds, four questions)
and every sentence of the experts and the moderator is matched against the simulated model's own
frames (`simulated_text.FAMILIES`).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from ask_panel.application.panels import CreatePanel
from ask_panel.domain.experts import BUILTIN_EXPERTS
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.llm.simulated import SimulatedProvider
from ask_panel.infrastructure.llm.simulated_text import FAMILIES, frame_of
from tests.harness import TENANT, finished, harness, load, memory_settings
from tests.unit.test_simulated_panels import sentences

SEEDS = 50
QUESTIONS = (
    "What is our FDA 510(k) strategy for this device?",
    "How should we price the premium tier of our subscription product?",
    "Should we run a clinical trial in Germany before launch?",
    "How many months will FDA clearance take for our class II wound dressing?",
)
MOST_USES = 5
"""No frame is used more than this in one panel (before: up to 11)."""
USUALLY = 3
"""... and in at least `SHARE_USUALLY` of the panels, no frame more than this (before: 0 to 36 %)."""
SHARE_USUALLY = 0.8
TEMPLATES = [(family, template) for family, templates in FAMILIES.items() for template in templates]


async def _run_all(panel_type: str) -> list[Panel]:
    experts = [e.agent_id for e in BUILTIN_EXPERTS]
    panels = []
    async with harness(memory_settings(), SimulatedProvider(token_delay_ms=0)) as container:
        for seed in range(SEEDS):
            created = await container.panels.create(
                TENANT,
                CreatePanel(
                    query=QUESTIONS[seed % len(QUESTIONS)],
                    panel_type=PanelType(panel_type),
                    agent_ids=random.Random(seed).sample(experts, 3 + seed % 3),
                    configuration={"seed": seed, "max_rounds": 3, "consensus_threshold": 1.0},
                ),
            )
            await container.panels.execute(TENANT, created.panel.panel_id)
            await finished(container, created.panel.panel_id)
            panel, _ = await load(container, created.panel.panel_id)
            assert panel.status.value == "completed", panel.error
            panels.append(panel)
    return panels


def frame_uses(panel: Panel) -> Counter[str]:
    """How often each frame is used in the panel's expert and moderator messages, sentence by sentence."""
    uses: Counter[str] = Counter()
    for message in panel.messages():
        if message.role not in ("expert", "moderator"):
            continue
        for sentence in sentences(message.content):
            for family, template in TEMPLATES:
                if frame_of(template).fullmatch(sentence):
                    uses[f"{family}: {template}"] += 1
    return uses


@pytest.fixture(scope="module", params=["structured", "open", "socratic", "adversarial", "delphi"])
def measured(request: Any) -> tuple[str, list[Counter[str]]]:
    panels = asyncio.run(_run_all(request.param))
    return request.param, [frame_uses(p) for p in panels]


def test_the_frames_are_found_in_the_panels(measured: tuple[str, list[Counter[str]]]) -> None:
    """The measure measures something: most sentences of every panel are matched to a frame."""
    _, uses = measured
    assert all(sum(u.values()) >= 6 for u in uses)


def test_no_sentence_frame_is_used_over_and_over_in_one_panel(measured: tuple[str, list[Counter[str]]]) -> None:
    panel_type, uses = measured
    worst = [max(u.values()) for u in uses]
    over = [(i, u.most_common(1)[0]) for i, u in enumerate(uses) if max(u.values()) > MOST_USES]
    assert not over, f"{panel_type}: a frame used more than {MOST_USES} times: {over[:3]}"
    usually = sum(1 for w in worst if w <= USUALLY) / len(worst)
    assert usually >= SHARE_USUALLY, f"{panel_type}: only {usually:.0%} of panels use no frame over {USUALLY} times"
