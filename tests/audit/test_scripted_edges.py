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
