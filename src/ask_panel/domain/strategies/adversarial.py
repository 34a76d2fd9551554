"""Adversarial panel.

Algorithm:

1. The proposition is `configuration.proposition`, or the moderator states one from the question.
2. Sides: the members, shuffled with the panel's seed, are split into proponents and opponents of
   equal size (with an odd count, the seed decides which side has the extra member).
3. Round 1: opening statements. Rounds 2..max(2, `max_rounds`): rebuttals, each speaker answering
   the other side's latest argument. In every round the sides alternate turn by turn, and the side
   that speaks first alternates from round to round (proponents open round 1).
4. A debater argues its own side only: its stance schema is built for its side (`for` for a
   proponent, `against` for an opponent), so a stance for the other side is refused like any bad
   stance (repaired once, else the turn is kept without its stance). Consensus is measured after
   every round for the record, but agreement never ends a debate early: every round is held
   (only a budget reached after the openings ends it early: no judge is asked, the verdict is undecided).
5. The judge weighs the arguments and gives a verdict, `proponents`, `opponents` or `undecided`,
   with reasons that each cite an argument made in the debate (by its reference, so a reason can
   only cite an argument that exists), and says what would settle the question.
6. The recommendation follows the verdict: the proposition is accepted (proponents) or rejected
   (opponents), or the panel says it is undecided and what would settle it. The losing side's
   debaters are the dissent, each with their last argument.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.fallbacks import proposition_from, undecided_verdict
from ask_panel.domain.strategies.outcome import excerpt
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import clip, expert_prompt, system, transcript, user
from ask_panel.domain.strategies.schemas import require_number, stance_request
from ask_panel.domain.strategies.speakers import JUDGE, MODERATOR
from ask_panel.domain.strategies.synthesis import check_quorum, measure
from ask_panel.domain.values import Member, Message, Recommendation

PROPONENT, OPPONENT = "proponent", "opponent"
POSITION = {PROPONENT: "for", OPPONENT: "against"}
VERDICTS = ("proponents", "opponents", "undecided")
PROPOSITION = StepKey.decision("proposition")
VERDICT = StepKey.decision("verdict")
MAX_REASONS = 4


@dataclass(frozen=True, slots=True)
class Sides:
    proponents: tuple[Member, ...]
    opponents: tuple[Member, ...]

    def side_of(self, agent_id: str) -> str:
        return PROPONENT if any(m.agent_id == agent_id for m in self.proponents) else OPPONENT

    def speaking_order(self, round_number: int) -> list[Member]:
        """Turns alternate between the sides; proponents open odd rounds, opponents even ones."""
        first, second = (
            (self.proponents, self.opponents) if round_number % 2 == 1 else (self.opponents, self.proponents)
        )
        order: list[Member] = []
        for i in range(max(len(first), len(second))):
            order.extend(side[i] for side in (first, second) if i < len(side))
        return order


def assign_sides(panel: Panel) -> Sides:
    """Balanced sides, drawn with the panel's seed: sizes differ by at most one."""
    members = list(panel.members)
    rng = random.Random(f"{panel.configuration.seed}:sides")
    rng.shuffle(members)
    larger = (len(members) + 1) // 2
    half = larger if rng.random() < 0.5 or len(members) < 2 else len(members) - larger
    return Sides(tuple(members[:half]), tuple(members[half:]))


def debate_rounds(max_rounds: int) -> int:
    """Openings plus at least one round of rebuttals."""
    return max(2, max_rounds)


def argument_ref(message: Message) -> str:
    """How the judge cites an argument: its round and speaker (`r2:fda_expert`)."""
    return f"r{message.round}:{message.agent_id}"


