"""Audit of what structured, open, socratic and Delphi panels adopt, who dissents and whom the rationale cites."""

from __future__ import annotations

import re

import pytest

from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.synthesis import FRAME
from ask_panel.domain.values import Message
from tests.audit.runs import SIZES, Run, experts, run_sync

TYPES = ("structured", "open", "socratic", "delphi")


@pytest.fixture(scope="module", params=TYPES)
def runs(request: pytest.FixtureRequest) -> list[Run]:
    return run_sync(request.param)


def finals(panel: Panel) -> dict[str, Message]:
    """Each member's last message with a stance, independently of the code under audit."""
    last: dict[str, Message] = {}
    for message in experts(panel):
        if message.stance is not None:
            last[message.agent_id] = message
    return last


def test_every_panel_size_is_audited_and_every_panel_completes(runs: list[Run]) -> None:
    assert {r.size for r in runs} == set(SIZES)
    assert all(r.panel.status.value == "completed" for r in runs), [r.panel.error for r in runs]


def test_the_adopted_option_has_the_most_support_among_the_final_positions(runs: list[Run]) -> None:
    for run in runs:
        rec = run.panel.final_recommendation
        assert rec is not None
        support: dict[str, float] = {}
        for message in finals(run.panel).values():
            assert message.stance is not None
            support[message.stance.position] = support.get(message.stance.position, 0) + message.stance.confidence
        assert rec.adopted in support
        assert support[rec.adopted] == pytest.approx(max(support.values()))


def test_dissent_lists_exactly_the_members_whose_final_position_differs_each_in_their_own_words(
    runs: list[Run],
) -> None:
    agreed = 0
    for run in runs:
        rec = run.panel.final_recommendation
        assert rec is not None
        final = finals(run.panel)
        position = {a: m.stance.position for a, m in final.items() if m.stance is not None}
        differing = [m for m in run.panel.members if m.agent_id in position and position[m.agent_id] != rec.adopted]
        assert len(rec.dissent) == len(differing)
        for line, member in zip(rec.dissent, differing, strict=True):
            message = final[member.agent_id]
            assert message.stance is not None
            assert line.startswith(f"{member.agent_name} prefers '{message.stance.position}'")
            reason = line.split("): ", 1)[1].rstrip("…")
            assert reason and reason in " ".join(message.content.split()), "their own reason, from their last words"
        if not differing:
            agreed += 1
            assert rec.dissent == (), "no dissent at full agreement"
    assert agreed > 0, "full agreement happened and had no dissent"


def test_the_rationale_cites_members_who_support_the_adopted_option_and_no_one_else_as_its_author(
    runs: list[Run],
) -> None:
    for run in runs:
        rec = run.panel.final_recommendation
        assert rec is not None
        final = finals(run.panel)
        names = {m.agent_id: m.agent_name for m in run.panel.members}
        supporters = {names[a] for a, m in final.items() if m.stance is not None and m.stance.position == rec.adopted}
        assert any(name in rec.rationale for name in supporters), rec.rationale
        for argued in re.findall(r"as ((?:Dr\. )?[^,.]+?) argued", rec.rationale):
            assert argued in supporters, f"{argued} did not support '{rec.adopted}'"
        assert "One expert considers the timeline too optimistic." not in rec.dissent


# What options for each audited question must speak of (one of the words, in at least one option).
FITTING = {
    "What is our FDA 510(k) strategy": ("510(k)", "De Novo", "Pre-Submission"),
    "How should we price": ("price", "pricing"),
    "How many months": ("months",),
    "Should we expand our reimbursement team": ("expand", "reimbursement team"),
    "What share of hospitals": ("%", "percent"),
    "Which market should we launch in first": ("launch", "market", "EU", "US"),
}
GENERIC = ("Proceed now with the current plan", "Go ahead as proposed")


def test_the_moderators_options_fit_the_question(runs: list[Run]) -> None:
    """Issue 9: a pricing question was answered 'Adopt 'Proceed now with the current plan''."""
    for run in runs:
        frame = run.panel.checkpoint.decision(FRAME)
        assert frame is not None
        options = list(frame["options"])
        assert 2 <= len(options) <= 4 and len(set(options)) == len(options)
        words = next(w for start, w in FITTING.items() if run.question.startswith(start))
        assert any(word.lower() in option.lower() for option in options for word in words), (run.question, options)
        assert not set(options) & set(GENERIC), options
