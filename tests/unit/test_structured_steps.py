"""Structured steps of a panel: lenient reading, one repair call, reasoning hidden, each step's outcome kept."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from ask_panel.config import Settings
from ask_panel.domain.checkpoint import AnswerNote, StepKey
from tests.harness import expert_messages, harness, memory_settings, run_panel
from tests.scripted import Call, ScriptedProvider, default_answer

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]
FRAME, SYNTHESIS = StepKey.decision("frame"), StepKey.decision("synthesis")


@pytest.fixture
def settings() -> Settings:
    return memory_settings()


async def test_json_in_fences_after_prose_and_reasoning_is_read_the_first_time(settings: Settings) -> None:
    def chatty(call: Call) -> str | dict[str, Any]:
        answer = default_answer(call)
        if isinstance(answer, dict):
            return f"<think>The schema wants {{...}}.</think>Here you go:\n```json\n{json.dumps(answer)}\n```\nThanks!"
        return f"<think>I should weigh the predicate first.</think>\n\n{answer}"

    provider = ScriptedProvider(chatty)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.status.value == "completed"
    assert len(provider.calls) == 1 + 3 * 2 + 1, "frame, three turns of prose and stance, synthesis: no repair"
    for message in expert_messages(panel):
        assert message.content.endswith("speaks with care about the question.")
        assert "<think>" not in message.content and "predicate first" not in message.content
        assert message.stance is not None and message.metadata["stance_outcome"] == "parsed"
    answers = panel.checkpoint.answers
    assert answers[FRAME] == AnswerNote("parsed", 1)
    assert answers[SYNTHESIS] == AnswerNote("parsed", 1)


async def test_duplicate_options_are_repaired_by_one_call_that_shows_the_model_its_error(settings: Settings) -> None:
    def careless_framing(call: Call) -> str | dict[str, Any]:
        if call.title == "options" and not any("Your answer failed" in m.content for m in call.messages):
            return {"options": ["Option A", "Option A"]}
        return default_answer(call)

    provider = ScriptedProvider(careless_framing)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.status.value == "completed"
    frames = [c for c in provider.calls if c.title == "options"]
    assert len(frames) == 2
    assert frames[1].messages[-2].content == '{"options": ["Option A", "Option A"]}'
    assert "'options' must hold 2 to 4 distinct strings" in frames[1].messages[-1].content
    assert panel.checkpoint.answers[FRAME] == AnswerNote("repaired", 2, "'options' must hold 2 to 4 distinct strings")


async def test_a_stance_that_stays_unreadable_is_recorded_as_failed_and_the_turn_kept(settings: Settings) -> None:
    stance_calls: Counter[str] = Counter()

    def shy(call: Call) -> str | dict[str, Any]:
        if call.title == "stance" and call.speaker == "Dr. Maya Chen":
            stance_calls[call.speaker] += 1
            return "I prefer not to pick."
        return default_answer(call)

    async with harness(settings, ScriptedProvider(shy)) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    chen = next(m for m in expert_messages(panel) if m.agent_id == "fda_expert")
    assert chen.stance is None and chen.metadata["stance_outcome"] == "failed"
    assert stance_calls["Dr. Maya Chen"] == 2, "one answer and one repair call"
    assert panel.checkpoint.answers[StepKey.speaking(1, "fda_expert")] == AnswerNote(
        "failed",
        2,
        "no JSON object in the answer",
        "no readable answer after a repair call (no JSON object in the answer): "
        "the turn is kept without a stance and not counted in the consensus",
    )


async def test_a_decision_that_stays_unreadable_after_its_repair_call_falls_back(settings: Settings) -> None:
    def prose_moderator(call: Call) -> str | dict[str, Any]:
        return "We could weigh speed against certainty." if call.title == "options" else default_answer(call)

    provider = ScriptedProvider(prose_moderator)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.status.value == "completed"
    assert len([c for c in provider.calls if c.title == "options"]) == 2, "one answer and one repair call"
    assert panel.checkpoint.answers[FRAME].outcome == "failed"
    assert panel.final_recommendation is not None and panel.final_recommendation.degraded
    assert [f.step for f in panel.final_recommendation.fallbacks] == ["frame"]
