"""Consensus maths: Kendall's W, confidence-weighted agreement, spread, coverage."""

from __future__ import annotations

import pytest

from ask_panel.domain.consensus import Distribution, kendalls_w, measure, quartiles, significant
from ask_panel.domain.values import Stance

OPTIONS = ("a", "b", "c")


def test_identical_rankings_have_perfect_concordance() -> None:
    assert kendalls_w([("a", "b", "c")] * 4, OPTIONS) == pytest.approx(1.0)


def test_two_opposite_rankings_have_no_concordance() -> None:
    assert kendalls_w([("a", "b", "c"), ("c", "b", "a")], OPTIONS) == pytest.approx(0.0)


def test_kendalls_w_matches_a_worked_example() -> None:
    # Rank sums a=3, b=7, c=8 over 3 raters: S = 14, W = 12*14 / (9 * 24) = 0.7778
    rankings = [("a", "b", "c"), ("a", "c", "b"), ("a", "b", "c")]
    sums = {"a": 3, "b": 7, "c": 8}
    mean = 6
    expected = 12 * sum((v - mean) ** 2 for v in sums.values()) / (9 * (27 - 3))
    assert kendalls_w(rankings, OPTIONS) == pytest.approx(expected)


def test_kendalls_w_needs_two_raters() -> None:
    assert kendalls_w([("a", "b", "c")], OPTIONS) is None


def test_unanimous_confident_experts_reach_full_consensus() -> None:
    stances = {k: Stance("a", 0.9, ("a", "b", "c")) for k in ("x", "y", "z")}
    result = measure(stances, OPTIONS)
    assert result.level == pytest.approx(1.0)
    assert result.confidence == pytest.approx(0.9)
    assert result.components["agreement"] == 1.0 and result.components["concordance"] == 1.0


def test_agreement_is_weighted_by_confidence() -> None:
    stances = {"x": Stance("a", 0.9), "y": Stance("b", 0.3), "z": Stance("b", 0.3)}
    result = measure(stances, OPTIONS)
    assert result.components["modal_position"] == "a"
    assert result.components["agreement"] == pytest.approx(0.9 / 1.5, abs=1e-4)


def test_silent_experts_lower_confidence_through_coverage() -> None:
    full = measure({"x": Stance("a", 0.8), "y": Stance("a", 0.8)}, OPTIONS)
    partial = measure({"x": Stance("a", 0.8), "y": None}, OPTIONS)
    assert partial.components["coverage"] == 0.5
    assert partial.confidence == pytest.approx(full.confidence / 2)


def test_no_stances_means_no_consensus() -> None:
    result = measure({"x": None, "y": None}, OPTIONS)
    assert (result.level, result.confidence) == (0.0, 0.0)


def test_split_panels_score_lower_than_agreeing_ones() -> None:
    agreeing = measure({"x": Stance("a", 0.7, ("a", "b", "c")), "y": Stance("a", 0.7, ("a", "c", "b"))}, OPTIONS)
    split = measure({"x": Stance("a", 0.7, ("a", "b", "c")), "y": Stance("c", 0.7, ("c", "b", "a"))}, OPTIONS)
    assert split.level < agreeing.level


def test_estimate_spread_enters_the_level_for_delphi() -> None:
    tight = measure({k: Stance("a", 0.8, (), None, e) for k, e in zip("xyz", (50, 52, 51), strict=True)}, OPTIONS)
    wide = measure({k: Stance("a", 0.8, (), None, e) for k, e in zip("xyz", (10, 50, 95), strict=True)}, OPTIONS)
    assert "spread_agreement" in tight.components
    assert wide.level < tight.level
    assert tight.components["distribution"]["median"] == 51


def test_quartiles_and_distribution() -> None:
    assert quartiles([10.0]) == (10.0, 10.0, 10.0)
    q1, median, q3 = quartiles([10, 20, 30, 40, 50])
    assert (q1, median, q3) == (20, 30, 40)
    dist = Distribution.of([10, 20, 30, 40, 50])
    assert dist is not None and dist.iqr == 20


def test_a_distribution_is_rounded_for_people_where_it_is_made() -> None:
    """Issue 9: `"iqr": 26.29500000000001` reached the JSON; quartiles and IQR keep 4 significant digits."""
    distribution = Distribution.of([10.105, 20, 30, 36.4])
    assert distribution is not None
    assert (distribution.q1, distribution.q3, distribution.iqr) == (17.53, 31.6, 14.07)
    assert distribution.summary()["iqr"] == 14.07
    assert [significant(v) for v in (123456.0, 0.000123456, -98.7654, 0.0)] == [123500.0, 0.0001235, -98.77, 0.0]
