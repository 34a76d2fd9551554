"""Edge cases of every panel type on the scripted provider: the defects of issue 9, ties, abstention, one member."""

from __future__ import annotations

from typing import Any

import pytest

from ask_panel.config import Settings
from ask_panel.domain.errors import InvalidInput
from tests.harness import expert_messages, harness, memory_settings, run_panel
from tests.scripted import Call, ScriptedProvider, default_answer

FOUR = ["fda_expert", "clinical_expert", "reimbursement_expert", "quality_expert"]


@pytest.fixture
def settings() -> Settings:
    return memory_settings()


def answering(**by_title: Any) -> ScriptedProvider:
    """The default answers, with some schemas answered by a function of the call or a fixed value."""

    def answer(call: Call) -> str | dict[str, Any]:
        chosen = by_title.get(call.title or "prose")
        if chosen is None:
            return default_answer(call)
        answer: str | dict[str, Any] = chosen(call) if callable(chosen) else chosen
        return answer

    return ScriptedProvider(answer)


# ---- adversarial -------------------------------------------------------------------------------


async def test_adversarial_debaters_who_all_claim_the_same_side_do_not_end_the_debate(settings: Settings) -> None:
    """Issue 9: every debater said `against`, consensus was 1.0 and the debate stopped after round 1."""
    provider = answering(stance={"position": "against", "confidence": 0.9})
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=3, consensus_threshold=0.5)
    rec = panel.final_recommendation
    assert rec is not None and rec.verdict is not None
    assert len(panel.rounds) == 3, "openings and two rounds of rebuttals, whatever the agreement"
    for message in expert_messages(panel):
        if message.agent_id in rec.verdict["proponents"]:
            assert message.stance is None, "a proponent's stance for the other side is a bad stance"
            assert message.metadata["stance_outcome"] == "failed"
        else:
            assert message.stance is not None and message.stance.position == "against"


async def test_adversarial_stance_schemas_offer_each_debater_only_its_own_side(settings: Settings) -> None:
    provider = ScriptedProvider()
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=2)
    rec = panel.final_recommendation
    assert rec is not None and rec.verdict is not None
    names = {m.agent_id: m.agent_name for m in panel.members}
    pros = {names[a] for a in rec.verdict["proponents"]}
    offered = {
        (c.speaker, tuple(c.schema["properties"]["position"]["enum"]))
        for c in provider.calls
        if c.title == "stance" and c.schema
    }
    assert offered == {(n, ("for",) if n in pros else ("against",)) for n in names.values()}


async def test_an_undecided_judge_gives_an_undecided_recommendation_that_says_what_would_settle_it(
    settings: Settings,
) -> None:
    """Issue 9: the verdict said `proponents` when nothing was decided, and the recommendation ignored it."""

    def undecided(call: Call) -> dict[str, Any]:
        answer = default_answer(call)
        assert isinstance(answer, dict)
        return answer | {"verdict": "undecided", "settle": "A head-to-head bench test would settle it."}

    async with harness(settings, answering(verdict=undecided)) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=2)
    rec = panel.final_recommendation
    assert rec is not None and rec.verdict is not None
    assert rec.verdict["winner"] == "undecided"
    assert rec.recommendation.startswith("Undecided") and "head-to-head bench test" in rec.recommendation
    assert rec.dissent == ()


async def test_a_verdict_citing_an_argument_never_made_is_refused(settings: Settings) -> None:
    def invented(call: Call) -> dict[str, Any]:
        answer = default_answer(call)
        assert isinstance(answer, dict)
        return answer | {"reasons": [{"cites": "r9:nobody", "why": "It was never said."}]}

    provider = answering(verdict=invented)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=2)
    assert [c.title for c in provider.calls].count("verdict") == 2, "the answer and its repair"
    assert panel.status.value == "failed" or (
        panel.final_recommendation is not None and panel.final_recommendation.degraded
    ), "never a verdict resting on an argument nobody made"


async def test_an_adversarial_panel_needs_two_debaters(settings: Settings) -> None:
    async with harness(settings, ScriptedProvider()) as container:
        with pytest.raises(InvalidInput, match="at least 2 experts"):
            await run_panel(container, "adversarial", ["fda_expert"], max_rounds=1)


