"""Per-step fallbacks: a structured step whose answer stays unreadable after its repair call takes its
documented fallback, and the panel completes degraded, listing the step and why. Only a provider that
fails, or a lost quorum, fails a panel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from ask_panel.bootstrap import bootstrap
from ask_panel.config import Settings
from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamPart
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus
from ask_panel.domain.strategies.fallbacks import NEUTRAL_ESTIMATE_QUESTION, NEUTRAL_OPTIONS
from ask_panel.infrastructure.memory.repositories import MemoryRecoveryScanner
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.harness import (
    QUESTION,
    TENANT,
    create,
    eventually,
    expert_messages,
    harness,
    load,
    memory_settings,
    run_panel,
)
from tests.harness import scripted as registry
from tests.scripted import Call, ScriptedProvider, default_answer, speaker_of

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]
FOUR = [*THREE, "quality_expert"]
PROSE = "I would weigh the predicate device against the cost of new clinical data first."
FRAME, SYNTHESIS = StepKey.decision("frame"), StepKey.decision("synthesis")


@pytest.fixture
def settings() -> Settings:
    return memory_settings()


def prose_for(*titles: str) -> ScriptedProvider:
    """A provider whose answers to the steps titled `titles` are prose, never JSON (repair calls included)."""

    def answer(call: Call) -> str | dict[str, Any]:
        return PROSE if call.title in titles else default_answer(call)

    return ScriptedProvider(answer)


def fell_back(panel: Panel) -> dict[str, str]:
    """The recommendation's fallbacks, step -> reason (what a client reads at final_recommendation.fallbacks)."""
    assert panel.status is PanelStatus.COMPLETED, panel.error
    outcome = panel.final_recommendation
    assert outcome is not None and outcome.degraded, "a panel that fell back is degraded"
    return {f.step: f.reason for f in outcome.fallbacks}


def asked(provider: ScriptedProvider, title: str) -> int:
    return len([c for c in provider.calls if c.title == title])


# ---- the framing -----------------------------------------------------------------------------------


async def test_an_unreadable_frame_falls_back_to_a_neutral_option_set(settings: Settings) -> None:
    provider = prose_for("options")
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    reasons = fell_back(panel)
    assert list(reasons) == ["frame"]
    assert reasons["frame"] == (
        "no readable answer after a repair call (no JSON object in the answer): a neutral option set was used"
    )
    assert asked(provider, "options") == 2, "one answer, one repair call, then the fallback"
    assert panel.checkpoint.decision(FRAME) == {"options": list(NEUTRAL_OPTIONS)}
    assert all(m.stance is not None and m.stance.position == NEUTRAL_OPTIONS[0] for m in expert_messages(panel))


async def test_a_frame_written_as_a_list_falls_back_to_the_moderators_own_options(settings: Settings) -> None:
    listed = "Two ways forward:\n1. **File a 510(k)** now.\n2. File a De Novo request.\nBoth need a pre-sub."

    def answer(call: Call) -> str | dict[str, Any]:
        return listed if call.title == "options" else default_answer(call)

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert fell_back(panel)["frame"].endswith("the options listed in the moderator's own answer were used")
    assert panel.checkpoint.decision(FRAME) == {"options": ["File a 510(k) now", "File a De Novo request"]}


async def test_an_unreadable_delphi_frame_falls_back_to_neutral_options_and_a_neutral_estimate(
    settings: Settings,
) -> None:
    async with harness(settings, prose_for("delphi_frame")) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=1)

    assert fell_back(panel)["frame"].endswith("a neutral option set was used, with a neutral estimate question")
    assert panel.rounds[0].feedback is not None
    assert panel.rounds[0].feedback["estimate_question"] == NEUTRAL_ESTIMATE_QUESTION
    assert [m.stance.estimate for m in expert_messages(panel) if m.stance] == [60, 60, 60]


# ---- the experts' stances --------------------------------------------------------------------------


async def test_an_unreadable_stance_keeps_the_turn_without_one(settings: Settings) -> None:
    def answer(call: Call) -> str | dict[str, Any]:
        if call.title == "stance" and call.speaker == "Dr. Maya Chen":
            return "I would rather not pick an option."
        return default_answer(call)

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    reasons = fell_back(panel)
    assert reasons == {
        "r1:fda_expert": "no readable answer after a repair call (no JSON object in the answer): "
        "the turn is kept without a stance and not counted in the consensus"
    }
    chen = next(m for m in expert_messages(panel) if m.agent_id == "fda_expert")
    assert chen.stance is None and chen.content.endswith("speaks with care about the question.")
    assert panel.consensus is not None and panel.consensus.components["stances"] == 2


