"""The simulated model's JSON answers: a valid instance of the requested schema, filled with sense.

Fields are filled by name where the name says what they hold (options that fit the question, an
estimate question in the question's unit, a proposition, a verdict weighed from the debate, a
synthesis that follows the stances in the transcript, a stance that matches the expert's prose);
any other field gets a plain valid value of its type, so a new schema never breaks the model.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from ask_panel.domain.llm import JsonSchema
from ask_panel.infrastructure.llm.simulated_context import (
    Context,
    Voice,
    concern_in,
    latest_positions,
    medians_in,
    voices_in,
)
from ask_panel.infrastructure.llm.simulated_fields import GENERIC, Field, field_of_text
from ask_panel.infrastructure.llm.simulated_question import Question
from ask_panel.infrastructure.llm.simulated_views import estimate_of, option_for_estimate, seeded, unit_for, view_of

_CONDITION = re.compile(
    r"(?:provided that|condition is that|only if|as long as|assumes that|assuming that|still insist that) ([^.]+)\."
)
"""A condition a turn sets, in any of the simulated experts' phrasings (`simulated_text.py`)."""
_CITED = re.compile(r"^\[(?P<ref>[^\]]+)\] (?P<name>[^,\n]+), (?P<side>proponent|opponent)[^:\n]*: (?P<text>.*)$", re.M)


def options_for(question: Question) -> list[str]:
    """2 to 4 options that answer the question: its own alternatives, yes/no/staged, ranges, or its field's."""
    if question.form == "choice":
        return list(question.alternatives)[:4]
    if question.form == "yes_no" and question.action:
        action = question.action
        return [
            f"Go ahead and {action}",
            f"Run a limited pilot first, then decide whether to {action}",
            f"Do not {action} for now",
        ]
    if question.form == "quantity" and question.unit is not None:
        unit = question.unit
        low, high = _nice(unit.typical * 0.6), _nice(unit.typical * 1.5)
        if unit.name == "%":
            low, high = 35.0, 70.0
        return [f"Less than {unit.fmt(low)}", f"{unit.span(low, high)}", f"More than {unit.fmt(high)}"]
    field = field_of_text(question.text)
    if field is not None and field.options:
        return list(field.options)[:3] if len(field.options) > 3 else list(field.options)
    topic = question.topic
    return [
        f"Commit now to {topic}",
        f"Test {topic} in a limited pilot first",
        f"Wait until the main uncertainties about {topic} are resolved",
    ]


def _nice(value: float) -> float:
    if value < 10:
        return float(round(value))
    step = 5 if value < 100 else 50 if value < 1000 else 500
    return float(round(value / step) * step)


def estimate_question(question: Question) -> str:
    unit = question.unit
    if question.form == "quantity" and unit is not None:
        return f"{question.text.rstrip('?. ')}? Answer in {unit.name}, from {unit.low:g} to {unit.high:g}."
    best = options_for(question)[0]
    return f"Probability (0-100%) that '{best}' succeeds as planned. Answer in %, from 0 to 100."


def proposition_for(question: Question) -> str:
    if question.form == "yes_no" and question.action:
        return f"We should {question.action}."
    if question.form == "choice" and len(question.alternatives) >= 2:
        first, second = question.alternatives[0], question.alternatives[1]
        return f"We should {first[:1].lower() + first[1:]} rather than {second[:1].lower() + second[1:]}."
    if question.form == "quantity" and question.unit is not None:
        return f"The answer is at most {question.unit.fmt(_nice(question.unit.typical))}."
    return f"We should adopt '{options_for(question)[0]}'."