# ---- what a discussion adopts: structured, open, socratic, delphi ------------------------------

DISCUSSIONS = ("structured", "open", "socratic", "delphi")


def stance_for(positions: dict[str, tuple[int, list[int]]]) -> Any:
    """Each named expert takes the option at the given index, with the ranking given as indices."""

    def answer(call: Call) -> str | dict[str, Any]:
        reply = default_answer(call)
        assert isinstance(reply, dict) and call.schema is not None
        options = call.schema["properties"]["position"]["enum"]
        index, ranking = positions[call.speaker]
        reply["position"] = options[index]
        if "ranking" in reply:
            reply["ranking"] = [options[i] for i in ranking]
        reply["confidence"] = 0.8
        return reply

    return answer


@pytest.mark.parametrize("panel_type", DISCUSSIONS)
async def test_a_canned_dissent_is_never_reported_at_full_agreement(settings: Settings, panel_type: str) -> None:
    """Issue 9: "One expert considers the timeline too optimistic." came with every recommendation."""

    def synthesis(call: Call) -> dict[str, Any]:
        return {
            "recommendation": "Go with Option A.",
            "rationale": "Broad support.",
            "agreement_points": ["A is safest"],
            "dissent": ["One expert considers the timeline too optimistic."],
        }

    async with harness(settings, answering(synthesis=synthesis)) as container:
        panel, _ = await run_panel(container, panel_type, FOUR[:3], max_rounds=2)
    rec = panel.final_recommendation
    assert rec is not None and rec.adopted == "Option A"
    assert rec.dissent == ()
    assert "Supported by" in rec.rationale and "Dr. Maya Chen" in rec.rationale


@pytest.mark.parametrize("panel_type", DISCUSSIONS)
async def test_a_tie_is_broken_by_the_rankings_and_the_other_side_dissents(settings: Settings, panel_type: str) -> None:
    positions = {
        "Dr. Maya Chen": (0, [0, 1, 2]),  # A first, B second
        "Dr. Samuel Okafor": (1, [1, 2, 0]),  # B first, A last: B has the higher Borda count
    }
    if panel_type == "delphi":
        positions = {name: (index, [index, 1 - index]) for name, (index, _) in positions.items()}
    async with harness(settings, answering(stance=stance_for(positions))) as container:
        panel, _ = await run_panel(container, panel_type, FOUR[:2], max_rounds=1)
    rec = panel.final_recommendation
    assert rec is not None
    if panel_type == "delphi":  # two options, rankings mirror each other: the framing order decides
        assert rec.adopted == "Option A" and len(rec.dissent) == 1
        assert rec.dissent[0].startswith("Dr. Samuel Okafor prefers 'Option B'")
    else:
        assert rec.adopted == "Option B"
        assert len(rec.dissent) == 1 and rec.dissent[0].startswith(
            "Dr. Maya Chen prefers 'Option A' (confidence 0.80): "
        )
    assert "Supported by" in rec.rationale


@pytest.mark.parametrize("panel_type", DISCUSSIONS)
async def test_when_every_member_abstains_nothing_is_adopted_and_no_one_dissents(
    settings: Settings, panel_type: str
) -> None:
    async with harness(settings, answering(stance="I would rather not say.")) as container:
        panel, _ = await run_panel(container, panel_type, FOUR[:3], max_rounds=2)
    rec = panel.final_recommendation
    assert panel.status.value == "completed" and rec is not None
    assert rec.adopted is None and rec.dissent == () and rec.estimate is None
    assert rec.rationale == "Broad support."


@pytest.mark.parametrize("panel_type", DISCUSSIONS)
async def test_a_panel_of_one_member_adopts_its_position_without_dissent(settings: Settings, panel_type: str) -> None:
    async with harness(settings, ScriptedProvider()) as container:
        panel, _ = await run_panel(container, panel_type, ["clinical_expert"], max_rounds=2)
    rec = panel.final_recommendation
    assert panel.status.value == "completed" and rec is not None
    assert rec.adopted == "Option A" and rec.dissent == ()
    assert rec.rationale == "Broad support. Supported by Dr. Samuel Okafor."


