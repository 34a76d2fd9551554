"""Socratic panel.

Algorithm: the moderator frames the options. Round 1: the moderator poses a probing question to
every expert in turn (shuffled order) and each answers with a stance. Rounds 2..max_rounds: the
moderator chooses up to half of the experts (at least one) whose reasoning most needs probing and
questions them again. Consensus is measured after each round; the panel stops early at the
threshold after round 2. The moderator then summarizes what was learned as the recommendation.

Outcome (`outcome.py`): the adopted option is the most supported final position (weighted by
confidence; ties by the rankings' Borda count, then the framing order); the dissent is exactly
the members whose final position differs, in their own words; the rationale names supporters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.strategies.fallbacks import least_confident
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import expert_prompt, order_for_round, system, transcript, user
from ask_panel.domain.strategies.schemas import stance_request
from ask_panel.domain.strategies.speakers import MODERATOR
from ask_panel.domain.strategies.synthesis import frame_options, latest_stances, measure, spoken, synthesize
from ask_panel.domain.values import Recommendation


class SocraticStrategy:
    name = "socratic"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        options = await frame_options(discussion)
        by_id = {m.agent_id: m for m in panel.members}
        most = max(1, len(panel.members) // 2)
        for number in range(1, panel.configuration.max_rounds + 1):
            calls = 3 * len(panel.members) if number == 1 else 1 + 3 * most  # (targets,) a question, an answer
            if not await discussion.begin_round(number, calls=calls):
                break  # a budget was reached: the moderator's summary falls back on what was said
            order = [m.agent_id for m in order_for_round(panel, number)]
            if number == 1:
                targets = order
            else:
                decision = await discussion.decide(
                    StepKey.decision("targets", round_number=number),
                    speaker=MODERATOR,
                    prompt=[
                        system(MODERATOR.system_prompt),
                        user(
                            f"Question: {panel.query}\nDiscussion so far:\n{transcript(panel)}\n\n"
                            f"Choose 1 to {most} experts whose reasoning most needs probing, among: "
                            f"{', '.join(order)}. Answer as JSON."
                        ),
                    ],
                    schema={
                        "title": "targets",
                        "type": "object",
                        "properties": {
                            "targets": {
                                "type": "array",
                                "items": {"type": "string", "enum": order},
                                "minItems": 1,
                                "maxItems": most,
                                "uniqueItems": True,
                            }
                        },
                        "required": ["targets"],
                        "additionalProperties": False,
                    },
                    parse=_targets_parser(order, most),
                    fallback=least_confident(order, latest_stances(panel), most),
                )
                targets = decision["targets"]
            for agent_id in targets:
                if discussion.wrapping_up:
                    break
                member = by_id[agent_id]
                question = await discussion.speak(
                    StepKey.question(number, agent_id),
                    speaker=MODERATOR,
                    round_number=number,
                    prompt=[
                        system(MODERATOR.system_prompt),
                        user(
                            f"Question: {panel.query}\nDiscussion so far:\n{transcript(panel)}\n\n"
                            f"Pose one probing Socratic question to {member.agent_name} "
                            f"({member.agent_role}) that tests the assumptions of their position."
                        ),
                    ],
                    then=2,  # the expert's answer: no question is asked that is never answered
                )
                asked = question.content if question else f"What is your view on: {panel.query}"
                peers = [a for a in sorted(spoken(panel)) if a != agent_id]
                await discussion.speak(
                    StepKey.answer(number, agent_id),
                    speaker=discussion.speaker(agent_id),
                    round_number=number,
                    prompt=expert_prompt(
                        discussion,
                        member,
                        f"Question for the panel: {panel.query}\nOptions: {'; '.join(options)}\n\n"
                        f"Discussion so far:\n{transcript(panel)}\n\nThe moderator asks you: {asked}\n"
                        "Answer it directly and say whether it changes your position.",
                    ),
                    stance=stance_request(options, peers=peers),
                )
            consensus = measure(panel, options)
            await discussion.end_round(number, consensus)
            if number >= 2 and consensus.level >= panel.configuration.consensus_threshold:
                break
        return await synthesize(
            discussion, options, instruction="Summarize what the questioning revealed and what the panel learned."
        )


def _targets_parser(order: list[str], most: int) -> Callable[[Mapping[str, Any]], Decision]:
    def parse(data: Mapping[str, Any]) -> Decision:
        targets = data.get("targets")
        if (
            not isinstance(targets, list)
            or not 1 <= len(targets) <= most
            or len(set(targets)) != len(targets)
            or any(t not in order for t in targets)
        ):
            raise InvalidInput(f"'targets' must name 1 to {most} distinct experts of {order}")
        return {"targets": list(targets)}

    return parse