class Decisions:
    """Builds the JSON answer for one request."""

    def __init__(self, ctx: Context, rng: random.Random, seed: str) -> None:
        self.ctx = ctx
        self.rng = rng
        self.seed = seed

    def answer(self, schema: JsonSchema) -> Any:
        value = self.of(schema, "")
        if isinstance(value, dict) and schema.get("title") == "verdict":
            value = self._verdict(schema, value)
        return value

    # ---- by type ------------------------------------------------------------------------------
    def of(self, schema: JsonSchema, name: str) -> Any:
        kind = schema.get("type")
        if "enum" in schema:
            return self.choice(list(schema["enum"]), name)
        if kind == "object":
            return self.obj(schema)
        if kind == "array":
            return self.array(schema, name)
        if kind in ("number", "integer"):
            return self.number(schema, name)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return self.text(schema, name)

    def obj(self, schema: JsonSchema) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        return {key: self.of(sub, key) for key, sub in props.items()}

    def choice(self, values: list[Any], name: str) -> Any:
        if name == "position":
            return self._position(values)
        if name in ("winner", "verdict"):
            return self._winner(values)
        if name == "next_speaker":
            return self.rng.choice(values)
        return self.rng.choice(values)

    def array(self, schema: JsonSchema, name: str) -> list[Any]:
        items: JsonSchema = schema.get("items", {})
        low, high = int(schema.get("minItems", 0)), int(schema.get("maxItems", 3))
        if name == "options":
            return _fit(self._options(), low, high)
        if "enum" in items:
            values = list(items["enum"])
            if name == "ranking":
                view = view_of(self.ctx, values, self.seed)
                return list(view.ranking)[: max(low, min(high, len(values)))]
            return self.rng.sample(values, self.rng.randint(low, min(high, len(values))))
        if name in ("agreement_points", "strongest_arguments"):
            return _fit(self._agreement(), low, high)
        if name == "dissent":
            return _fit(self._dissent(), low, high)
        if items.get("type") == "object":
            return [self.obj(items) for _ in range(max(low, 1))]
        count = self.rng.randint(max(low, min(1, high)), max(low, min(2, high)))  # at least one, when allowed
        return [self.text(items, name) for _ in range(count)]

    def number(self, schema: JsonSchema, name: str) -> float:
        low, high = float(schema.get("minimum", 0)), float(schema.get("maximum", 1))
        if name == "confidence":
            value = self._confidence()
        elif name == "estimate":
            value, _first, _unit = estimate_of(self.ctx, self.seed)
        elif name in ("min", "minimum", "low"):
            value = unit_for(self._frame_context()).low
        elif name in ("max", "maximum", "high"):
            value = unit_for(self._frame_context()).high
        else:
            value = self.rng.uniform(low, high)
        value = min(high, max(low, value)) if "minimum" in schema or "maximum" in schema else value
        return round(value) if schema.get("type") == "integer" else round(value, 2)

    def text(self, schema: JsonSchema, name: str) -> str:
        question = self.ctx.question
        match name:
            case "recommendation":
                text = self._recommendation()
            case "rationale":
                text = self._rationale()
            case "proposition":
                text = proposition_for(question)
            case "estimate_question" | "quantity" | "question":
                text = estimate_question(question)
            case "unit":  # as people say it: 'percent', not '%'
                name = unit_for(self._frame_context()).name
                text = "percent" if name == "%" else name
            case "decision":
                text = self._recommendation()
            case "settle":
                evidence = self.rng.choice(self._field().evidence)
                text = f"{evidence[:1].upper() + evidence[1:]}, which neither side produced."
            case "why" | "reason":
                evidence = self.rng.choice(self._field().evidence)
                text = f"The argument addresses {question.topic} directly and rests on {evidence}."
            case _:
                text = f"This follows from the discussion of {question.topic}."
        limit = schema.get("maxLength")
        return text[:limit] if isinstance(limit, int) else text

    # ---- meaning ------------------------------------------------------------------------------
    def _field(self) -> Field:
        return field_of_text(self.ctx.question.text) or GENERIC

    def _frame_context(self) -> Context:
        """The request as it would read once the estimate question this model frames is asked."""
        return replace(self.ctx, numeric=self.ctx.numeric or estimate_question(self.ctx.question))

    def _options(self) -> list[str]:
        return options_for(self.ctx.question)

    def _position(self, values: list[Any]) -> Any:
        side = {"proponent": "for", "opponent": "against"}.get(self.ctx.side or "")
        if side in values:
            return side
        options = [str(v) for v in values]
        if self.ctx.numeric is not None:  # a Delphi stance: the option that holds the estimate, if options are ranges
            value, _first, _unit = estimate_of(self.ctx, self.seed)
            held = option_for_estimate(options, value)
            if held is not None:
                return held
        return view_of(self.ctx, options, self.seed).position

    def _confidence(self) -> float:
        enum_options = self.ctx.options
        if enum_options:
            return view_of(self.ctx, enum_options, self.seed).confidence
        return round(self.rng.uniform(0.6, 0.9), 2)

    def _standings(self) -> tuple[str | None, list[Voice], list[Voice]]:
        """The modal position of the transcript, its supporters and the others (by their latest stance)."""
        latest = list(latest_positions(_all_voices(self.ctx)).values())
        modal_line = re.search(r"modal position: ([^\n]+)", self.ctx.prompt)
        modal = modal_line.group(1).strip() if modal_line else None
        if modal in (None, "None"):
            counts = Counter(v.position for v in latest)
            modal = max(counts, key=lambda p: (counts[p], p)) if counts else None
        supporters = [v for v in latest if v.position == modal]
        others = [v for v in latest if v.position != modal]
        return modal, supporters, others

    def _conditions(self, supporters: list[Voice]) -> list[str]:
        """The conditions the supporters set, the latest first (a turn need not restate its condition)."""
        names = {v.name for v in supporters}
        lines = [v for v in reversed(_all_voices(self.ctx)) if v.name in names and v.role == "expert"]
        return list(dict.fromkeys(c for v in lines for c in conditions_in(v.text)))

    def _recommendation(self) -> str:
        modal, supporters, others = self._standings()
        estimate = medians_in(self.ctx.prompt)
        conditions = self._conditions(supporters)
        proviso = f", provided that {conditions[0]}" if conditions else ""
        if estimate and re.search(r"Delphi|estimate", self.ctx.prompt):
            # the facilitator's outcome states the estimate itself: the recommendation says what to plan on
            value = unit_for(self.ctx).fmt(estimate[-1])
            if modal is None:
                return f"Plan on {value}{proviso}."
            if option_for_estimate([modal], estimate[-1]) is not None:
                return f"Plan on {value}, within the panel's range of '{modal}'{proviso}."
        if modal and not _majority(supporters, others):
            return (
                f"The panel is divided and has no majority; on confidence-weighted support it leans towards "
                f"'{modal}'{proviso}, and the choice should be revisited once the open points are settled."
            )
        if modal:
            return f"The panel recommends '{modal}'{proviso}."
        return f"The panel recommends testing the riskiest assumption about {self.ctx.question.topic} first."

    def _rationale(self) -> str:
        modal, supporters, others = self._standings()
        if not supporters or modal is None:
            topic = self.ctx.question.topic
            return f"No position won clear support, so the safest course on {topic} is to learn more first."
        said = _all_voices(self.ctx)
        deferring = {v.name for v in supporters if any(_deferring(x.text) for x in said if x.name == v.name)}
        lead = max(supporters, key=lambda v: (v.name not in deferring, v.confidence or 0, v.name))
        total = len(supporters) + len(others)
        concern = concern_in(lead.text)
        reason = f", pointing to {concern}" if concern else ""
        if not others:
            return f"Every expert supports '{modal}'; {lead.name} made the strongest case{reason}."
        if _majority(supporters, others):
            share = f"{_spelled(len(supporters))} of the {_spelled(total).lower()} experts support"
            return f"{share} '{modal}'; {lead.name} made the strongest case{reason}."
        return f"{_split(modal, supporters, others)} {lead.name} argued for it{reason}."

    def _agreement(self) -> list[str]:
        _, supporters, _ = self._standings()
        points = [
            f"{v.name}'s condition: {c}."
            for v in sorted(supporters, key=lambda v: v.name)
            for c in self._conditions([v])[:1]
        ]
        return points or [
            f"{self.ctx.question.topic[:1].upper() + self.ctx.question.topic[1:]} needs a decision backed by evidence."
        ]

    def _dissent(self) -> list[str]:
        _, _, others = self._standings()
        out = []
        for voice in others:
            concern = concern_in(voice.text)
            because = f", because of {concern}" if concern else ""
            out.append(f"{voice.name} prefers '{voice.position}'{because}.")
        return out

    def _winner(self, values: list[Any]) -> Any:
        cited = list(_CITED.finditer(self.ctx.prompt))
        if cited:
            strength = {"proponent": 0.0, "opponent": 0.0}
            for m in cited:
                strength[m.group("side")] += seeded(self.seed, m.group("ref"), "strength").uniform(0.5, 1.0)
        else:
            voices = _all_voices(self.ctx)
            strength = {
                "proponent": sum(v.confidence or 0.5 for v in voices if v.position == "for"),
                "opponent": sum(v.confidence or 0.5 for v in voices if v.position == "against"),
            }
        margin = strength["proponent"] - strength["opponent"] + self.rng.uniform(-0.3, 0.3)
        if abs(margin) < 0.15 and "undecided" in values:
            return "undecided"
        winner = "proponents" if margin >= 0 else "opponents"
        return winner if winner in values else self.rng.choice(values)

    def _verdict(self, schema: JsonSchema, value: dict[str, Any]) -> dict[str, Any]:
        """Reasons that cite arguments actually made, by the side the verdict favours."""
        outcome = value.get("verdict", value.get("winner"))
        cited = list(_CITED.finditer(self.ctx.prompt))
        side = {"proponents": "proponent", "opponents": "opponent"}.get(str(outcome))
        chosen = [m for m in cited if side is None or m.group("side") == side]
        reasons_schema = schema.get("properties", {}).get("reasons")
        if chosen and isinstance(reasons_schema, dict):
            most = int(reasons_schema.get("maxItems", 3))
            picked = chosen[-min(len(chosen), most, 2) :]
            value["reasons"] = [
                {
                    "cites": m.group("ref"),
                    "why": _why(m.group("side"), m.group("text"), side, _replies(cited, m), index),
                }
                for index, m in enumerate(picked)
            ]
        if "decision" in value:
            value["decision"] = {
                "proponents": f"Accept the proposition: {self.ctx.proposition or 'as stated'}",
                "opponents": f"Reject the proposition: {self.ctx.proposition or 'as stated'}",
            }.get(str(outcome), "Undecided: neither side made the stronger case.")
        return value


