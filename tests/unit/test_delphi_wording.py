"""How a Delphi distribution reads: in words when the panelists' estimates do not spread.

A panel where every panelist gives the same number once read "interquartile range 8 to 8 months
(IQR 0)"; it now says "all three panelists estimate 8 months; no spread" in the facilitator's
feedback, in the recommendation's headline and in the fallback synthesis's rationale.
"""

from __future__ import annotations

from typing import Any

from ask_panel.api.reports.record import RecordRecommendation
from ask_panel.domain.consensus import Distribution
from ask_panel.domain.llm import ChatMessage
from ask_panel.domain.strategies.estimates import described, headline
from ask_panel.infrastructure.llm.simulated_context import context_of
from tests.harness import harness, memory_settings, run_panel
from tests.scripted import Call, ScriptedProvider, default_answer

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]


def in_months(call: Call) -> str | dict[str, Any]:
    """Every panelist estimates 8 months (the default scripted answers, with a months frame)."""
    answer = default_answer(call)
    if call.title == "delphi_frame" and isinstance(answer, dict):
        answer |= {"estimate_question": "How many months to clearance?", "unit": "months", "min": 1, "max": 48}
    if call.title == "stance" and isinstance(answer, dict) and "estimate" in answer:
        answer["estimate"] = 8
    return answer


async def test_a_panel_that_agrees_exactly_says_so_in_words_not_as_a_zero_iqr() -> None:
    async with harness(memory_settings(), ScriptedProvider(in_months)) as container:
        panel, _ = await run_panel(container, "delphi", THREE, max_rounds=2)
    feedback = [m.content for m in panel.messages() if m.role == "facilitator"]
    assert feedback and all("all three panelists estimate 8 months; no spread" in f for f in feedback), feedback
    rec = panel.final_recommendation
    assert rec is not None
    assert rec.recommendation.startswith("Estimate: 8 months (all three panelists estimate 8 months; no spread).")
    for text in [*feedback, rec.recommendation]:
        assert "IQR 0" not in text and "8 to 8" not in text and "interquartile range" not in text, text
    assert rec.estimate is not None and rec.estimate["iqr"] == 0  # the JSON keeps its numbers


def test_a_spread_reads_as_median_and_interquartile_range() -> None:
    spread = Distribution.of([6, 8, 12, 14])
    assert spread is not None
    assert (
        described(spread, "months")
        == "median 10 months, interquartile range 7.5 to 12.5 months (IQR 5) over 4 panelists"
    )
    assert headline(spread, "months") == "Estimate: 10 months (interquartile range 7.5 to 12.5 months, 4 panelists)."


def test_equal_quartiles_with_outliers_say_the_middle_half_agrees_and_give_the_range() -> None:
    middle = Distribution.of([2, 8, 8, 8, 20])
    assert middle is not None and middle.q1 == middle.q3 == 8
    assert described(middle, "months") == (
        "median 8 months; the middle half of the 5 panelists all estimate 8 months "
        "(estimates range from 2 to 20 months)"
    )
    assert "all 5 panelists" not in headline(middle, "months")


def test_a_single_panelist_is_not_called_a_consensus() -> None:
    alone = Distribution.of([8])
    assert alone is not None
    assert described(alone, "months") == "one panelist estimates 8 months; no spread to report"


def test_the_simulated_model_reads_the_groups_estimate_from_the_no_spread_wording() -> None:
    feedback = "Anonymous group feedback: all three panelists estimate 8 months; no spread; positions: A: 3"
    ctx = context_of([ChatMessage("user", f"Delphi round 2. Question: How many months?\n{feedback}")])
    assert ctx.median == 8
    spread = "Anonymous group feedback: median 13 months, interquartile range 10.5 to 16.5 months (IQR 6)"
    assert context_of([ChatMessage("user", f"Delphi round 2. Question: How many months?\n{spread}")]).median == 13


def test_the_reports_estimate_line_says_when_there_is_no_spread() -> None:
    def line(**estimate: Any) -> str | None:
        rec = RecordRecommendation(
            recommendation="r",
            rationale="r",
            agreement_points=[],
            dissent=[],
            decided_by="facilitator",
            verdict=None,
            estimate={"unit": "months", **estimate},
        )
        return rec.estimate_summary

    assert line(n=5, median=14, q1=12, q3=18, iqr=6) == "14 months (IQR 12-18, 5 panelists)"
    assert line(n=3, median=8, q1=8, q3=8, iqr=0) == "8 months (all 3 panelists agree; no spread)"
    assert line(n=5, median=8, q1=8, q3=8, iqr=0) == (
        "8 months (the middle half of the 5 panelists agree; no interquartile spread)"
    )
