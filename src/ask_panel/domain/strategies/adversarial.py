"""Adversarial panel.

Algorithm: the proposition is `configuration.proposition`, or the moderator states one from the
question. The members, in seeded shuffled order, are split into proponents (the first half, rounded
up) and opponents. Each round the sides alternate (proponent, opponent, ...), every speaker reading
the debate so far and rebutting the other side; each gives its honest stance (for, against or
undecided). After `max_rounds` rebuttal rounds (or earlier, when the whole panel agrees at the
threshold) a judge weighs the arguments and decides; the verdict becomes the recommendation.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import clip, expert_prompt, order_for_round, system, transcript, user
from ask_panel.domain.strategies.schemas import stance_request
from ask_panel.domain.strategies.speakers import JUDGE, MODERATOR
from ask_panel.domain.strategies.synthesis import check_quorum, measure, minority_views
from ask_panel.domain.values import Member, Recommendation

SIDES = ("for", "against", "undecided")
PROPOSITION = StepKey.decision("proposition")
VERDICT = StepKey.decision("verdict")


def split_sides(members: list[Member]) -> tuple[list[Member], list[Member]]:
    half = (len(members) + 1) // 2
    return members[:half], members[half:]


class AdversarialStrategy:
    name = "adversarial"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        proposition = panel.configuration.proposition or await self._state_proposition(discussion)
        proponents, opponents = split_sides(order_for_round(panel, 0))
        side_of = {m.agent_id: "proponent" for m in proponents} | {m.agent_id: "opponent" for m in opponents}
        speaking = [m for pair in itertools.zip_longest(proponents, opponents) for m in pair if m is not None]
        for number in range(1, panel.configuration.max_rounds + 1):
            await discussion.begin_round(number)
            for member in speaking:
                side = side_of[member.agent_id]
                task = (
                    f"Question: {panel.query}\nProposition: {proposition}\nYou argue as a {side} of the "
                    f"proposition.\n\nDebate so far:\n{transcript(panel)}\n\n"
                    + (
                        "Open your side's case."
                        if number == 1
                        else "Rebut the strongest argument of the other side and strengthen your own."
                    )
                    + " Then give your honest stance on the proposition."
                )
                await discussion.speak(
                    StepKey.speaking(number, member.agent_id),
                    speaker=discussion.speaker(member.agent_id),
                    round_number=number,
                    prompt=expert_prompt(discussion, member, task),
                    stance=stance_request(SIDES, with_ranking=False),
                )
            consensus = measure(panel, SIDES)
            await discussion.end_round(number, consensus, {"proposition": proposition})
            if consensus.level >= panel.configuration.consensus_threshold:
                break
        degraded = check_quorum(panel)
        verdict = await discussion.decide(
            VERDICT,
            speaker=JUDGE,
            prompt=[
                system(JUDGE.system_prompt),
                user(
                    f"Proposition: {proposition}\n\nDebate:\n{transcript(panel)}\n\nWeigh the arguments "
                    "and decide which side made the stronger case. Answer as JSON."
                ),
            ],
            schema={
                "title": "verdict",
                "type": "object",
                "properties": {
                    "winner": {"type": "string", "enum": ["proponents", "opponents"]},
                    "decision": {"type": "string"},
                    "rationale": {"type": "string"},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "strongest_arguments": {"type": "array", "items": {"type": "string"}, "maxItems": 6},
                },
                "required": ["winner", "decision", "rationale", "confidence", "strongest_arguments"],
                "additionalProperties": False,
            },
            parse=parse_verdict,
        )
        losing = "opponents" if verdict["winner"] == "proponents" else "proponents"
        return Recommendation(
            recommendation=verdict["decision"],
            rationale=verdict["rationale"],
            agreement_points=tuple(verdict["strongest_arguments"]),
            dissent=(f"The {losing} argued the other way on: {clip(proposition, 200)}", *minority_views(panel)),
            degraded=degraded,
            decided_by=JUDGE.agent_id,
            verdict={
                "winner": verdict["winner"],
                "confidence": verdict["confidence"],
                "proposition": proposition,
                "proponents": [m.agent_id for m in proponents],
                "opponents": [m.agent_id for m in opponents],
            },
        )

    async def _state_proposition(self, discussion: Discussion) -> str:
        decision = await discussion.decide(
            PROPOSITION,
            speaker=MODERATOR,
            prompt=[
                system(MODERATOR.system_prompt),
                user(
                    f"Question: {discussion.panel.query}\nState one clear, debatable proposition that "
                    "answers it, for the panel to argue for and against. Answer as JSON."
                ),
            ],
            schema={
                "title": "proposition",
                "type": "object",
                "properties": {"proposition": {"type": "string", "maxLength": 400}},
                "required": ["proposition"],
                "additionalProperties": False,
            },
            parse=_parse_proposition,
        )
        return str(decision["proposition"])


def _parse_proposition(data: Mapping[str, Any]) -> Decision:
    value = data.get("proposition")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("'proposition' must be a non-empty string")
    return {"proposition": clip(value.strip(), 400)}


def parse_verdict(data: Mapping[str, Any]) -> Decision:
    winner = data.get("winner")
    if winner not in ("proponents", "opponents"):
        raise InvalidInput("'winner' must be 'proponents' or 'opponents'")
    confidence = data.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        raise InvalidInput("'confidence' must be a number from 0 to 1")
    texts = {k: data.get(k) for k in ("decision", "rationale")}
    if not all(isinstance(v, str) and v.strip() for v in texts.values()):
        raise InvalidInput("'decision' and 'rationale' must be non-empty strings")
    arguments = data.get("strongest_arguments") or []
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise InvalidInput("'strongest_arguments' must be a list of strings")
    return {
        "winner": winner,
        "confidence": float(confidence),
        "decision": str(texts["decision"]),
        "rationale": str(texts["rationale"]),
        "strongest_arguments": list(arguments),
    }
