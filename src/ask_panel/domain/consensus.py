"""Consensus measurement over expert stances.

The method (`agreement+concordance+spread/v1`), recomputed after every round:

* **agreement**: the confidence-weighted share of the most held position. Each expert's latest stance
  counts with its stated confidence as weight (equal weights when every confidence is 0).
* **concordance**: Kendall's W over the experts' rankings of the options (0 = no agreement on the
  order, 1 = identical orders). Only with at least two complete rankings of at least two options.
* **spread agreement** (Delphi): 1 - IQR / (half the estimate's range), floored at 0, with at least
  two estimates (on the default 0-100 range: 1 - IQR/50).
* **level** is the weighted mean of the parts that exist: agreement 0.5, concordance 0.3,
  spread agreement 0.2 (weights renormalised over the parts present).
* **confidence** is the mean stated confidence of the experts with a stance, times **coverage**
  (the share of members whose stance could be read). Silent experts make the panel less sure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ask_panel.domain.values import Consensus, Stance

METHOD = "agreement+concordance+spread/v1"
WEIGHTS = {"agreement": 0.5, "concordance": 0.3, "spread_agreement": 0.2}


def kendalls_w(rankings: Sequence[Sequence[str]], items: Sequence[str]) -> float | None:
    """Kendall's coefficient of concordance of complete rankings (best first) of `items`."""
    m, n = len(rankings), len(items)
    if m < 2 or n < 2:
        return None
    rank_sums = dict.fromkeys(items, 0.0)
    for ranking in rankings:
        for position, item in enumerate(ranking, start=1):
            rank_sums[item] += position
    mean = m * (n + 1) / 2
    s = sum((r - mean) ** 2 for r in rank_sums.values())
    return max(0.0, min(1.0, 12 * s / (m * m * (n**3 - n))))


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3) by the inclusive method; a single value is its own quartiles."""
    ordered = sorted(values)
    if len(ordered) == 1:
        v = ordered[0]
        return v, v, v
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return q1, median, q3


SIGNIFICANT_DIGITS = 4


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """`value` rounded for people: at most `digits` significant digits (26.295000000001 -> 26.3)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    rounded = round(value, digits - 1 - math.floor(math.log10(abs(value))))
    return float(rounded)


@dataclass(frozen=True, slots=True)
class Distribution:
    """The anonymised distribution of Delphi estimates fed back to the panel."""

    n: int
    median: float
    q1: float
    q3: float
    low: float | None = None
    """The lowest estimate (not part of the feedback's `summary`; the wording says whether all agree)."""
    high: float | None = None
    """The highest estimate."""

    @property
    def iqr(self) -> float:
        return significant(self.q3 - self.q1)

    def summary(self) -> dict[str, float]:
        """The distribution as the round's feedback shows it (with the IQR)."""
        return {"n": self.n, "median": self.median, "q1": self.q1, "q3": self.q3, "iqr": self.iqr}

    @classmethod
    def of(cls, estimates: Sequence[float]) -> Distribution | None:
        if not estimates:
            return None
        q1, median, q3 = quartiles(estimates)
        return cls(
            len(estimates),
            significant(median),
            significant(q1),
            significant(q3),
            significant(min(estimates)),
            significant(max(estimates)),
        )


def measure(stances: Mapping[str, Stance | None], options: Sequence[str], *, span: float = 100.0) -> Consensus:
    """Consensus of the members' latest stances (a member without a readable stance maps to None).

    `span` is the width of the range the estimates are given on (Delphi).
    """
    members = len(stances)
    present = [s for s in stances.values() if s is not None]
    coverage = len(present) / members if members else 0.0
    if not present:
        return Consensus(0.0, 0.0, METHOD, {"coverage": coverage, "stances": 0, "members": members})

    weights: list[float] = [s.confidence for s in present]
    if sum(weights) == 0:
        weights = [1.0] * len(present)
    by_position: dict[str, float] = {}
    for stance, weight in zip(present, weights, strict=True):
        by_position[stance.position] = by_position.get(stance.position, 0.0) + weight
    modal_position, modal_weight = max(by_position.items(), key=lambda item: item[1])
    parts: dict[str, float] = {"agreement": modal_weight / sum(weights)}

    complete = [s.ranking for s in present if sorted(s.ranking) == sorted(options) and s.ranking]
    concordance = kendalls_w(complete, options)
    if concordance is not None:
        parts["concordance"] = concordance

    estimates = [s.estimate for s in present if s.estimate is not None]
    distribution = Distribution.of(estimates) if len(estimates) >= 2 else None
    if distribution is not None:
        parts["spread_agreement"] = max(0.0, 1.0 - distribution.iqr / (span / 2)) if span > 0 else 1.0

    total_weight = sum(WEIGHTS[k] for k in parts)
    level = sum(WEIGHTS[k] * v for k, v in parts.items()) / total_weight
    mean_confidence = statistics.fmean(s.confidence for s in present)
    confidence = mean_confidence * coverage

    components: dict[str, object] = {k: round(v, 4) for k, v in parts.items()}
    components.update(
        {
            "coverage": round(coverage, 4),
            "mean_confidence": round(mean_confidence, 4),
            "stances": len(present),
            "members": members,
            "modal_position": modal_position,
            "positions": {k: sum(1 for s in present if s.position == k) for k in by_position},
        }
    )
    if distribution is not None:
        components["distribution"] = distribution.summary()
    return Consensus(round(_clamp(level), 4), round(_clamp(confidence), 4), METHOD, components)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))