class AdversarialStrategy:
    name = "adversarial"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        proposition = panel.configuration.proposition or await self._state_proposition(discussion)
        sides = assign_sides(panel)
        for number in range(1, debate_rounds(panel.configuration.max_rounds) + 1):
            if not await discussion.begin_round(number, calls=2 * len(panel.members)):
                break  # a budget was reached: no judge is asked, the verdict is undecided
            for member in sides.speaking_order(number):
                if discussion.wrapping_up:
                    break
                side = sides.side_of(member.agent_id)
                await discussion.speak(
                    StepKey.speaking(number, member.agent_id),
                    speaker=discussion.speaker(member.agent_id),
                    round_number=number,
                    prompt=expert_prompt(discussion, member, _debater_task(panel, proposition, sides, member, number)),
                    stance=stance_request((POSITION[side],), with_ranking=False),
                )
            consensus = measure(panel, tuple(POSITION.values()))
            await discussion.end_round(number, consensus, {"proposition": proposition})
        degraded = check_quorum(panel)
        arguments = {argument_ref(m): m for m in panel.messages() if m.role == "expert"}
        verdict = await discussion.decide(
            VERDICT,
            speaker=JUDGE,
            prompt=[system(JUDGE.system_prompt), user(_judge_task(panel, proposition, sides, arguments))],
            schema=verdict_schema(list(arguments)),
            parse=verdict_parser(list(arguments)),
            fallback=undecided_verdict(len(arguments)),
        )
        return _recommendation(panel, proposition, sides, arguments, verdict, degraded)

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
            fallback=proposition_from(discussion.panel.query),
        )
        return str(decision["proposition"])


def _debater_task(panel: Panel, proposition: str, sides: Sides, member: Member, number: int) -> str:
    side = sides.side_of(member.agent_id)
    stance = "in favour of" if side == PROPONENT else "against"
    head = (
        f"Question: {panel.query}\nProposition: {proposition}\nYou are a {side}: you argue {stance} the "
        "proposition, whatever the others say.\n\n"
    )
    if number == 1:
        return head + "Opening statements. Make your side's strongest case from your field."
    other = [m for m in panel.messages() if m.role == "expert" and sides.side_of(m.agent_id) != side]
    target = (
        f"The other side's latest argument, by {other[-1].agent_name}: {clip(other[-1].content, 600)}\n\n"
        if other
        else ""
    )
    return (
        head + f"Debate so far:\n{transcript(panel)}\n\n{target}Round {number}, rebuttal: answer the other "
        "side's strongest argument directly and strengthen your own case."
    )


def _judge_task(panel: Panel, proposition: str, sides: Sides, arguments: Mapping[str, Message]) -> str:
    listed = "\n".join(
        f"[{ref}] {m.agent_name}, {sides.side_of(m.agent_id)}, round {m.round}: {clip(m.content, 600)}"
        for ref, m in arguments.items()
    )
    return (
        f"Proposition: {proposition}\n\nThe arguments made, with their references:\n{listed}\n\n"
        "Weigh the arguments on their merits, not on how many debaters made them. Decide which side "
        "made the stronger case: 'proponents', 'opponents', or 'undecided' when neither did. Give up "
        f"to {MAX_REASONS} reasons, each citing by its reference the argument it rests on, and say what "
        "evidence or argument would settle the question. Answer as JSON."
    )


def verdict_schema(refs: Sequence[str]) -> dict[str, Any]:
    return {
        "title": "verdict",
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": list(VERDICTS)},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reasons": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_REASONS,
                "items": {
                    "type": "object",
                    "properties": {
                        "cites": {"type": "string", "enum": list(refs)},
                        "why": {"type": "string", "maxLength": 400},
                    },
                    "required": ["cites", "why"],
                    "additionalProperties": False,
                },
            },
            "settle": {"type": "string", "maxLength": 400},
        },
        "required": ["verdict", "confidence", "reasons", "settle"],
        "additionalProperties": False,
    }


