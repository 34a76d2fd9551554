"""The moderator's part that every strategy shares: framing the options, measuring, quorum, and the synthesis."""

from __future__ import annotations

from collections.abc import Sequence

from ask_panel.domain import consensus as consensus_math
from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.errors import QuorumLost
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.fallbacks import framed_options, tallied_synthesis
from ask_panel.domain.strategies.outcome import Outcome
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.strategies.prompts import system, transcript, user
from ask_panel.domain.strategies.schemas import options_schema, parse_options, parse_synthesis, synthesis_schema
from ask_panel.domain.strategies.speakers import MODERATOR, Speaker
from ask_panel.domain.values import Consensus, Recommendation, Stance

FRAME = StepKey.decision("frame")
SYNTHESIS = StepKey.decision("synthesis")


def latest_stances(panel: Panel) -> dict[str, Stance | None]:
    """Each member's most recent stance (None for a member with none yet)."""
    stances: dict[str, Stance | None] = {m.agent_id: None for m in panel.members}
    for m in panel.messages():
        if m.agent_id in stances and m.stance is not None:
            stances[m.agent_id] = m.stance
    return stances


def spoken(panel: Panel) -> set[str]:
    """The experts who have said something."""
    return {m.agent_id for m in panel.messages() if m.role == "expert"}


def measure(panel: Panel, options: Sequence[str], *, span: float = 100.0) -> Consensus:
    return consensus_math.measure(latest_stances(panel), options, span=span)


def quorum(members: int) -> int:
    """Quorum rule: at least half of the members (rounded up) must have spoken for a valid outcome."""
    return max(1, (members + 1) // 2)


def check_quorum(panel: Panel) -> bool:
    """Raise QuorumLost below quorum; return whether the panel is degraded (some expert went silent)."""
    voices = spoken(panel)
    needed = quorum(len(panel.members))
    if len(voices) < needed:
        raise QuorumLost(
            f"Only {len(voices)} of {len(panel.members)} experts could take part; at least {needed} are needed"
        )
    return len(voices) < len(panel.members) or panel.checkpoint.has_failures


async def frame_options(discussion: Discussion) -> list[str]:
    """The moderator turns the question into 2-4 concrete options the experts take positions on."""
    panel = discussion.panel
    decision = await discussion.decide(
        FRAME,
        speaker=MODERATOR,
        prompt=[
            system(MODERATOR.system_prompt),
            user(
                f"Question for the panel: {panel.query}\n\nFrame it as 2 to 4 mutually exclusive, "
                "concrete options the experts can take positions on. Answer as JSON."
            ),
        ],
        schema=options_schema(),
        parse=parse_options,
        fallback=framed_options(),
    )
    return list(decision["options"])


async def synthesize(
    discussion: Discussion,
    options: Sequence[str],
    *,
    speaker: Speaker = MODERATOR,
    instruction: str = "",
    key: StepKey = SYNTHESIS,
) -> Recommendation:
    """The moderator's final synthesis of the option the members' final stances adopt.

    The adopted option, its supporters and the dissent come from the members' final stances
    (`outcome.Outcome`), never from the model: the dissent lists exactly the members whose final
    position differs from the adopted option, and the rationale names the members who support it.
    The model writes the recommendation, the rationale and the points of agreement.
    """
    panel = discussion.panel
    degraded = check_quorum(panel)
    outcome = Outcome.of(panel, options)
    consensus = panel.consensus
    summary = (
        f"Consensus level {consensus.level:.2f}, confidence {consensus.confidence:.2f}, "
        f"modal position: {outcome.adopted}"
        if consensus
        else "No consensus measured."
    )
    if outcome.adopted is not None:
        supporters = ", ".join(outcome.names(panel, outcome.supporters))
        summary += f"\nThe panel adopts: {outcome.adopted}\nSupported by: {supporters}"
        if outcome.dissenters:
            summary += "\nDissenting: " + "; ".join(outcome.dissent(panel))
    else:
        summary += "\nNo expert stated a position that could be read."
    decision = await discussion.decide(
        key,
        speaker=speaker,
        prompt=[
            system(speaker.system_prompt),
            user(
                f"Question: {panel.query}\n\nDiscussion:\n{transcript(panel)}\n\n{summary}\n\n"
                f"{instruction or 'Synthesize the final recommendation of the panel.'} Give the "
                "recommendation for the adopted option, the key rationale (citing the experts who support "
                "it) and the points of agreement. Answer as JSON."
            ),
        ],
        schema=synthesis_schema(),
        parse=parse_synthesis,
        fallback=tallied_synthesis(panel, latest_stances(panel), outcome.adopted, by=speaker.agent_id),
    )
    return Recommendation(
        recommendation=decision["recommendation"],
        rationale=outcome.cited(panel, decision["rationale"]),
        agreement_points=tuple(decision["agreement_points"]),
        dissent=outcome.dissent(panel),
        degraded=degraded,
        decided_by=speaker.agent_id,
        adopted=outcome.adopted,
    )
