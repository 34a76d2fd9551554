"""Audit of adversarial panels: sides, stances, rounds, the judge's verdict and the recommendation, over many seeds."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from ask_panel.domain.strategies.adversarial import assign_sides, debate_rounds
from tests.audit.runs import SIZES, Run, experts, run_sync


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return run_sync("adversarial")


def verdict_of(run: Run) -> dict[str, Any]:
    verdict = run.panel.final_recommendation.verdict if run.panel.final_recommendation else None
    assert verdict is not None
    return verdict


def sides(run: Run) -> tuple[list[str], list[str]]:
    verdict = verdict_of(run)
    return list(verdict["proponents"]), list(verdict["opponents"])


def test_every_panel_size_is_audited_and_every_panel_completes(runs: list[Run]) -> None:
    assert {r.size for r in runs} == set(SIZES)
    assert all(r.panel.status.value == "completed" for r in runs), [r.panel.error for r in runs]


def test_members_are_split_into_balanced_sides_drawn_with_the_seed(runs: list[Run]) -> None:
    for run in runs:
        pros, cons = sides(run)
        assert sorted(pros + cons) == sorted(m.agent_id for m in run.panel.members)
        assert abs(len(pros) - len(cons)) <= 1
        again = assign_sides(run.panel)
        assert [m.agent_id for m in again.proponents] == pros, "the same seed gives the same sides"
    assignments = {tuple(sides(r)[0]) for r in runs if r.size == 4}
    assert len(assignments) > 1, "different seeds give different sides"


def test_a_debater_argues_only_its_own_side(runs: list[Run]) -> None:
    stances = 0
    for run in runs:
        pros, _ = sides(run)
        for message in experts(run.panel):
            if message.stance is not None:
                stances += 1
                assert message.stance.position == ("for" if message.agent_id in pros else "against")
    assert stances > 0


def test_openings_then_alternating_rebuttals_for_every_configured_round_whatever_the_agreement(
    runs: list[Run],
) -> None:
    for run in runs:
        pros, cons = sides(run)
        assert len(run.panel.rounds) == debate_rounds(run.configuration["max_rounds"])
        for rnd in run.panel.rounds:
            speakers = [m.agent_id for m in rnd.messages if m.role == "expert"]
            assert sorted(speakers) == sorted(pros + cons), "every debater speaks every round"
            first, second = (pros, cons) if rnd.round_number % 2 == 1 else (cons, pros)
            expected = [a for pair in itertools.zip_longest(first, second) for a in pair if a is not None]
            assert speakers == expected, "the sides alternate, and so does the side that opens a round"
    reached = [r for r in runs if r.panel.rounds[0].consensus and r.panel.rounds[0].consensus.level >= 0.3]
    assert any(r.configuration["consensus_threshold"] == 0.3 for r in reached), "agreement was there to stop on"


def test_the_judge_gives_one_of_three_verdicts_with_reasons_citing_arguments_made(runs: list[Run]) -> None:
    verdicts: Counter[str] = Counter()
    for run in runs:
        verdict = verdict_of(run)
        verdicts[verdict["winner"]] += 1
        assert verdict["reasons"]
        said = {(m.agent_id, m.round): m.content for m in experts(run.panel)}
        for reason in verdict["reasons"]:
            content = said[(reason["agent_id"], reason["round"])]
            assert reason["argument"].rstrip("…") in " ".join(content.split()), "the cited argument was made"
            assert reason["side"] == ("proponent" if reason["agent_id"] in verdict["proponents"] else "opponent")
    assert set(verdicts) == {"proponents", "opponents", "undecided"}, verdicts


def test_the_recommendation_follows_the_verdict(runs: list[Run]) -> None:
    for run in runs:
        rec = run.panel.final_recommendation
        assert rec is not None and rec.verdict is not None and rec.decided_by == "judge"
        proposition = rec.verdict["proposition"]
        names = {m.agent_id: m.agent_name for m in run.panel.members}
        losers = {"proponents": rec.verdict["opponents"], "opponents": rec.verdict["proponents"], "undecided": []}
        match rec.verdict["winner"]:
            case "proponents":
                assert rec.recommendation == f"Accept the proposition: {proposition}"
            case "opponents":
                assert rec.recommendation == f"Reject the proposition: {proposition}"
            case "undecided":
                assert rec.recommendation.startswith("Undecided")
                assert rec.verdict["settle"] in rec.recommendation, "an undecided verdict says what would settle it"
        dissenters = [d.split(" (")[0] for d in rec.dissent]
        assert dissenters == [names[a] for a in losers[rec.verdict["winner"]]], "the losing side is the dissent"