def verdict_parser(refs: Sequence[str]) -> Callable[[Mapping[str, Any]], Decision]:
    """Reads the judge's verdict; a reason citing an argument that was not made is refused."""
    known = set(refs)

    def parse(data: Mapping[str, Any]) -> Decision:
        verdict = data.get("verdict")
        if verdict not in VERDICTS:
            raise InvalidInput(f"'verdict' must be one of {list(VERDICTS)}")
        confidence = require_number(data, "confidence", 0, 1)
        raw = data.get("reasons")
        if not isinstance(raw, list) or not raw:
            raise InvalidInput("'reasons' must be a non-empty list")
        reasons: list[dict[str, str]] = []
        for item in raw:
            if not isinstance(item, Mapping) or item.get("cites") not in known:
                raise InvalidInput(f"each reason must cite one of the arguments made: {sorted(known)}")
            why = item.get("why")
            if not isinstance(why, str) or not why.strip():
                raise InvalidInput("each reason needs a non-empty 'why'")
            if all(r["cites"] != item["cites"] for r in reasons):
                reasons.append({"cites": str(item["cites"]), "why": clip(why.strip(), 400)})
        settle = data.get("settle")
        if not isinstance(settle, str) or not settle.strip():
            raise InvalidInput("'settle' must be a non-empty string")
        return {
            "verdict": verdict,
            "confidence": confidence,
            "reasons": reasons[:MAX_REASONS],
            "settle": clip(settle.strip(), 400),
        }

    return parse


def _recommendation(
    panel: Panel,
    proposition: str,
    sides: Sides,
    arguments: Mapping[str, Message],
    verdict: Decision,
    degraded: bool,
) -> Recommendation:
    outcome = str(verdict["verdict"])
    settle = str(verdict["settle"])
    reasons = [
        {
            "agent_id": arguments[r["cites"]].agent_id,
            "agent_name": arguments[r["cites"]].agent_name,
            "side": sides.side_of(arguments[r["cites"]].agent_id),
            "round": arguments[r["cites"]].round,
            "argument": excerpt(arguments[r["cites"]].content),
            "why": r["why"],
        }
        for r in verdict["reasons"]
    ]
    cited = [f"{r['agent_name']} ({r['side']}, round {r['round']}): {r['argument']}" for r in reasons]
    why = " ".join(f"{r['why'].rstrip('.')} ({r['agent_name']}, round {r['round']})." for r in reasons)
    if outcome == "proponents":
        text = f"Accept the proposition: {proposition}"
        rationale = f"The proponents made the stronger case. {why}"
        losers = sides.opponents
    elif outcome == "opponents":
        text = f"Reject the proposition: {proposition}"
        rationale = f"The opponents made the stronger case. {why}"
        losers = sides.proponents
    else:
        text = (
            f"Undecided: the debate did not settle whether to accept the proposition ({proposition.rstrip('. ')}). "
            f"What would settle it: {settle}"
        )
        rationale = f"Neither side made the stronger case. {why} What would settle it: {settle}"
        losers = ()
    last = {m.agent_id: m for m in panel.messages() if m.role == "expert"}
    dissent = tuple(
        f"{m.agent_name} ({sides.side_of(m.agent_id)}) argued: {excerpt(last[m.agent_id].content)}"
        for m in losers
        if m.agent_id in last
    )
    return Recommendation(
        recommendation=text,
        rationale=rationale,
        agreement_points=tuple(cited),
        dissent=dissent,
        degraded=degraded,
        decided_by=JUDGE.agent_id,
        verdict={
            "winner": outcome,
            "confidence": verdict["confidence"],
            "proposition": proposition,
            "proponents": [m.agent_id for m in sides.proponents],
            "opponents": [m.agent_id for m in sides.opponents],
            "reasons": reasons,
            "settle": settle,
        },
    )


def _parse_proposition(data: Mapping[str, Any]) -> Decision:
    value = data.get("proposition")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("'proposition' must be a non-empty string")
    return {"proposition": clip(value.strip(), 400)}
