"""The CLI's live view of a panel's outcome: a degraded panel says so and names the steps that fell back."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from ask_panel.cli.live import LiveView
from ask_panel.client import Event, EventType
from ask_panel.domain.values import Fallback, Recommendation
from ask_panel.infrastructure.serialization.events import event_of
from ask_panel.infrastructure.serialization.values import recommendation_json

FRAME_REASON = "no readable answer after a repair call (no JSON object in the answer): a neutral option set was used"


def completed(recommendation: Recommendation) -> Event:
    data: dict[str, Any] = {
        "panel_id": "00000000-0000-4000-8000-000000000001",
        "recommendation": recommendation_json(recommendation),
        "consensus": 0.5,
        "confidence": 0.4,
        "duration": 3.0,
        "usage": {"input_tokens": 1, "output_tokens": 1, "llm_calls": 2, "cost_usd": 0.0},
    }
    return Event(9, EventType.PANEL_COMPLETE, data, event_of("panel_complete", data))


def shown(event: Event) -> str:
    out = io.StringIO()
    view = LiveView(Console(file=out, width=200, color_system=None, force_terminal=False))
    view.show(event)
    return out.getvalue()


def test_a_degraded_outcome_names_each_step_that_fell_back_and_why() -> None:
    outcome = Recommendation(
        "Go ahead as proposed.",
        "Tallied.",
        (),
        (),
        degraded=True,
        decided_by="moderator",
        fallbacks=(Fallback("frame", FRAME_REASON), Fallback("synthesis", "the positions were tallied")),
    )
    text = shown(completed(outcome))
    assert "Degraded: these steps fell back" in text and "degraded" in text
    assert f"• frame: {FRAME_REASON}" in text
    assert "• synthesis: the positions were tallied" in text


def test_an_outcome_without_fallbacks_lists_none() -> None:
    outcome = Recommendation("Go.", "All read.", (), (), degraded=False, decided_by="moderator")
    text = shown(completed(outcome))
    assert "fell back" not in text and "degraded" not in text


def test_a_consensus_line_that_wraps_stays_indented_and_no_line_runs_past_the_terminal() -> None:
    data: dict[str, Any] = {
        "round": 1,
        "level": 0.6667,
        "confidence": 0.78,
        "method": "agreement+concordance+spread/v1",
        "components": {"agreement": 0.6, "concordance": 0.78, "spread": 0.5},
    }
    event = Event(6, EventType.CONSENSUS_UPDATE, data, event_of("consensus_update", data))
    out = io.StringIO()
    LiveView(Console(file=out, width=80, color_system=None, force_terminal=False)).show(event)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 2, "at 80 columns the line wraps"
    assert all(line.startswith("  ") and len(line) <= 80 for line in lines), lines


def test_a_long_dissent_wraps_under_its_own_text() -> None:
    dissent = "Dr. Maya Chen prefers 'Launch the US first' " + "because the notified body queue is long " * 4
    outcome = Recommendation("Go.", "Most agree.", (), (dissent.strip(),), degraded=False, decided_by="moderator")
    out = io.StringIO()
    LiveView(Console(file=out, width=60, color_system=None, force_terminal=False)).show(completed(outcome))
    lines = out.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if "• Dr. Maya Chen" in line)
    continued = [line for line in lines[first + 1 :] if "notified" in line or "queue" in line]
    assert lines[first].startswith("│   • Dr. Maya Chen")
    assert continued and all(line.startswith("│     ") for line in continued), lines


def round_complete(number: int, feedback: dict[str, Any]) -> Event:
    data: dict[str, Any] = {"round": number, "messages": 3, "feedback": feedback}
    return Event(10 + number, EventType.ROUND_COMPLETE, data, event_of("round_complete", data))


def test_a_debate_s_proposition_is_shown_once_in_words_and_wraps_indented() -> None:
    proposition = "We should raise our subscription prices by 10% this quarter, starting with new customers."
    out = io.StringIO()
    view = LiveView(Console(file=out, width=60, color_system=None, force_terminal=False))
    view.show(round_complete(1, {"proposition": proposition}))
    view.show(round_complete(2, {"proposition": proposition}))
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[0].rstrip() == "  proposition: We should raise our subscription prices by"
    assert "{" not in out.getvalue() and out.getvalue().count("proposition:") == 1
    assert all(line.startswith("  ") and len(line) <= 60 for line in lines), lines


def test_delphi_feedback_is_not_repeated_after_the_facilitator_said_it() -> None:
    delphi = {"distribution": {"n": 2, "median": 48.5, "q1": 43.75, "q3": 53.25}, "unit": "%", "positions": {"a": 2}}
    out = io.StringIO()
    LiveView(Console(file=out, width=60, color_system=None, force_terminal=False)).show(round_complete(2, delphi))
    assert out.getvalue().strip() == ""


def test_a_debate_s_outcome_heads_its_points_as_the_judge_s_grounds_and_the_other_side() -> None:
    outcome = Recommendation(
        "Reject the proposition: run a trial in Germany first.",
        "The opponents made the stronger case.",
        ("Dr. Klaus Weber (opponent, round 2): the notified body would reject the clinical evaluation.",),
        ("Nina Patel (proponent) argued: reference sites sell for us.",),
        degraded=False,
        decided_by="judge",
        verdict={"winner": "opponents", "confidence": 0.7, "proponents": ["commercial_expert"], "opponents": []},
    )
    text = shown(completed(outcome))
    assert "Arguments the judge relied on" in text and "The other side" in text
    assert "Agreement" not in text and "Dissent" not in text, "nobody agreed: the judge ruled"
