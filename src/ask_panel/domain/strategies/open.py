"""Open panel.

Algorithm: the moderator frames the options, then repeatedly chooses the next speaker from the
discussion so far, never the one who just spoke, up to a turn limit (`max_turns`, default
`max_rounds` x members, at most `max_rounds` x members, at least one turn per member). When the
turns left equal the members who have not spoken, the choice is limited to them, so everyone speaks
at least once. Every `members` turns form a round; consensus is measured at each round's end and the
panel stops early at the threshold once everyone has spoken. The moderator synthesizes.

Outcome (`outcome.py`): the adopted option is the most supported final position (weighted by
confidence; ties by the rankings' Borda count, then the framing order); the dissent is exactly
the members whose final position differs, in their own words; the rationale names supporters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.strategies.fallbacks import next_in_order
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import expert_prompt, order_for_round, system, transcript, user
from ask_panel.domain.strategies.schemas import stance_request
from ask_panel.domain.strategies.speakers import MODERATOR
from ask_panel.domain.strategies.synthesis import frame_options, measure, spoken, synthesize
from ask_panel.domain.values import Recommendation


def turn_limit(max_rounds: int, members: int, max_turns: int | None) -> int:
    if members <= 1:
        return 1
    ceiling = max_rounds * members
    return max(members, min(max_turns or ceiling, ceiling))


class OpenStrategy:
    name = "open"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        options = await frame_options(discussion)
        n = len(panel.members)
        limit = turn_limit(panel.configuration.max_rounds, n, panel.configuration.max_turns)
        by_id = {m.agent_id: m for m in panel.members}
        last: str | None = None
        for t in range(limit):
            number = t // n + 1
            if discussion.wrapping_up:
                break
            if t % n == 0 and not await discussion.begin_round(number, calls=3 * min(n, limit - t)):
                break  # a budget was reached: the moderator's synthesis falls back on what was said
            done = spoken(panel)
            unspoken = [m.agent_id for m in order_for_round(panel, 1) if m.agent_id not in done]
            pool = unspoken if len(unspoken) >= limit - t else [m.agent_id for m in order_for_round(panel, number)]
            candidates = [a for a in pool if a != last] or [a for a in by_id if a != last] or list(by_id)
            committed = panel.checkpoint.speaker_of_turn(t)
            if committed is not None:  # resuming: this turn was taken already
                chosen = committed
            elif len(candidates) == 1:
                chosen = candidates[0]
            else:
                decision = await discussion.decide(
                    StepKey.decision("next", turn=t),
                    speaker=MODERATOR,
                    prompt=[
                        system(MODERATOR.system_prompt),
                        user(
                            f"Question: {panel.query}\nDiscussion so far:\n{transcript(panel)}\n\n"
                            f"Choose who should speak next among: {', '.join(candidates)}. Prefer the "
                            "expert whose field the discussion most needs now. Answer as JSON."
                        ),
                    ],
                    schema={
                        "title": "next_speaker",
                        "type": "object",
                        "properties": {
                            "next_speaker": {"type": "string", "enum": candidates},
                            "reason": {"type": "string"},
                        },
                        "required": ["next_speaker"],
                        "additionalProperties": False,
                    },
                    parse=_speaker_parser(candidates),
                    fallback=next_in_order(candidates),
                    then=2,  # the chosen expert's turn: no choice is paid for that no turn follows
                )
                chosen = decision["next_speaker"]
            member = by_id[chosen]
            peers = [a for a in sorted(spoken(panel)) if a != chosen]
            await discussion.speak(
                StepKey.open_turn(t, chosen),
                speaker=discussion.speaker(chosen),
                round_number=number,
                prompt=expert_prompt(
                    discussion,
                    member,
                    f"Question: {panel.query}\nOptions: {'; '.join(options)}\n\nDiscussion so far:\n"
                    f"{transcript(panel)}\n\nThe moderator gives you the floor. Add what your field brings.",
                ),
                stance=stance_request(options, peers=peers),
            )
            last = chosen
            if t % n == n - 1 or t == limit - 1 or discussion.wrapping_up:  # the round ends (or wraps up early)
                consensus = measure(panel, options)
                await discussion.end_round(number, consensus)
                everyone = len(spoken(panel)) == n
                if everyone and consensus.level >= panel.configuration.consensus_threshold:
                    break
        return await synthesize(discussion, options)


def _speaker_parser(candidates: list[str]) -> Callable[[Mapping[str, Any]], Decision]:
    def parse(data: Mapping[str, Any]) -> Decision:
        chosen = data.get("next_speaker")
        if chosen not in candidates:
            raise InvalidInput(f"'next_speaker' must be one of {candidates}")
        return {"next_speaker": chosen, "reason": str(data.get("reason", ""))[:500]}

    return parse
