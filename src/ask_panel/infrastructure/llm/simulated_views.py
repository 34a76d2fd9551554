"""How a simulated expert makes up its mind: its position over the options, and its numeric estimate.

A persona has a seeded taste for each option (plus a pull towards options in its own field). From
round 2 it also weighs the positions the others hold (each other expert's latest position adds
`SOCIAL_PULL`) and its own previous position (`INERTIA`): positions drift towards agreement, and
an expert who moves names the one who moved it. The view depends only on the seed, the persona and
the request's task, so an expert's prose and the stance that follows it agree.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from ask_panel.infrastructure.llm.simulated_context import Context, Voice, concern_in
from ask_panel.infrastructure.llm.simulated_fields import score
from ask_panel.infrastructure.llm.simulated_question import Unit, unit_of

SOCIAL_PULL = 0.9
INERTIA = 1.0
_RANGE = re.compile(
    r"(?:from|between|range:?)\s*\$?(-?\d+(?:\.\d+)?)\s*(?:to|and|-|\u2013)\s*\$?(-?\d+(?:\.\d+)?)|\((-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)\)",
    re.I,
)
_UNIT_NAMED = re.compile(r"\b(?:unit|in):?\s+(%|months|weeks|years|days|[a-z]+s)\b", re.I)


@dataclass(frozen=True, slots=True)
class View:
    position: str
    confidence: float
    ranking: tuple[str, ...]
    previous: str | None
    moved_by: Voice | None
    agree_with: Voice | None
    disagree_with: Voice | None


def seeded(*parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def view_of(ctx: Context, options: list[str], seed: str) -> View:
    """The persona's position over `options` for this request (the same for its prose and its stance)."""
    persona = ctx.persona
    rng = seeded(seed, persona.name, ctx.task, "view")
    others = {n: v for n, v in ctx.others.items() if v.position in options}
    previous_voice = ctx.own_previous
    previous = previous_voice.position if previous_voice and previous_voice.position in options else None

    def taste(option: str) -> float:
        base = seeded(seed, persona.name, option, "taste").uniform(0.5, 2.0)
        return base + 0.4 * min(2, score(persona.field, option.lower()))

    scores = {
        o: taste(o)
        + SOCIAL_PULL * sum(1 for v in others.values() if v.position == o)
        + (INERTIA if o == previous else 0.0)
        + rng.uniform(0, 0.4)
        for o in options
    }
    ranking = tuple(sorted(options, key=lambda o: scores[o], reverse=True))
    position = ranking[0]
    supporters = [v for v in others.values() if v.position == position]
    opposed = [v for v in others.values() if v.position != position]
    margin = scores[ranking[0]] - (scores[ranking[1]] if len(ranking) > 1 else 0.0)
    confidence = round(min(0.95, 0.55 + 0.1 * margin + 0.05 * len(supporters) + rng.uniform(0, 0.1)), 2)
    moved_by = None
    if previous is not None and previous != position:
        moved_by = max(supporters, key=lambda v: (v.confidence or 0, v.name), default=None)
    agree = rng.choice(sorted(supporters, key=lambda v: v.name)) if supporters else None
    disagree = rng.choice(sorted(opposed, key=lambda v: v.name)) if opposed else None
    return View(position, confidence, ranking, previous, moved_by, agree, disagree)


def unit_for(ctx: Context) -> Unit:
    """The unit and range of the estimate asked for: from the numeric question, else from the query."""
    text = ctx.numeric or ""
    unit = unit_of(text) or ctx.question.unit or unit_of(ctx.question.text)
    named = _UNIT_NAMED.search(text)
    if named:
        word = named.group(1).lower()
        if unit is None or unit.name != word:
            unit = Unit(word, 0, 100, 50) if word == "%" or word == "percent" else (unit or Unit(word, 1, 100, 20))
    unit = unit or Unit("%", 0, 100, 55)
    found = _RANGE.search(text)
    if found:
        low, high = (float(g) for g in (found.group(1) or found.group(3), found.group(2) or found.group(4)))
        if low < high:
            typical = unit.typical if low <= unit.typical <= high else low + 0.4 * (high - low)
            unit = Unit(unit.name, low, high, typical)
    return unit


def rounded(value: float, unit: Unit) -> float:
    """A value as a person would say it: whole months or percent, round patient counts, whole dollars."""
    if unit.high - unit.low >= 400:
        return float(round(value, -1))
    return float(round(value))


def estimate_of(ctx: Context, seed: str) -> tuple[float, float | None, Unit]:
    """This persona's estimate for the round, its first-round estimate, and the unit.

    The first estimate is the unit's typical value scaled by the persona's seeded optimism; later
    rounds move it towards the group median fed back by the facilitator, further each round.
    """
    unit = unit_for(ctx)
    rng = seeded(seed, ctx.persona.name, ctx.question.text, "estimate")
    spread = rng.uniform(-0.6, 0.6)
    first = unit.typical + 40 * spread if unit.name == "%" else unit.typical * math.exp(spread)
    first = rounded(min(unit.high, max(unit.low, first)), unit)
    if ctx.median is None or ctx.round <= 1:
        return first, None, unit
    pull = min(0.85, 0.45 * (ctx.round - 1) + seeded(seed, ctx.persona.name, ctx.round).uniform(-0.1, 0.15))
    value = rounded(min(unit.high, max(unit.low, first + pull * (ctx.median - first))), unit)
    return value, first, unit


_BELOW = re.compile(r"^(?:Less than|Under|Below) \$?([\d,.]+)", re.I)
_BETWEEN = re.compile(r"^\$?([\d,.]+)%? (?:to|-) \$?([\d,.]+)", re.I)
_ABOVE = re.compile(r"^(?:More than|Over|Above) \$?([\d,.]+)", re.I)


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("."))


def option_for_estimate(options: list[str], value: float) -> str | None:
    """The option whose range holds `value`, when every option is a range ('Less than 7 months', ...)."""
    ranges: list[tuple[float, float, str]] = []
    for option in options:
        below, between, above = _BELOW.match(option), _BETWEEN.match(option), _ABOVE.match(option)
        if below:
            ranges.append((-math.inf, _number(below.group(1)), option))
        elif between:
            ranges.append((_number(between.group(1)), _number(between.group(2)), option))
        elif above:
            ranges.append((_number(above.group(1)), math.inf, option))
        else:
            return None
    inside = [o for low, high, o in ranges if low <= value <= high]
    return inside[0] if inside else None


def concern_of(voice: Voice) -> str | None:
    return concern_in(voice.text)