_WHY_UNANSWERED = (
    "Its point about {phrase} was never answered by the {others}.",
    "The {others} did not engage with {phrase}, and that is the crux of the debate.",
)
_WHY_ANSWERED = (
    "The {others} replied on {phrase}, but the reply did not remove the concern.",
    "The {others}' answer on {phrase} was weaker than the point itself.",
)
_WHY_BALANCED = (
    "It makes a real point about {phrase}, but the {others} answered it as strongly.",
    "Its point about {phrase} stands, and so does the {others}' reply to it.",
)


def _why(speaker_side: str, text: str, winner: str | None, replies: str, index: int) -> str:
    """Why the judge weighs an argument: the risk or benefit it named, and whether the other side answered it.

    `replies` is what the other side said; the reason says "never answered" only when no reply names it.
    Two reasons of one verdict never share a frame (`index`).
    """
    kind = ("risks",) if speaker_side == "opponent" else ("benefits",)
    phrase = concern_in(text, kind)
    others = "proponents" if speaker_side == "opponent" else "opponents"
    if phrase is None:
        point = "objection" if speaker_side == "opponent" else "claim"
        plain = (
            (f"Its central {point} stands, but the {others} answered it as strongly.", "The exchange here was even.")
            if winner is None
            else (
                f"Its central {point} stands, and the {others} did not dislodge it.",
                f"The {others} had no convincing reply to this {point}.",
            )
        )
        return plain[index % len(plain)]
    if winner is None:
        family = _WHY_BALANCED
    else:
        family = _WHY_ANSWERED if phrase.lower() in replies.lower() else _WHY_UNANSWERED
    return family[index % len(family)].format(phrase=phrase, others=others)