async def test_a_delphi_answer_without_its_estimate_keeps_its_position_but_its_estimate_is_not_counted(
    settings: Settings,
) -> None:
    def answer(call: Call) -> str | dict[str, Any]:
        given = default_answer(call)
        if call.title == "stance" and call.speaker == "Dr. Samuel Okafor" and isinstance(given, dict):
            return {k: v for k, v in given.items() if k != "estimate"}
        return given

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=1)

    reasons = fell_back(panel)
    assert list(reasons) == ["r1:clinical_expert"]
    assert reasons["r1:clinical_expert"].endswith("the position is kept without its estimate, which is not counted")
    okafor = next(m for m in expert_messages(panel) if m.agent_id == "clinical_expert")
    assert okafor.stance is not None and okafor.stance.estimate is None
    assert okafor.metadata["stance_outcome"] == "partial"
    assert panel.rounds[0].feedback is not None
    assert panel.rounds[0].feedback["distribution"]["n"] == 2, "two estimates counted"
    assert sum(panel.rounds[0].feedback["positions"].values()) == 3, "three positions counted"


async def test_a_delphi_answer_without_a_readable_position_keeps_the_turn_without_a_stance(settings: Settings) -> None:
    def answer(call: Call) -> str | dict[str, Any]:
        if call.title == "stance" and call.speaker == "Dr. Samuel Okafor":
            return "I would rather not put a number on it."
        return default_answer(call)

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=1)

    assert fell_back(panel)["r1:clinical_expert"].endswith(
        "the turn is kept without a stance: its estimate is not counted"
    )
    assert panel.rounds[0].feedback is not None
    assert panel.rounds[0].feedback["distribution"]["n"] == 2


# ---- the moderator's choices during the discussion --------------------------------------------------


async def test_an_unreadable_choice_of_next_speaker_gives_the_floor_in_the_seeded_order(settings: Settings) -> None:
    provider = prose_for("next_speaker")
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "open", THREE, max_rounds=1)

    reasons = fell_back(panel)
    assert {"t0:next", "t1:next"} <= set(reasons)
    assert all(r.endswith("the next expert in the seeded speaking order took the floor") for r in reasons.values())
    first_choice = next(c for c in provider.calls if c.title == "next_speaker")
    offered = re.search(r"among: ([^.]+)\.", first_choice.prompt)
    assert offered is not None
    assert panel.checkpoint.speaker_of_turn(0) == offered[1].split(", ")[0]
    assert len({m.agent_id for m in expert_messages(panel)}) == 3, "everyone still speaks"


async def test_unreadable_targets_question_the_least_confident_experts(settings: Settings) -> None:
    def answer(call: Call) -> str | dict[str, Any]:
        if call.title == "targets":
            return PROSE
        given = default_answer(call)
        if call.title == "stance" and call.speaker == "Dr. Samuel Okafor" and isinstance(given, dict):
            return {**given, "confidence": 0.2}
        return given

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "socratic", THREE, max_rounds=2, consensus_threshold=1.0)

    assert fell_back(panel)["r2:targets"].endswith("the least confident experts were questioned")
    assert panel.checkpoint.decision(StepKey.decision("targets", round_number=2)) == {"targets": ["clinical_expert"]}
    assert panel.checkpoint.message(StepKey.answer(2, "clinical_expert")) is not None


# ---- the adversarial proposition and verdict ---------------------------------------------------------


async def test_an_unreadable_proposition_is_the_moderators_own_first_sentence(settings: Settings) -> None:
    async with harness(settings, prose_for("proposition")) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=1)

    assert fell_back(panel)["proposition"].endswith("the moderator's own first sentence was taken as the proposition")
    assert panel.checkpoint.decision(StepKey.decision("proposition")) == {"proposition": PROSE}


async def test_a_proposition_with_nothing_to_take_is_the_question_itself(settings: Settings) -> None:
    def answer(call: Call) -> str | dict[str, Any]:
        return "" if call.title == "proposition" else default_answer(call)

    async with harness(settings, ScriptedProvider(answer)) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=1)

    assert fell_back(panel)["proposition"].endswith("the question itself was debated as the proposition")
    stated = panel.checkpoint.decision(StepKey.decision("proposition"))
    assert stated is not None and QUESTION.rstrip("?") in stated["proposition"]


async def test_an_unreadable_verdict_is_undecided(settings: Settings) -> None:
    async with harness(settings, prose_for("verdict")) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=2)

    assert fell_back(panel)["verdict"].endswith("the verdict is undecided")
    outcome = panel.final_recommendation
    assert outcome is not None and outcome.verdict is not None
    assert outcome.verdict["winner"] == "undecided" and outcome.verdict["confidence"] == 0.0
    assert outcome.verdict["reasons"] == [], "no argument is cited for a verdict nobody gave"
    assert outcome.recommendation.startswith("Undecided")
    assert "A readable verdict on the 8 arguments made" in outcome.rationale, "it says what would settle it"
    assert outcome.dissent == (), "no side lost"


# ---- the synthesis ---------------------------------------------------------------------------------------


