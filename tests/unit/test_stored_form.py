"""The stored form of panels and events: what the current release wrote still loads, and is written the same way."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ask_panel.domain.checkpoint import AnswerNote, StepKey
from ask_panel.domain.events import (
    ConsensusUpdate,
    ExpertFailed,
    ExpertSpeaking,
    PanelCancelled,
    PanelComplete,
    PanelEvent,
    PanelFailed,
    PanelStarted,
    RoundComplete,
    RoundStarted,
)
from ask_panel.domain.ids import PanelId
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus, Member, Message, Recommendation, Stance, Usage
from ask_panel.infrastructure.serialization.events import event_data
from ask_panel.infrastructure.serialization.panels import PanelRow, panel_body, panel_of

WHEN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PANEL = "5b0f3c52-7f44-4c1e-9f1e-0c7d5b7f2a10"

# A body as the release before the typed checkpoint stored it: an open panel, interrupted in round 1.
STORED_BODY: dict[str, Any] = {
    "configuration": {
        "max_rounds": 2,
        "consensus_threshold": 0.8,
        "seed": 11,
        "model": None,
        "temperature": None,
        "max_turns": 4,
        "proposition": None,
        "shuffle_order": True,
        "stability_tolerance": 0.1,
    },
    "members": [
        {"agent_id": "fda_expert", "agent_name": "Dr. Maya Chen", "agent_role": "FDA"},
        {"agent_id": "clinical_expert", "agent_name": "Dr. Samuel Okafor", "agent_role": "Clinical"},
    ],
    "discussions": [
        {
            "round_number": 1,
            "messages": [
                {
                    "key": "t0:fda_expert",
                    "agent_id": "fda_expert",
                    "agent_name": "Dr. Maya Chen",
                    "content": "A 510(k) with the predicate.",
                    "timestamp": "2026-11-25T10:00:00+00:00",
                    "round": 1,
                    "role": "expert",
                    "stance": {
                        "position": "A",
                        "confidence": 0.8,
                        "ranking": ["A", "B"],
                        "endorses": None,
                        "estimate": None,
                    },
                    "metadata": {"model": "simulated", "input_tokens": 10},
                }
            ],
            "consensus": None,
            "feedback": None,
        }
    ],
    "consensus": None,
    "final_recommendation": None,
    "usage": {"input_tokens": 30, "output_tokens": 12, "llm_calls": 3, "cost_usd": 0.0},
    "estimated_duration": 48,
    "selection": "requested",
    "started_at": "2026-11-25T10:00:00+00:00",
    "completed_at": None,
    "steps": {
        "decisions": {"frame": {"options": ["A", "B"]}, "t1:next": {"next_speaker": "clinical_expert", "reason": ""}},
        "markers": ["round:1:start"],
        "failures": {"clinical_expert": ["t1:clinical_expert"]},
        "answers": {
            "frame": {"outcome": "parsed", "calls": 1},
            "t0:fda_expert": {"outcome": "repaired", "calls": 2, "error": "'ranking' must order every option"},
        },
    },
}


def row(body: dict[str, Any]) -> PanelRow:
    return PanelRow(
        PANEL, "11111111-1111-1111-1111-111111111111", "Q?", "open", "in_progress", None, WHEN, WHEN, 1, 4, body
    )


def test_a_panel_stored_by_the_earlier_release_loads_with_its_checkpoint() -> None:
    panel = panel_of(row(copy.deepcopy(STORED_BODY)))
    assert panel.status is PanelStatus.IN_PROGRESS and panel.panel_type is PanelType.OPEN
    assert panel.configuration.max_turns == 4 and panel.started_at == WHEN
    said = panel.checkpoint.message(StepKey.open_turn(0, "fda_expert"))
    assert said is panel.rounds[0].messages[0] and said.stance == Stance("A", 0.8, ("A", "B"))
    assert panel.checkpoint.speaker_of_turn(0) == "fda_expert"
    assert panel.checkpoint.decision(StepKey.decision("next", turn=1)) == {
        "next_speaker": "clinical_expert",
        "reason": "",
    }
    assert panel.checkpoint.passed(StepKey.round_start(1))
    assert panel.checkpoint.failed("clinical_expert", StepKey.open_turn(1, "clinical_expert"))
    assert panel.checkpoint.answers[StepKey.open_turn(0, "fda_expert")] == AnswerNote(
        "repaired", 2, "'ranking' must order every option"
    )


def test_it_is_written_back_in_the_same_shape() -> None:
    written = panel_body(panel_of(row(copy.deepcopy(STORED_BODY))))
    assert written.pop("steps") == {"version": 1, **STORED_BODY["steps"]}
    assert written == {k: v for k, v in STORED_BODY.items() if k != "steps"}


def test_a_step_that_fell_back_keeps_its_reason_in_the_stored_checkpoint() -> None:
    panel = panel_of(row(copy.deepcopy(STORED_BODY)))
    note = AnswerNote("failed", 2, "no JSON object in the answer", "a neutral option set was used")
    panel.checkpoint.record_answer(StepKey.decision("frame"), note)
    written = panel_body(panel)
    assert written["steps"]["answers"]["frame"] == {
        "outcome": "failed",
        "calls": 2,
        "error": "no JSON object in the answer",
        "fallback": "a neutral option set was used",
    }
    resumed = panel_of(row(written)).checkpoint
    assert resumed.answers[StepKey.decision("frame")] == note
    assert [(f.step, f.reason) for f in resumed.fallbacks()] == [("frame", "a neutral option set was used")]


def test_a_draft_stored_without_steps_loads_with_an_empty_checkpoint() -> None:
    body = copy.deepcopy(STORED_BODY) | {"discussions": [], "steps": {}}
    panel = panel_of(row(body))
    assert panel.rounds == [] and panel.checkpoint.spoken == {} and panel.checkpoint.decisions == {}
    assert panel_body(panel)["steps"] == {"version": 1, "decisions": {}, "markers": [], "failures": {}}


MEMBERS = (Member("fda_expert", "Dr. Maya Chen", "FDA"),)
MESSAGE = Message("fda_expert", "Dr. Maya Chen", "Go.", WHEN, 1, "expert", Stance("A", 0.9, ("A", "B"), "x", 40.0), {})
RECOMMENDATION = Recommendation("Do A", "Because", ("a",), ("b",), degraded=False, decided_by="moderator")
PID = PanelId.from_string(PANEL)


def test_every_event_s_data_has_the_published_fields_in_order() -> None:
    stance = {"position": "A", "confidence": 0.9, "ranking": ["A", "B"], "endorses": "x", "estimate": 40.0}
    at = "2026-11-25T10:00:00+00:00"
    member = {"agent_id": "fda_expert", "agent_name": "Dr. Maya Chen", "agent_role": "FDA"}
    recommendation = {
        "recommendation": "Do A",
        "rationale": "Because",
        "agreement_points": ["a"],
        "dissent": ["b"],
        "degraded": False,
        "decided_by": "moderator",
        "verdict": None,
        "fallbacks": [],
        "adopted": None,
        "estimate": None,
    }
    usage = {"input_tokens": 1, "output_tokens": 2, "llm_calls": 3, "cost_usd": 0.5}
    message = {
        "agent_id": "fda_expert",
        "agent_name": "Dr. Maya Chen",
        "content": "Go.",
        "timestamp": at,
        "round": 1,
        "role": "expert",
        "stance": stance,
        "metadata": {},
    }
    expected: list[tuple[PanelEvent, dict[str, Any]]] = [
        (
            PanelStarted(PID, PanelType.OPEN, "Q?", MEMBERS, WHEN),
            {"panel_id": PANEL, "panel_type": "open", "query": "Q?", "members": [member], "timestamp": at},
        ),
        (RoundStarted(2, WHEN), {"round": 2, "timestamp": at}),
        (ExpertSpeaking(MESSAGE), message),
        (RoundComplete(1, 3, None), {"round": 1, "messages": 3, "feedback": None}),
        (
            ConsensusUpdate(1, Consensus(0.5, 0.4, "m", {"c": 1})),
            {"round": 1, "level": 0.5, "confidence": 0.4, "method": "m", "components": {"c": 1}},
        ),
        (
            PanelComplete(PID, RECOMMENDATION, 0.5, 0.4, 12.5, Usage(1, 2, 3, 0.5)),
            {
                "panel_id": PANEL,
                "recommendation": recommendation,
                "consensus": 0.5,
                "confidence": 0.4,
                "duration": 12.5,
                "usage": usage,
            },
        ),
        (PanelCancelled(PID, WHEN), {"panel_id": PANEL, "timestamp": at}),
        (
            ExpertFailed("no answer", "fda_expert", 2),
            {"message": "no answer", "agent_id": "fda_expert", "round": 2, "terminal": False},
        ),
        (PanelFailed("quorum lost", PID), {"message": "quorum lost", "terminal": True, "panel_id": PANEL}),
    ]
    for event, data in expected:
        got = event_data(event)
        assert got == data and list(got) == list(data), event.type


def test_every_event_s_data_reads_back_into_the_same_payload() -> None:
    """`event_of` is the inverse of `event_data` (the Python client's typed events depend on it)."""
    from datetime import UTC, datetime

    from ask_panel.domain import events as events_module
    from ask_panel.domain.events import (
        ConsensusUpdate,
        ExpertFailed,
        ExpertSpeaking,
        PanelCancelled,
        PanelComplete,
        PanelFailed,
        PanelStarted,
        RoundComplete,
        RoundStarted,
    )
    from ask_panel.domain.ids import PanelId
    from ask_panel.domain.status import PanelType
    from ask_panel.domain.values import Consensus, Fallback, Member, Message, Recommendation, Stance, Usage
    from ask_panel.infrastructure.serialization.events import event_data, event_of

    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    panel_id = PanelId.generate()
    stance = Stance("Go", 0.8, ("Go", "Wait"), endorses="clinical_expert", estimate=42.0)
    events: list[events_module.PanelEvent] = [
        PanelStarted(panel_id, PanelType.DELPHI, "Q?", (Member("a", "Ann", "Lawyer"),), at),
        RoundStarted(1, at),
        ExpertSpeaking(Message("a", "Ann", "Text.", at, 1, "expert", stance, {"model": "simulated"})),
        RoundComplete(1, 2, {"median": 40}),
        ConsensusUpdate(1, Consensus(0.7, 0.6, "m/v1", {"agreement": 0.7})),
        PanelComplete(
            panel_id,
            Recommendation(
                "Go", "Because", ("x",), ("y",), True, "moderator", fallbacks=(Fallback("frame", "neutral options"),)
            ),
            0.7,
            0.6,
            3.5,
            Usage(1, 2, 3, 0.5),
        ),
        PanelCancelled(panel_id, at),
        ExpertFailed("timeout", "a", 2),
        PanelFailed("quorum lost", panel_id),
    ]
    for event in events:
        assert event_of(event.type, event_data(event)) == event


def test_the_experts_snapshot_is_stored_with_the_panel_and_read_back() -> None:
    from ask_panel.domain.experts import Expert

    snapshot = [Expert("acme", "Ada", "Role", ("x",), "Do.", "gpt-4o", "openai", output_mode="prompt")]
    panel = panel_of(row(copy.deepcopy(STORED_BODY)))
    panel.experts = snapshot
    written = panel_body(panel)
    assert written["experts"][0]["name"] == "Ada"
    assert panel_of(row(written)).experts == snapshot