def _replies(cited: list[re.Match[str]], argument: re.Match[str]) -> str:
    """What the other side said after `argument` was made (the arguments are cited in debate order)."""
    later = cited[cited.index(argument) + 1 :]
    return " ".join(m.group("text") for m in later if m.group("side") != argument.group("side"))


def conditions_in(text: str) -> list[str]:
    """The conditions a turn sets ('... provided that X.', '... condition is that X.')."""
    return [m.group(1).strip() for m in _CONDITION.finditer(text)]


def _all_voices(ctx: Context) -> list[Voice]:
    return voices_in(ctx.prompt)


_DEFERS = re.compile(
    r"not my specialty|not my field|outside my field|not a specialist|rather than as a specialist|"
    r"stay in my lane|from the side of|informed outsider|outside view|no inside view|"
    r"specialists' (?:view|numbers|evidence)"
)
"""How the simulated experts say a question lies outside their field (`simulated_text.py`)."""


def _deferring(text: str) -> bool:
    """The speaker spoke as a non-specialist (a rationale credits a specialist with the case, when one agrees)."""
    return _DEFERS.search(text) is not None


def _majority(supporters: list[Voice], others: list[Voice]) -> bool:
    return len(supporters) * 2 > len(supporters) + len(others)


def _split(modal: str, supporters: list[Voice], others: list[Voice]) -> str:
    """How a panel without a majority divided, said plainly ('split three ways, one expert per option')."""
    counts = Counter(v.position for v in [*supporters, *others])
    total = sum(counts.values())
    if len(counts) == total:
        head = f"The panel is split {_ways(total)}, each expert on a different option, so there is no majority."
    elif len(counts) == 2:
        head = f"The panel is evenly split, {_spelled(len(supporters)).lower()} experts on each side."
    else:
        tally = ", ".join(f"{_spelled(n).lower()} for '{p}'" for p, n in counts.most_common())
        head = f"No option has a majority: {tally}."
    return f"{head} '{modal}' is adopted on confidence-weighted support, not on a majority."


def _ways(n: int) -> str:
    return {2: "down the middle", 3: "three ways", 4: "four ways"}.get(n, f"{n} ways")


def _spelled(n: int) -> str:
    words = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]
    return words[n] if 0 <= n < len(words) else str(n)


def _fit(values: list[str], low: int, high: int) -> list[str]:
    unique = list(dict.fromkeys(values))
    return unique[: max(0, high)] if len(unique) >= low else unique
