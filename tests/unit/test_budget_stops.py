"""A budget reached during a run: the panel stops at a step boundary, never mid-write.

After round 1 the discussion wraps up: no further round or turn is taken, the last decision (the
synthesis, the verdict) takes its deterministic fallback without a model call, and the panel
completes degraded, saying which budget was reached and what was skipped. Before round 1 has ended
there is nothing to build on: the panel fails with `budget_exceeded`. The tenant's daily and monthly
budgets hold during a run the same way.

Every scripted call here uses what the estimate expects of a call (1,500 tokens in, 400 out), so a
budget in tokens is a number of calls, from the first call on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ask_panel.application.discussion import UnitOfWorkCheckpoints
from ask_panel.bootstrap import bootstrap
from ask_panel.config import ModelPrice, Settings
from ask_panel.domain.checkpoint import StepKey, StepKind
from ask_panel.domain.errors import StorageUnavailable
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.llm import TokenUsage
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.status import PanelStatus
from ask_panel.infrastructure.memory.store import MemoryStore
from ask_panel.infrastructure.memory.uow import MemoryUnitOfWorkFactory
from tests.harness import TENANT, create, finished, harness, load, memory_settings, run_panel, scripted, types
from tests.scripted import Call, ScriptedProvider, default_answer

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]
FOUR = [*THREE, "quality_expert"]
USAGE = TokenUsage(1_500, 400)  # every call's tokens, as the estimate expects them
PER_CALL = 1_900
# The scripted model priced: 10 USD per million tokens in, 30 out: 0.027 USD per call.
PRICED = {"scripted": ModelPrice(input=10, output=30)}
CALL_USD = 0.027

# The model calls each panel type makes before its round 2 (three experts; four for a debate):
# structured and delphi: the frame, then a turn (answer + stance) per expert;
# socratic: the frame, then a question and a turn per expert; open: the frame, then per turn the
# moderator's choice of speaker and the turn; adversarial: the proposition, then an opening per debater.
BEFORE_ROUND_2 = {"structured": 7, "delphi": 7, "socratic": 10, "open": 10, "adversarial": 9}
LAST_STEP = {"structured": "synthesis", "delphi": "synthesis", "socratic": "synthesis", "open": "synthesis"}
LAST_STEP["adversarial"] = "verdict"


def disagreeing(call: Call) -> str | dict[str, Any]:
    """Experts who keep to different options, so no panel stops early on consensus or stability."""
    answer = default_answer(call)
    if call.title == "stance" and isinstance(answer, dict):
        options = call.schema["properties"]["position"]["enum"] if call.schema else []
        pick = options[sum(map(ord, call.speaker)) % len(options)]
        answer["position"] = pick
        if "ranking" in answer:
            answer["ranking"] = [pick, *[o for o in options if o != pick]]
        if "estimate" in answer:
            answer["estimate"] = 10 + 40 * options.index(pick)
    return answer


def agents_for(panel_type: str) -> list[str]:
    return FOUR if panel_type == "adversarial" else THREE


def assert_gapless(events: list[StoredEvent]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def assert_whole_rounds(panel: Panel, events: list[StoredEvent]) -> None:
    """Every round begun was ended, and every turn stored has its event (nothing half-written)."""
    kinds = types(events)
    assert kinds.count("round_started") == kinds.count("round_complete") == len(panel.rounds)
    assert kinds.count("expert_speaking") == len(panel.messages())


def reasons(panel: Panel) -> dict[str, str]:
    assert panel.status is PanelStatus.COMPLETED, panel.error
    assert panel.final_recommendation is not None and panel.final_recommendation.degraded
    return {f.step: f.reason for f in panel.final_recommendation.fallbacks}


@pytest.mark.parametrize("panel_type", sorted(BEFORE_ROUND_2))
async def test_a_budget_reached_after_round_1_completes_the_panel_degraded_without_another_call(
    panel_type: str,
) -> None:
    calls = BEFORE_ROUND_2[panel_type]
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        # What is left after round 1 pays for one call: round 2 does not fit. The last decision would (one call,
        # to the cap), but once the discussion wraps up it is not asked for: it falls back without a call.
        panel, events = await run_panel(
            container, panel_type, agents_for(panel_type), max_rounds=3, max_tokens=(calls + 1) * PER_CALL
        )

    step = LAST_STEP[panel_type]
    assert reasons(panel).keys() == {step}, "the one fallback is the last decision, which nobody was asked"
    reason = reasons(panel)[step]
    assert reason.startswith(f"the panel's token budget was reached ({calls * PER_CALL:,} of max_tokens ")
    assert "the discussion ended after round 1" in reason and f"'s {step} was not asked for" in reason
    assert len(provider.calls) == calls, "no model call after the budget was reached"
    assert [r.round_number for r in panel.rounds] == [1]
    assert (
        panel.usage.llm_calls == calls
        and panel.usage.input_tokens + panel.usage.output_tokens <= (calls + 1) * PER_CALL
    )
    assert_whole_rounds(panel, events)
    assert_gapless(events)
    kinds = types(events)
    assert kinds[-1] == "panel_complete" and "error" not in kinds
    assert panel.failure_reason is None and panel.error is None
    assert panel.checkpoint.answers[StepKey.decision(step)].outcome == "skipped"


async def test_a_budget_stop_is_logged_as_information_not_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A budget reached is how its owner meant the run to end: `ask --local` shows warnings in the terminal."""
    caplog.set_level(logging.INFO, logger="ask_panel.application.discussion")
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=3, max_tokens=8 * PER_CALL)

    assert "synthesis" in reasons(panel)
    said = [r for r in caplog.records if r.name == "ask_panel.application.discussion"]
    assert [r.levelno for r in said] == [logging.INFO, logging.INFO]  # the discussion wraps up; its synthesis skipped
    assert "wraps up: the panel's token budget was reached" in said[0].getMessage()
    assert "step synthesis of panel" in said[1].getMessage() and "was not asked for" in said[1].getMessage()


