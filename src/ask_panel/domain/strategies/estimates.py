"""How a Delphi panel's distribution of estimates reads for people, in the feedback and the result.

A spread is stated as a reader would say it: the median and the interquartile range when the
estimates spread; in words when they do not. When every panelist gives the same number the text
says so ("all three panelists estimate 8 months; no spread"), never "interquartile range 8 to 8
(IQR 0)". When only the middle half agrees (five or more panelists, the quartiles equal but the
extremes not), it says that and gives the full range. Numbers keep at most 4 significant digits.
"""

from __future__ import annotations

from ask_panel.domain.consensus import Distribution, significant

_SPELLED = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def number(value: float) -> str:
    """A number for people: at most 4 significant digits, no exponent, no trailing zeros."""
    rounded = float(significant(value))
    return f"{rounded:.6f}".rstrip("0").rstrip(".") if not rounded.is_integer() else f"{int(rounded)}"


def spelled(count: int) -> str:
    """A count as a sentence says it: 'three' up to ten, digits above."""
    return _SPELLED[count] if 0 <= count < len(_SPELLED) else str(count)


def _amount(value: float, unit: str) -> str:
    return f"{number(value)} {unit}".rstrip()


def unanimous(distribution: Distribution) -> bool:
    """Every panelist gave the same estimate (up to four panelists, equal quartiles already mean that)."""
    d = distribution
    if d.low is not None and d.high is not None:
        return d.low == d.high
    return d.q1 == d.q3 and d.n <= 4


def _extremes(distribution: Distribution, unit: str) -> str:
    d = distribution
    if d.low is None or d.high is None:
        return ""
    return f"estimates range from {number(d.low)} to {_amount(d.high, unit)}"


def described(distribution: Distribution, unit: str) -> str:
    """The distribution in one clause: the round's feedback and the synthesis instruction say this."""
    d = distribution
    if d.n == 1:
        return f"one panelist estimates {_amount(d.median, unit)}; no spread to report"
    if unanimous(d):
        return f"all {spelled(d.n)} panelists estimate {_amount(d.median, unit)}; no spread"
    if d.q1 == d.q3:
        extremes = _extremes(d, unit)
        return f"median {_amount(d.median, unit)}; the middle half of the {d.n} panelists all estimate " + (
            f"{_amount(d.median, unit)} ({extremes})" if extremes else _amount(d.median, unit)
        )
    return (
        f"median {_amount(d.median, unit)}, interquartile range {number(d.q1)} to {_amount(d.q3, unit)} "
        f"(IQR {number(d.iqr)}) over {d.n} panelists"
    )


def headline(distribution: Distribution, unit: str) -> str:
    """The sentence a Delphi recommendation opens with."""
    d = distribution
    if d.n == 1 or unanimous(d):
        return f"Estimate: {_amount(d.median, unit)} ({described(d, unit)})."
    if d.q1 == d.q3:
        extremes = _extremes(d, unit)
        return (
            f"Estimate: {_amount(d.median, unit)} (the middle half of the {d.n} panelists all estimate "
            f"{_amount(d.median, unit)}{'; ' + extremes if extremes else ''})."
        )
    return (
        f"Estimate: {_amount(d.median, unit)} (interquartile range {number(d.q1)} to {_amount(d.q3, unit)}, "
        f"{d.n} panelists)."
    )


def in_a_sentence(distribution: Distribution, unit: str = "") -> str:
    """The distribution as a whole sentence (the fallback synthesis's rationale ends with it)."""
    text = described(distribution, unit)
    return text[:1].upper() + text[1:] + "."
