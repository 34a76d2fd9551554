"""Delphi panel.

Algorithm: the moderator frames the options and a numeric question (an estimate on a 0-100
scale). Each round every expert answers anonymously and concurrently with a position, an estimate
and a confidence, seeing only the anonymised distribution of the previous round. The facilitator
feeds back the distribution (median, interquartile range, position counts) as a message.

Stopping rule: from round 2, the panel stops when the distribution is stable, that is the median
moved by at most 50 x `stability_tolerance` points and the IQR by at most 100 x
`stability_tolerance` points since the previous round (defaults: 5 and 10 points), or when the
consensus level reaches the threshold, or at `max_rounds`. The facilitator then synthesizes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.consensus import Distribution
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.fallbacks import delphi_frame
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import clip, expert_prompt, order_for_round, system, user
from ask_panel.domain.strategies.schemas import stance_request
from ask_panel.domain.strategies.speakers import FACILITATOR, MODERATOR
from ask_panel.domain.strategies.synthesis import FRAME, measure, synthesize
from ask_panel.domain.values import Member, Recommendation


def is_stable(previous: Distribution | None, current: Distribution | None, tolerance: float) -> bool:
    if previous is None or current is None:
        return False
    return (
        abs(current.median - previous.median) <= 50 * tolerance and abs(current.iqr - previous.iqr) <= 100 * tolerance
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
        frame = await discussion.decide(
            FRAME,
            speaker=MODERATOR,
            prompt=[
                system(MODERATOR.system_prompt),
                user(
                    f"Question for a Delphi panel: {panel.query}\nFrame 2 to 4 mutually exclusive "
                    "options, and one numeric question answered on a 0-100 scale (for example a "
                    "probability in percent). Answer as JSON."
                ),
            ],
            schema={
                "title": "delphi_frame",
                "type": "object",
                "properties": {
                    "options": {
                        "type": "array",
                        "items": {"type": "string", "maxLength": 120},
                        "minItems": 2,
                        "maxItems": 4,
                        "uniqueItems": True,
                    },
                    "estimate_question": {"type": "string", "maxLength": 300},
                },
                "required": ["options", "estimate_question"],
                "additionalProperties": False,
            },
            parse=_parse_frame,
            fallback=delphi_frame(),
        )
        options: list[str] = frame["options"]
        question: str = frame["estimate_question"]
        previous: Distribution | None = None
        feedback_text = "This is the first round: no group feedback yet."
        for number in range(1, panel.configuration.max_rounds + 1):
            await discussion.begin_round(number)

            async def turn(member: Member, number: int = number, feedback_text: str = feedback_text) -> None:
                await discussion.speak(
                    StepKey.speaking(number, member.agent_id),
                    speaker=discussion.speaker(member.agent_id),
                    round_number=number,
                    prompt=expert_prompt(
                        discussion,
                        member,
                        f"Delphi round {number}. Question: {panel.query}\nOptions: {'; '.join(options)}\n"
                        f"Numeric question (0-100): {question}\nAnonymous group feedback: {feedback_text}\n\n"
                        "Give your reasoning, then your position, your estimate and your confidence.",
                    ),
                    stance=stance_request(options, with_estimate=True),
                )

            async with asyncio.TaskGroup() as turns:  # a failing turn cancels its siblings
                for member in order_for_round(panel, number):
                    turns.create_task(turn(member))
            current = round_distribution(panel, number)
            positions = Counter(
                m.stance.position for m in panel.round(number).messages if m.stance is not None and m.role == "expert"
            )
            feedback: dict[str, Any] = {
                "distribution": current.summary() if current else None,
                "positions": dict(positions),
                "estimate_question": question,
            }
            feedback_text = (
                f"median {current.median:g}, interquartile range {current.q1:g}-{current.q3:g} "
                f"over {current.n} panelists; positions: " + ", ".join(f"{k}: {v}" for k, v in positions.most_common())
                if current
                else "no estimates were given"
            )
            await discussion.announce(
                StepKey.feedback(number),
                speaker=FACILITATOR,
                round_number=number,
                content=f"Round {number} anonymous feedback - {feedback_text}.",
            )
            consensus = measure(panel, options)
            await discussion.end_round(number, consensus, feedback)
            stable = is_stable(previous, current, panel.configuration.stability_tolerance)
            if stable or consensus.level >= panel.configuration.consensus_threshold:
                break
            previous = current
        return await synthesize(
            discussion,
            speaker=FACILITATOR,
            instruction=f"Synthesize the Delphi outcome, including the final estimate for: {clip(question, 200)}.",
        )


def _parse_frame(data: Mapping[str, Any]) -> Decision:
    options = data.get("options")
    question = data.get("estimate_question")
    if (
        not isinstance(options, list)
        or not 2 <= len(options) <= 4
        or not all(isinstance(o, str) and o.strip() for o in options)
        or len(set(options)) != len(options)
    ):
        raise InvalidInput("'options' must hold 2 to 4 distinct strings")
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("'estimate_question' must be a non-empty string")
    return {"options": [clip(o.strip(), 120) for o in options], "estimate_question": clip(question.strip(), 300)}
