"""Audit of Delphi panels: the estimate answers the question, feedback, the stopping rule, numbers for people."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ask_panel.api.schemas import PanelResponse
from ask_panel.domain.consensus import Distribution
from ask_panel.domain.strategies.delphi import is_stable
from tests.audit.runs import SEEDS, SIZES, Run, experts, run_sync

CONFIGURED = {"question": "Weeks until the first site is activated", "unit": "weeks", "min": 2, "max": 30}


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return run_sync("delphi")


@pytest.fixture(scope="module")
def configured_runs() -> list[Run]:
    return run_sync("delphi", seeds=range(SEEDS, SEEDS + 9), extra={"estimate": CONFIGURED})


def estimate_of(run: Run) -> dict[str, Any]:
    rec = run.panel.final_recommendation
    assert rec is not None and rec.estimate is not None
    return rec.estimate


def significant_digits(value: float) -> int:
    return len(Decimal(repr(value)).normalize().as_tuple().digits)


def test_every_panel_size_is_audited_and_every_panel_completes_with_an_estimate(runs: list[Run]) -> None:
    assert {r.size for r in runs} == set(SIZES)
    for run in runs:
        assert run.panel.status.value == "completed", run.panel.error
        estimate = estimate_of(run)
        assert estimate["min"] <= estimate["q1"] <= estimate["median"] <= estimate["q3"] <= estimate["max"]


def test_the_estimate_asked_for_answers_the_question_in_its_unit(runs: list[Run]) -> None:
    units = {"How many months": {"months"}, "What share": {"percent", "%"}}
    checked = 0
    for run in runs:
        for start, unit in units.items():
            if run.question.startswith(start):
                checked += 1
                assert estimate_of(run)["unit"] in unit
                assert "Probability (0-100)" not in estimate_of(run)["question"]
    assert checked >= 2 * len(units)


def test_every_estimate_lies_in_the_range_and_the_result_reports_it_with_its_iqr_and_unit(runs: list[Run]) -> None:
    for run in runs:
        estimate = estimate_of(run)
        for message in experts(run.panel):
            if message.stance is not None:
                assert message.stance.estimate is not None
                assert estimate["min"] <= message.stance.estimate <= estimate["max"]
        last = [r for r in run.panel.rounds if r.feedback and r.feedback["distribution"]][-1]
        assert last.feedback is not None
        assert {k: estimate[k] for k in ("n", "median", "q1", "q3", "iqr")} == last.feedback["distribution"]
        assert estimate["iqr"] == pytest.approx(estimate["q3"] - estimate["q1"], abs=0.01)
        rec = run.panel.final_recommendation
        assert rec is not None and rec.recommendation.startswith("Estimate: ")
        assert estimate["unit"] in rec.recommendation
        given = {m.stance.estimate for m in experts(run.panel) if m.round == last.round_number and m.stance is not None}
        if len(given) == 1:  # no spread: said in words, never "8 to 8 months (IQR 0)"
            assert f"estimate {estimate['median']:g} {estimate['unit']}; no spread" in rec.recommendation
            assert "interquartile range" not in rec.recommendation and "IQR" not in rec.recommendation
        elif estimate["iqr"] == 0:
            assert "the middle half of the" in rec.recommendation
        else:
            assert "interquartile range" in rec.recommendation


def test_rounds_feed_back_median_and_iqr_until_the_distribution_is_stable_or_rounds_run_out(runs: list[Run]) -> None:
    stopped_early = 0
    for run in runs:
        estimate = estimate_of(run)
        span = estimate["max"] - estimate["min"]
        tolerance = run.panel.configuration.stability_tolerance
        rounds = run.panel.rounds
        distributions = []
        for rnd in rounds:
            assert rnd.feedback is not None and rnd.feedback["unit"] == estimate["unit"]
            summary = rnd.feedback["distribution"]
            distributions.append(Distribution(summary["n"], summary["median"], summary["q1"], summary["q3"]))
            feedback = [m for m in rnd.messages if m.role == "facilitator"]
            assert len(feedback) == 1
            if summary["iqr"]:
                assert "median" in feedback[0].content and "IQR" in feedback[0].content
            else:  # in words: "all three panelists estimate 8 months; no spread", never "(IQR 0)"
                assert "estimate" in feedback[0].content and "IQR" not in feedback[0].content
            assert estimate["unit"] in feedback[0].content
        for earlier in range(1, len(distributions) - 1):
            assert not is_stable(distributions[earlier - 1], distributions[earlier], tolerance, span)
        if len(rounds) < run.panel.configuration.max_rounds:
            stopped_early += 1
            assert is_stable(distributions[-2], distributions[-1], tolerance, span)
    assert stopped_early > 0


def test_numbers_reach_the_json_rounded_for_people(runs: list[Run]) -> None:
    for run in runs:
        body = PanelResponse.from_panel(run.panel).model_dump(mode="json")
        parts: list[dict[str, Any]] = [body["consensus"] or {}] + [r["consensus"] or {} for r in body["discussions"]]
        for consensus in parts:
            for key, value in (consensus.get("components") or {}).items():
                if isinstance(value, float):
                    assert significant_digits(value) <= 4, (key, value)
            distribution = (consensus.get("components") or {}).get("distribution") or {}
            for key, value in distribution.items():
                assert significant_digits(value) <= 4, (key, value)
        for rnd in body["discussions"]:
            for key, value in (rnd["feedback"]["distribution"] or {}).items():
                assert significant_digits(value) <= 4, (key, value)
        for key in ("median", "q1", "q3", "iqr", "min", "max"):
            assert significant_digits(body["final_recommendation"]["estimate"][key]) <= 4


def test_a_configured_estimate_replaces_the_facilitators(configured_runs: list[Run]) -> None:
    for run in configured_runs:
        assert run.panel.status.value == "completed", run.panel.error
        estimate = estimate_of(run)
        assert (estimate["question"], estimate["unit"], estimate["min"], estimate["max"]) == tuple(CONFIGURED.values())
        for message in experts(run.panel):
            if message.stance is not None and message.stance.estimate is not None:
                assert CONFIGURED["min"] <= message.stance.estimate <= CONFIGURED["max"]