async def test_the_structured_fallback_tallies_what_the_experts_said_in_the_rounds_held() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        # Round 2 (6 calls) fits after the 7 of the frame and round 1; round 3 does not.
        panel, events = await run_panel(container, "structured", THREE, max_rounds=3, max_tokens=16 * PER_CALL)

    reason = reasons(panel)["synthesis"]
    assert "the discussion ended after round 2" in reason
    assert reason.endswith("the experts' final positions were tallied instead")
    assert len(provider.calls) == 13 and [r.round_number for r in panel.rounds] == [1, 2]
    outcome = panel.final_recommendation
    assert outcome is not None
    assert outcome.rationale.startswith("The moderator's synthesis was not asked for (the budget was reached)")
    assert "of 3 experts" in outcome.recommendation, "the recommendation is the tally of the final positions"
    assert outcome.adopted is not None
    assert_whole_rounds(panel, events)


async def test_a_debate_stopped_by_its_budget_is_undecided_and_says_the_judge_was_not_asked() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        panel, _ = await run_panel(container, "adversarial", FOUR, max_rounds=3, max_tokens=10 * PER_CALL)

    assert "verdict" in reasons(panel)
    assert not provider.calls_by("judge")
    outcome = panel.final_recommendation
    assert outcome is not None and outcome.verdict is not None
    assert outcome.verdict["winner"] == "undecided" and outcome.dissent == ()
    assert "the budget was reached before the judge was asked" in outcome.verdict["settle"]


async def test_a_delphi_panel_stopped_by_its_budget_reports_the_estimate_of_the_round_it_held() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=3, max_tokens=8 * PER_CALL)

    assert "synthesis" in reasons(panel)
    outcome = panel.final_recommendation
    assert outcome is not None and outcome.estimate is not None
    assert outcome.estimate["n"] == 3 and outcome.estimate["unit"] == "percent"
    assert outcome.recommendation.startswith("Estimate: ")


async def test_a_last_decision_that_does_not_fit_after_every_round_falls_back_the_same_way() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        # The frame and 1 round: 7 calls; the synthesis would be the 8th.
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=1, max_tokens=7 * PER_CALL)

    reason = reasons(panel)["synthesis"]
    assert "the discussion ended after round 1 and the Panel Moderator's synthesis was not asked for" in reason
    assert len(provider.calls) == 7


