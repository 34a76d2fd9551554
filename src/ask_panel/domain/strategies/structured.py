"""Structured panel.

Algorithm: the moderator frames 2-4 options. Round 1: every expert analyses the question
independently and concurrently. Rounds 2..max_rounds: every expert reads the previous rounds and
refines its position, endorsing the most convincing other expert. Consensus is measured after each
round; the panel stops early once the level reaches `consensus_threshold`. The moderator then
synthesizes the recommendation.

Outcome (`outcome.py`): the adopted option is the most supported final position (weighted by
confidence; ties by the rankings' Borda count, then the framing order); the dissent is exactly
the members whose final position differs, in their own words; the rationale names supporters.
"""

from __future__ import annotations

import asyncio

from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import expert_prompt, order_for_round, transcript
from ask_panel.domain.strategies.schemas import stance_request
from ask_panel.domain.strategies.synthesis import frame_options, measure, spoken, synthesize
from ask_panel.domain.values import Member, Recommendation


class StructuredStrategy:
    name = "structured"

    async def run(self, discussion: Discussion) -> Recommendation:
        panel = discussion.panel
        options = await frame_options(discussion)
        option_list = "; ".join(options)
        for number in range(1, panel.configuration.max_rounds + 1):
            if not await discussion.begin_round(number, calls=2 * len(panel.members)):
                break  # a budget was reached: the moderator's synthesis falls back on what was said
            previous = transcript(panel, upto_round=number - 1)
            already_spoken = spoken(panel)

            async def turn(
                member: Member,
                number: int = number,
                previous: str = previous,
                already_spoken: set[str] = already_spoken,
            ) -> None:
                if number == 1:
                    task = (
                        f"Question: {panel.query}\nOptions: {option_list}\n\nGive your independent "
                        "analysis and recommendation from your field."
                    )
                    peers: list[str] = []
                else:
                    task = (
                        f"Question: {panel.query}\nOptions: {option_list}\n\nDiscussion so far:\n"
                        f"{previous}\n\nRound {number}: read the other experts and refine your position. "
                        "Say where you agree, where you disagree and why."
                    )
                    peers = [a for a in sorted(already_spoken) if a != member.agent_id]
                await discussion.speak(
                    StepKey.speaking(number, member.agent_id),
                    speaker=discussion.speaker(member.agent_id),
                    round_number=number,
                    prompt=expert_prompt(discussion, member, task),
                    stance=stance_request(options, peers=peers),
                )

            async with asyncio.TaskGroup() as turns:  # a failing turn cancels its siblings
                for member in order_for_round(panel, number):
                    turns.create_task(turn(member))
            consensus = measure(panel, options)
            await discussion.end_round(number, consensus)
            if consensus.level >= panel.configuration.consensus_threshold:
                break
        return await synthesize(discussion, options)
