"""The decision record of a panel: fallbacks and the degraded flag, from a panel as the API returns it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ask_panel.api.reports.formats import render_report
from ask_panel.api.reports.record import build_record
from ask_panel.api.schemas import PanelResponse

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FAILED_STANCE = (
    "no readable answer after a repair call (no JSON object in the answer): "
    "the turn is kept without a stance and not counted in the consensus"
)


def message(agent_id: str, name: str, second: int, outcome: str, stance: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "agent_name": name,
        "content": f"{name} speaks.",
        "timestamp": f"2026-11-30T12:00:{second:02d}+00:00",
        "round": 1,
        "role": "expert",
        "stance": stance,
        "metadata": {"model": "gpt-4o-mini", "provider": "openai", "stance_outcome": outcome},
    }


def degraded_panel() -> PanelResponse:
    stance = {"position": "File a De Novo", "confidence": 0.7, "ranking": [], "endorses": None, "estimate": None}
    return PanelResponse.model_validate(
        {
            "panel_id": "00000000-0000-4000-8000-000000000001",
            "tenant_id": "11111111-1111-1111-1111-111111111111",
            "query": "510(k) or De Novo?",
            "panel_type": "structured",
            "status": "completed",
            "configuration": {"max_rounds": 1},
            "members": [
                {"agent_id": "fda_expert", "agent_name": "Dr. Maya Chen", "agent_role": "FDA strategist"},
                {"agent_id": "clinical_expert", "agent_name": "Dr. Samuel Okafor", "agent_role": "Clinical director"},
            ],
            "experts": [
                {
                    "agent_id": "fda_expert",
                    "name": "Dr. Maya Chen",
                    "role": "FDA strategist",
                    "expertise": [],
                    "instructions": "Judge the FDA path.",
                    "model": "gpt-4o-mini",
                    "provider": "openai",
                },
            ],
            "member_selection": "requested",
            "discussions": [
                {
                    "round_number": 1,
                    "messages": [
                        message("fda_expert", "Dr. Maya Chen", 1, "repaired", stance),
                        message("clinical_expert", "Dr. Samuel Okafor", 3, "failed", None),
                    ],
                    "consensus": {"level": 0.5, "confidence": 0.35, "method": "m/v1", "components": {"agreement": 0.5}},
                    "feedback": None,
                }
            ],
            "consensus": {"level": 0.5, "confidence": 0.35, "method": "m/v1", "components": {"agreement": 0.5}},
            "final_recommendation": {
                "recommendation": "File a De Novo.",
                "rationale": "Only one stance could be read.",
                "agreement_points": [],
                "dissent": ["Dr. Samuel Okafor gave no readable position."],
                "degraded": True,
                "decided_by": "moderator",
                "verdict": None,
                "fallbacks": [{"step": "r1:clinical_expert", "reason": FAILED_STANCE}],
            },
            "usage": {"input_tokens": 100, "output_tokens": 50, "llm_calls": 5, "cost_usd": 0.0123},
            "error": None,
            "total_messages": 2,
            "estimated_duration": 10,
            "duration_seconds": 4.0,
            "created_at": "2026-11-30T12:00:00+00:00",
            "updated_at": "2026-11-30T12:00:04+00:00",
            "started_at": "2026-11-30T12:00:00+00:00",
            "completed_at": "2026-11-30T12:00:04+00:00",
            "last_event_id": 9,
        }
    )


def test_the_record_lists_the_recommendations_fallbacks_and_each_turns_stance_outcome() -> None:
    record = build_record(degraded_panel(), generated_at=NOW)
    assert record.degraded
    assert [(f.step, f.reason) for f in record.fallbacks] == [("r1:clinical_expert", FAILED_STANCE)]
    assert [t.stance_outcome for t in record.turns] == ["repaired", "failed"], "a repair is no fallback"
    assert [t.seconds_from_start for t in record.turns] == [1.0, 3.0]
    assert record.experts[0].models == ["openai/gpt-4o-mini"]
    assert record.experts[0].configured_model == "openai/gpt-4o-mini"  # from the panel's snapshot
    assert record.experts[0].instructions == "Judge the FDA path."
    assert record.experts[1].configured_model is None


def test_every_format_says_the_panel_is_degraded_and_why() -> None:
    panel = degraded_panel()
    markdown = render_report(panel, "md", now=NOW)
    html = render_report(panel, "html", now=NOW)
    assert "(degraded)" in markdown and "Degraded: **yes**" in markdown
    assert "No readable stance (kept without one)" in markdown and "No readable stance" in html
    assert "| r1:clinical\\_expert | no readable answer after a repair call" in markdown
    assert "<td><code>r1:clinical_expert</code></td><td>no readable answer after a repair call" in html
    assert 'class="badge degraded"' in html
    assert '"degraded": true' in render_report(panel, "json", now=NOW)
    assert "0.0123" in markdown and "0.0123" in html


def test_a_debate_s_record_heads_its_points_as_the_judge_s_grounds_and_the_other_side() -> None:
    panel = degraded_panel()
    assert panel.final_recommendation is not None
    debate = panel.model_copy(
        update={"final_recommendation": replace(panel.final_recommendation, verdict={"winner": "opponents"})}
    )
    markdown = render_report(debate, "md", now=NOW)
    assert "### Arguments the judge relied on" in markdown and "### The other side" in markdown
    assert "### Agreement" not in markdown and "### Dissent" not in markdown
    assert "### Agreement" in render_report(degraded_panel(), "md", now=NOW), "a panel without a verdict keeps them"