# What each sequential panel type expects round 2 to call (`begin_round(calls=)`): a debater's turn each,
# one question and turn for the one expert of three a socratic round 2 questions (and its choice), and an
# open panel's choice of speaker and turn for each of its three turns.
ROUND_2_EXPECTED = {"adversarial": 8, "socratic": 4, "open": 9}


@pytest.mark.parametrize("panel_type", sorted(ROUND_2_EXPECTED))
async def test_a_round_that_costs_more_than_expected_stops_at_the_step_that_would_cross_the_budget(
    panel_type: str,
) -> None:
    """From round 2 on, every call costs three times what it did: round 2 was expected to fit and began,
    and the discussion stops at the first step that would go past the budget, the round closed as it stands."""
    before = BEFORE_ROUND_2[panel_type]
    made = 0

    def usage(_call: Call) -> TokenUsage:
        nonlocal made
        made += 1
        return USAGE if made <= before else TokenUsage(4_500, 1_200)

    provider = ScriptedProvider(disagreeing, usage=usage)
    budget = (before + ROUND_2_EXPECTED[panel_type]) * PER_CALL  # round 2 fits, at round 1's cost per call
    async with harness(memory_settings(), provider) as container:
        panel, events = await run_panel(container, panel_type, agents_for(panel_type), max_rounds=3, max_tokens=budget)

    reason = reasons(panel)[LAST_STEP[panel_type]]
    assert "the discussion stopped in round 2 and the " in reason
    assert [r.round_number for r in panel.rounds] == [1, 2]
    assert panel.usage.input_tokens + panel.usage.output_tokens <= budget, "never past the budget"
    assert len(provider.calls) < before + ROUND_2_EXPECTED[panel_type]
    assert_whole_rounds(panel, events)
    assert_gapless(events)


@pytest.mark.parametrize("panel_type", ["socratic", "open"])
@pytest.mark.parametrize("calls_paid", range(4, 13))
async def test_no_question_is_asked_and_no_speaker_chosen_whose_turn_the_budget_cannot_pay_for(
    panel_type: str, calls_paid: int
) -> None:
    """From round 2 on, calls cost more than expected, so the budget runs out within a round: a socratic
    question is asked only if its answer fits as well, an open panel's next speaker chosen only if the
    turn does; no call is paid for whose sequel is never taken."""
    before = BEFORE_ROUND_2[panel_type]
    made = 0

    def usage(_call: Call) -> TokenUsage:
        nonlocal made
        made += 1
        return USAGE if made <= before else TokenUsage(2_000, 600)

    provider = ScriptedProvider(disagreeing, usage=usage)
    async with harness(memory_settings(), provider) as container:
        panel, events = await run_panel(
            container, panel_type, THREE, max_rounds=3, max_tokens=(before + calls_paid) * PER_CALL
        )

    steps = panel.checkpoint
    if panel_type == "socratic":
        questioned = [(k.round, k.agent_id) for k in steps.spoken if k.kind is StepKind.QUESTION]
        answered = [(k.round, k.agent_id) for k in steps.spoken if k.kind is StepKind.ANSWER]
        assert questioned == answered, "every question asked was answered"
    else:
        chosen = [k.turn for k in steps.decisions if k.name == "next"]
        taken = [k.turn for k in steps.spoken if k.kind is StepKind.TURN]
        assert set(chosen) <= set(taken), "every speaker chosen took the floor"
    assert_whole_rounds(panel, events)


@pytest.mark.parametrize("panel_type", sorted(BEFORE_ROUND_2))
@pytest.mark.parametrize("calls_paid", [9, 12, 15])
async def test_a_panel_whose_calls_grow_with_the_discussion_stays_within_its_max_tokens(
    panel_type: str, calls_paid: int
) -> None:
    """Each call carries a longer transcript than the one before (300 more tokens in): the next steps are
    expected at the largest call so far, not at the mean of the smaller earlier ones."""
    made = 0

    def growing(_call: Call) -> TokenUsage:
        nonlocal made
        made += 1
        return TokenUsage(1_500 + 300 * made, 400)

    provider = ScriptedProvider(disagreeing, usage=growing)
    budget = calls_paid * PER_CALL
    async with harness(memory_settings(), provider) as container:
        panel, events = await run_panel(container, panel_type, agents_for(panel_type), max_rounds=3, max_tokens=budget)

    assert panel.status is PanelStatus.COMPLETED or panel.failure_reason == "budget_exceeded"
    assert panel.usage.input_tokens + panel.usage.output_tokens <= budget, "never past the budget"
    assert_gapless(events)