# ---- delphi ------------------------------------------------------------------------------------


async def test_delphi_asks_for_the_quantity_the_question_asks_in_its_unit_and_range(settings: Settings) -> None:
    """Issue 9: "How many months…?" was estimated as "Probability (0-100) that the preferred option succeeds"."""

    def months(call: Call) -> dict[str, Any]:
        return {
            "options": ["Option A", "Option B"],
            "estimate_question": "Months until the study completes",
            "unit": "months",
            "min": 6,
            "max": 48,
        }

    def estimate(call: Call) -> str | dict[str, Any]:
        reply = default_answer(call)
        assert isinstance(reply, dict) and call.schema is not None
        assert call.schema["properties"]["estimate"] | {} == {"type": "number", "minimum": 6.0, "maximum": 48.0}
        return reply | {"estimate": 18 + 3 * len(call.speaker) % 7}

    provider = answering(delphi_frame=months, stance=estimate)
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "delphi", FOUR[:3], max_rounds=2)
    rec = panel.final_recommendation
    assert rec is not None and rec.estimate is not None
    assert (rec.estimate["question"], rec.estimate["unit"]) == ("Months until the study completes", "months")
    asked = [c for c in provider.calls if c.title is None and "Delphi round" in c.prompt]
    assert asked and all("Months until the study completes (in months, from 6 to 48)" in c.prompt for c in asked)
    assert rec.recommendation.startswith(f"Estimate: {rec.estimate['median']:g} months")


async def test_delphi_refuses_a_range_whose_minimum_is_not_below_its_maximum(settings: Settings) -> None:
    def backwards(call: Call) -> dict[str, Any]:
        return {"options": ["A", "B"], "estimate_question": "Months?", "unit": "months", "min": 48, "max": 6}

    provider = answering(delphi_frame=backwards)
    async with harness(settings, provider) as container:
        await run_panel(container, "delphi", FOUR[:3], max_rounds=1)
    assert [c.title for c in provider.calls].count("delphi_frame") == 2, "the answer and its repair"
    repair = provider.calls[1].messages[-1].content
    assert "'min' must be less than 'max'" in repair


async def test_delphi_dissent_never_lists_a_supporter_of_the_adopted_option(settings: Settings) -> None:
    """Issue 9: Delphi's dissent listed an expert who supported the adopted option."""
    positions = {"Dr. Maya Chen": (0, [0, 1]), "Dr. Samuel Okafor": (0, [0, 1]), "Laura Martinez": (1, [1, 0])}
    async with harness(settings, answering(stance=stance_for(positions))) as container:
        panel, _ = await run_panel(container, "delphi", FOUR[:3], max_rounds=1)
    rec = panel.final_recommendation
    assert rec is not None and rec.adopted == "Option A"
    assert [d.split(" prefers")[0] for d in rec.dissent] == ["Laura Martinez"]


async def test_a_synthesis_that_falls_back_recommends_the_adopted_option(settings: Settings) -> None:
    def weighted(call: Call) -> str | dict[str, Any]:
        reply = default_answer(call)
        assert isinstance(reply, dict) and call.schema is not None
        options = call.schema["properties"]["position"]["enum"]
        sure = call.speaker == "Laura Martinez"  # one confident expert against two unsure ones
        return reply | {
            "position": options[1] if sure else options[0],
            "ranking": [options[1], options[0], options[2]] if sure else list(options),
            "confidence": 0.9 if sure else 0.3,
        }

    provider = answering(stance=weighted, synthesis="I cannot summarise this in JSON.")
    async with harness(settings, provider) as container:
        panel, _ = await run_panel(container, "structured", FOUR[:3], max_rounds=1)
    rec = panel.final_recommendation
    assert rec is not None and rec.adopted == "Option B" and rec.degraded
    assert rec.recommendation.startswith("Option B (the final position of 1 of 3 experts")
    assert [d.split(" prefers")[0] for d in rec.dissent] == ["Dr. Maya Chen", "Dr. Samuel Okafor"]
