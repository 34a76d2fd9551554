"""Delphi panel.

Algorithm:

1. The estimate: `configuration.estimate` (`{question, unit, min, max}`) when given; otherwise the
   facilitator derives from the question the quantity to estimate, its unit and a plausible range
   (so "How many months…?" is estimated in months, not as a probability). The moderator (or the
   facilitator, in the same step) also frames 2-4 options the panelists take positions on.
2. Each round every expert answers anonymously and concurrently with a position, an estimate inside
   the range (the stance schema carries the range) and a confidence, seeing only the anonymised
   feedback of the previous round.
3. The facilitator feeds back the distribution as a message: median and interquartile range in the
   estimate's unit (in words when the estimates do not spread, `estimates.py`), with the position
   counts.
4. Stopping rule: from round 2, the panel stops when the distribution is stable, that is its IQR
   moved by at most `stability_tolerance` times the range's width since the previous round and its
   median by at most half that (defaults: 10 % and 5 % of the range), or at `max_rounds`. The
   consensus level is measured and reported but does not stop a Delphi panel.
5. The facilitator synthesizes; the result reports the estimate (median, quartiles and IQR of the
   last round with estimates, in the unit), the option adopted by the final positions, and as
   dissent the panelists whose final position differs from it. Every number is rounded for
   people (at most 4 significant digits).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.configuration import MAX_ESTIMATE_QUESTION_CHARS, MAX_UNIT_CHARS, EstimateSpec
from ask_panel.domain.consensus import Distribution, significant
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.estimates import described, headline, number
from ask_panel.domain.strategies.fallbacks import delphi_frame
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import clip, expert_prompt, order_for_round, system, user
from ask_panel.domain.strategies.schemas import parse_options, stance_request
from ask_panel.domain.strategies.speakers import FACILITATOR
from ask_panel.domain.strategies.synthesis import FRAME, frame_options, measure, synthesize
from ask_panel.domain.values import Member, Recommendation

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "maxLength": 120},
    "minItems": 2,
    "maxItems": 4,
    "uniqueItems": True,
}


def is_stable(previous: Distribution | None, current: Distribution | None, tolerance: float, span: float) -> bool:
    """The IQR moved by at most `tolerance` x span, and the median by at most half that."""
    if previous is None or current is None:
        return False
    return (
        abs(current.iqr - previous.iqr) <= tolerance * span
        and abs(current.median - previous.median) <= tolerance * span / 2
    )


def round_distribution(panel: Panel, number: int) -> Distribution | None:
    estimates = [
        m.stance.estimate
        for m in panel.round(number).messages
        if m.role == "expert" and m.stance is not None and m.stance.estimate is not None
    ]
    return Distribution.of(estimates)


class DelphiStrategy:
    name = "delphi"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        options, spec = await frame(discussion)
        span = spec.max - spec.min
        asked = f"{spec.question} (in {spec.unit}, from {number(spec.min)} to {number(spec.max)})"
        previous: Distribution | None = None
        feedback_text = "This is the first round: no group feedback yet."
        for round_number in range(1, panel.configuration.max_rounds + 1):
            if not await discussion.begin_round(round_number, calls=2 * len(panel.members)):
                break  # a budget was reached: the synthesis falls back on the rounds held

            async def turn(member: Member, n: int = round_number, feedback_text: str = feedback_text) -> None:
                await discussion.speak(
                    StepKey.speaking(n, member.agent_id),
                    speaker=discussion.speaker(member.agent_id),
                    round_number=n,
                    prompt=expert_prompt(
                        discussion,
                        member,
                        f"Delphi round {n}. Question: {panel.query}\nOptions: {'; '.join(options)}\n"
                        f"Numeric question: {asked}\nAnonymous group feedback: {feedback_text}\n\n"
                        f"Give your reasoning, then your position, your estimate in {spec.unit} and your "
                        "confidence.",
                    ),
                    stance=stance_request(options, with_estimate=True, estimate_range=(spec.min, spec.max)),
                )

            async with asyncio.TaskGroup() as turns:  # a failing turn cancels its siblings
                for member in order_for_round(panel, round_number):
                    turns.create_task(turn(member))
            current = round_distribution(panel, round_number)
            positions = Counter(
                m.stance.position
                for m in panel.round(round_number).messages
                if m.stance is not None and m.role == "expert"
            )
            feedback: dict[str, Any] = {
                "distribution": current.summary() if current else None,
                "positions": dict(positions),
                "estimate_question": spec.question,
                "unit": spec.unit,
            }
            feedback_text = (
                described(current, spec.unit)
                + "; positions: "
                + ", ".join(f"{k}: {v}" for k, v in positions.most_common())
                if current
                else "no estimates were given"
            )
            await discussion.announce(
                StepKey.feedback(round_number),
                speaker=FACILITATOR,
                round_number=round_number,
                content=f"Round {round_number} anonymous feedback - {feedback_text}.",
            )
            consensus = measure(panel, options, span=span)
            await discussion.end_round(round_number, consensus, feedback)
            if is_stable(previous, current, panel.configuration.stability_tolerance, span):
                break
            previous = current
        final = last_distribution(panel)
        result = await synthesize(
            discussion,
            options,
            speaker=FACILITATOR,
            instruction=(
                f"Synthesize the Delphi outcome, including the final estimate for: {clip(spec.question, 200)}"
                + (f" ({described(final, spec.unit)})." if final else ".")
            ),
        )
        if final is None:
            return result
        estimate = {
            "question": spec.question,
            "unit": spec.unit,
            "min": significant(spec.min),
            "max": significant(spec.max),
            **final.summary(),
        }
        return _with_estimate(result, estimate, headline(final, spec.unit))


def last_distribution(panel: Panel) -> Distribution | None:
    """The distribution of the last round in which estimates were given."""
    for rnd in reversed(panel.rounds):
        found = round_distribution(panel, rnd.round_number)
        if found is not None:
            return found
    return None


def _with_estimate(result: Recommendation, estimate: dict[str, Any], headline: str) -> Recommendation:
    return replace(result, recommendation=f"{headline} {result.recommendation}", estimate=estimate)


async def frame(discussion: Discussion) -> tuple[list[str], EstimateSpec]:
    """The options, and the estimate: the configured one, or the facilitator's from the question."""
    panel = discussion.panel
    configured = panel.configuration.estimate
    if configured is not None:
        return await frame_options(discussion), configured
    decision = await discussion.decide(
        FRAME,
        speaker=FACILITATOR,
        prompt=[
            system(FACILITATOR.system_prompt),
            user(
                f"Question for a Delphi panel: {panel.query}\nFrame 2 to 4 mutually exclusive options the "
                "panelists can take positions on, and the one quantity whose estimate answers the question: "
                "the estimate question, its unit (as people say it: months, USD, percent, patients) and a "
                "plausible range (min below max) wide enough for every sensible answer. Answer as JSON."
            ),
        ],
        schema={
            "title": "delphi_frame",
            "type": "object",
            "properties": {
                "options": OPTIONS_SCHEMA,
                "estimate_question": {"type": "string", "maxLength": 300},
                "unit": {"type": "string", "maxLength": 40},
                "min": {"type": "number"},
                "max": {"type": "number"},
            },
            "required": ["options", "estimate_question", "unit", "min", "max"],
            "additionalProperties": False,
        },
        parse=_parse_frame,
        fallback=delphi_frame(),
    )
    if "unit" not in decision:  # a frame checkpointed before estimates had units: a 0-100 scale
        return list(decision["options"]), EstimateSpec(decision["estimate_question"], "percent", 0.0, 100.0)
    spec = EstimateSpec(decision["estimate_question"], decision["unit"], float(decision["min"]), float(decision["max"]))
    return list(decision["options"]), spec


def _parse_frame(data: Mapping[str, Any]) -> Decision:
    options = parse_options(data)["options"]
    low, high = data.get("min"), data.get("max")
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= 1e15
        for v in (low, high)
    ):
        raise InvalidInput("'min' and 'max' must be numbers")
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if not low < high:
        raise InvalidInput("'min' must be less than 'max'")
    question, unit = data.get("estimate_question"), data.get("unit")
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("'estimate_question' must be a non-empty string")
    if not isinstance(unit, str) or not 0 < len(unit.strip()) <= MAX_UNIT_CHARS:
        raise InvalidInput(f"'unit' must be a string of 1 to {MAX_UNIT_CHARS} characters")
    return {
        "options": options,
        "estimate_question": clip(question.strip(), MAX_ESTIMATE_QUESTION_CHARS),
        "unit": unit.strip(),
        "min": float(low),
        "max": float(high),
    }