@pytest.mark.parametrize("panel_type", sorted(BEFORE_ROUND_2))
async def test_a_budget_reached_before_round_1_ends_fails_the_panel_as_budget_exceeded(panel_type: str) -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(memory_settings(), provider) as container:
        # The first decision fits; round 1 does not: nothing to build on.
        panel, events = await run_panel(container, panel_type, agents_for(panel_type), max_tokens=2 * PER_CALL)

    assert panel.status is PanelStatus.FAILED and panel.failure_reason == "budget_exceeded"
    assert panel.error is not None and "token budget" in panel.error and "max_tokens 3,800" in panel.error
    assert len(provider.calls) == 1, "round 1 was not begun: it would not have fitted"
    kinds = types(events)
    assert kinds[-1] == "error" and kinds.count("error") == 1 and "panel_complete" not in kinds
    assert "round_started" not in kinds and "expert_speaking" not in kinds
    assert_gapless(events)


# ---- the tenant's budgets during a run -------------------------------------------------------------------


def priced(**overrides: Any) -> Settings:
    return memory_settings(model_prices=PRICED, **overrides)


async def test_a_tenant_daily_budget_reached_mid_panel_wraps_it_up_at_the_next_round() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    # The frame and round 1 cost 7 calls: the tenant's daily budget is spent when round 2 would begin.
    async with harness(priced(tenant_daily_budget_usd=7 * CALL_USD), provider) as container:
        panel, events = await run_panel(container, "structured", THREE, max_rounds=3)
        usage = await container.usage.spent(TENANT)

    reason = reasons(panel)["synthesis"]
    assert reason.startswith("the tenant's daily budget was reached (0.1890 of 0.1890 USD spent today)")
    assert "the discussion ended after round 1" in reason
    assert len(provider.calls) == 7
    assert usage.today_usd == pytest.approx(7 * CALL_USD), "the ledger holds every call paid for"
    assert_whole_rounds(panel, events)
    assert_gapless(events)


async def test_a_tenant_monthly_budget_spent_before_round_1_fails_the_panel_naming_it() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    async with harness(priced(tenant_monthly_budget_usd=CALL_USD), provider) as container:
        panel, events = await run_panel(container, "structured", THREE)

    assert panel.status is PanelStatus.FAILED and panel.failure_reason == "budget_exceeded"
    assert panel.error == (
        "The panel stopped when its tenant reached its monthly budget: the tenant has spent 0.0270 USD this month "
        "of its monthly budget of 0.0270 USD (budget_exceeded)"
    )
    assert len(provider.calls) == 1
    assert types(events)[-1] == "error"


async def test_a_tenant_budget_is_checked_against_its_ledger_without_a_query_per_model_call() -> None:
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    # The longest refresh interval, so that the count does not depend on how fast this machine runs the panel.
    async with harness(priced(tenant_daily_budget_usd=1.0, tenant_budget_refresh_s=300), provider) as container:
        reads = 0
        spent = container.usage.spent

        async def counted(tenant: Any) -> Any:
            nonlocal reads
            reads += 1
            return await spent(tenant)

        container.usage.spent = counted  # type: ignore[method-assign]
        panel, _ = await run_panel(container, "structured", THREE, max_rounds=3)

    assert panel.status is PanelStatus.COMPLETED and not panel.final_recommendation.degraded  # type: ignore[union-attr]
    assert panel.usage.llm_calls == 20
    # create's and execute's own checks, then the run's one reading for its 20 calls and 3 rounds (the
    # interval's own rule, a reading once it is stale, is TenantMeter's: tests/unit/test_tenant_meter.py).
    assert reads == 3