async def test_an_unreadable_synthesis_tallies_the_experts_final_positions(settings: Settings) -> None:
    async with harness(settings, prose_for("synthesis")) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert fell_back(panel)["synthesis"].endswith("the experts' final positions were tallied instead")
    outcome = panel.final_recommendation
    assert outcome is not None
    assert outcome.recommendation == "Option A (the final position of 3 of 3 experts)."
    assert "'Option A': 3" in outcome.rationale and f"The moderator wrote: {PROSE}" in outcome.rationale
    assert outcome.agreement_points == ("3 of 3 experts ended on 'Option A'",)


async def test_an_unreadable_delphi_synthesis_reports_the_estimates(settings: Settings) -> None:
    async with harness(settings, prose_for("synthesis")) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=1)

    outcome = panel.final_recommendation
    assert "synthesis" in fell_back(panel) and outcome is not None
    assert "All three panelists estimate 60; no spread." in outcome.rationale  # not "interquartile range 60-60"
    assert outcome.rationale.startswith("The facilitator's synthesis could not be read")


# ---- whole panels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("panel_type", "agents", "steps"),
    [
        ("structured", THREE, {"frame", "synthesis"}),
        ("open", THREE, {"frame", "t0:next", "synthesis"}),
        ("socratic", THREE, {"frame", "r2:targets", "synthesis"}),
        ("adversarial", FOUR, {"proposition", "verdict"}),
        ("delphi", THREE, {"frame", "synthesis"}),
    ],
)
async def test_a_model_that_only_writes_prose_completes_every_panel_type_degraded(
    settings: Settings, panel_type: str, agents: list[str], steps: set[str]
) -> None:
    provider = ScriptedProvider(lambda call: PROSE)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, panel_type, agents, max_rounds=2)

    reasons = fell_back(panel)
    assert steps <= set(reasons)
    turns = expert_messages(panel)
    assert turns and all(m.content == PROSE and m.stance is None for m in turns), "the model's words are kept"
    assert {str(k) for k, m in panel.checkpoint.spoken.items() if m.role == "expert"} <= set(reasons)


async def test_a_model_that_answers_nothing_fails_the_panel_for_quorum_not_for_format(settings: Settings) -> None:
    async with harness(settings, ScriptedProvider(lambda call: "")) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.status is PanelStatus.FAILED
    assert panel.error is not None and "experts could take part" in panel.error
    assert panel.checkpoint.answers[FRAME].outcome == "failed", "the frame fell back; the silence failed the panel"


async def test_a_provider_that_fails_a_decision_still_fails_the_panel(settings: Settings) -> None:
    provider = ScriptedProvider(fail_for=lambda call: call.title == "options")
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.status is PanelStatus.FAILED
    assert panel.error is not None and "scripted failure for moderator" in panel.error


async def test_a_panel_that_read_every_step_is_not_degraded_and_lists_no_fallback(settings: Settings) -> None:
    async with harness(settings, ScriptedProvider()) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1)

    assert panel.final_recommendation is not None
    assert not panel.final_recommendation.degraded and panel.final_recommendation.fallbacks == ()


async def test_a_fallback_survives_an_interrupted_run_and_is_listed_after_the_resume() -> None:
    uow = MemoryUnitOfWorkFactory()
    settings = memory_settings()

    def prose_frame(call: Call) -> str | dict[str, Any]:
        return PROSE if call.title == "options" else default_answer(call)

    first_run = HeldProvider(prose_frame, held="Dr. Maya Chen")
    first = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(uow.store), providers=registry(first_run))
    await first.start()
    panel_id = await create(first, "structured", THREE)
    await first.panels.execute(TENANT, panel_id)

    async def two_turns_committed() -> bool:
        return len((await load(first, panel_id))[0].checkpoint.spoken) >= 2

    await eventually(two_turns_committed, "two turns were committed")
    await first.stop()  # the process goes away mid-round, after the frame fell back
    interrupted, _ = await load(first, panel_id)
    assert interrupted.status is PanelStatus.IN_PROGRESS
    assert interrupted.checkpoint.answers[FRAME].outcome == "failed"

    again = ScriptedProvider()  # would frame readable options, if it were asked
    second = bootstrap(settings, uow=uow, recovery=MemoryRecoveryScanner(uow.store), providers=registry(again))
    await second.start()
    await second.pool.running[panel_id]
    panel, _ = await load(second, panel_id)
    await second.stop()

    assert asked(again, "options") == 0, "the fallen-back frame is not asked again"
    assert list(fell_back(panel)) == ["frame"]
    assert panel.checkpoint.decision(FRAME) == {"options": list(NEUTRAL_OPTIONS)}


class HeldProvider(ScriptedProvider):
    """A scripted provider whose calls for one speaker never answer (until the run is stopped)."""

    def __init__(self, answer: Callable[[Call], str | dict[str, Any]], *, held: str) -> None:
        super().__init__(answer)
        self.held = held

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        if speaker_of(messages) == self.held:
            await asyncio.Event().wait()
        async for part in super().stream(
            messages, model=model, temperature=temperature, json_schema=json_schema, output_mode=output_mode
        ):
            yield part