async def test_two_panels_of_a_tenant_running_at_once_stop_at_a_step_boundary_when_together_they_reach_its_budget() -> (
    None
):
    provider = ScriptedProvider(disagreeing, delay_s=0.005, usage=USAGE)
    # One panel alone costs 20 calls, which the budget pays for; two do not fit. The ledger is read before every step.
    settings = priced(tenant_daily_budget_usd=20 * CALL_USD, tenant_budget_refresh_s=0.000_001)
    async with harness(settings, provider) as container:
        first = await create(container, "structured", THREE, max_rounds=3)
        second = await create(container, "structured", THREE, max_rounds=3)
        await asyncio.gather(container.panels.execute(TENANT, first), container.panels.execute(TENANT, second))
        await asyncio.gather(finished(container, first), finished(container, second))
        panels = [await load(container, first), await load(container, second)]

    stopped = [
        (panel, events)
        for panel, events in panels
        if panel.failure_reason == "budget_exceeded"
        or (panel.final_recommendation is not None and panel.final_recommendation.fallbacks)
    ]
    assert stopped, "together they would have spent 40 calls' worth: they were stopped"
    for panel, events in stopped:
        said = panel.error or reasons(panel)["synthesis"]
        assert "tenant" in said and "daily budget" in said and "of 0.54 USD" in said
        assert_whole_rounds(panel, events)
        assert_gapless(events)
    assert sum(p.usage.llm_calls for p, _ in panels) < 40


# ---- a budget stop and a resumed run -----------------------------------------------------------------


class LostCompletion:
    """Checkpoint writes through `inner`, but the one that would complete the panel fails once, as a
    database fault does; `meanwhile` runs first (what changes before the run is resumed)."""

    def __init__(self, inner: UnitOfWorkCheckpoints, meanwhile: Callable[[], None]) -> None:
        self._inner = inner
        self._meanwhile = meanwhile
        self.lost = 0

    async def write(self, panel: Panel) -> list[StoredEvent]:
        if panel.status is PanelStatus.COMPLETED and not self.lost:
            self.lost += 1
            self._meanwhile()
            raise StorageUnavailable("The database is unavailable")
        return await self._inner.write(panel)


@pytest.mark.parametrize("panel_type", sorted(BEFORE_ROUND_2))
async def test_a_run_resumed_after_a_budget_stop_wraps_up_where_the_stop_did_even_on_a_new_day(
    panel_type: str,
) -> None:
    """The stop is in the checkpoint: the run resumed after a database fault (the completing write was
    lost) does not look at the budget again. Here the UTC day turns meanwhile, so the tenant's daily
    budget would pay for more rounds; the resumed run still takes none, and says what the first said."""
    calls = BEFORE_ROUND_2[panel_type]
    provider = ScriptedProvider(disagreeing, usage=USAGE)
    store = MemoryStore()
    uow = MemoryUnitOfWorkFactory(store)
    settings = priced(tenant_daily_budget_usd=calls * CALL_USD)
    tomorrow = utcnow() + timedelta(days=1)

    def the_day_turns() -> None:  # the ledger is read as of the next UTC day: nothing spent on it yet
        container.usage._clock = lambda: tomorrow

    checkpoints = LostCompletion(UnitOfWorkCheckpoints(uow), the_day_turns)
    container = bootstrap(settings, uow=uow, checkpoints=checkpoints, providers=scripted(provider))
    await container.start()
    try:
        panel_id = await create(container, panel_type, agents_for(panel_type), max_rounds=3)
        await container.panels.execute(TENANT, panel_id)
        await finished(container, panel_id)
        panel, events = await load(container, panel_id)
    finally:
        await container.stop()

    assert checkpoints.lost == 1 and panel.attempt == 2, "the completing write was lost and the run resumed"
    reason = reasons(panel)[LAST_STEP[panel_type]]
    assert reason.startswith("the tenant's daily budget was reached") and "ended after round 1" in reason
    assert len(provider.calls) == calls, "no model call after the stop, before or after the resume"
    assert [r.round_number for r in panel.rounds] == [1]
    assert_whole_rounds(panel, events)
    assert_gapless(events)
