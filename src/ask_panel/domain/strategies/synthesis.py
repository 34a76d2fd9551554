"""The moderator's part that every strategy shares: framing the options, measuring, quorum, and the synthesis."""

from __future__ import annotations

from collections.abc import Sequence

from ask_panel.domain import consensus as consensus_math
from ask_panel.domain.checkpoint import StepKey
from ask_panel.domain.errors import QuorumLost
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.fallbacks import framed_options, tallied_synthesis
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


def measure(panel: Panel, options: Sequence[str]) -> Consensus:
    return consensus_math.measure(latest_stances(panel), options)


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


def minority_views(panel: Panel) -> list[str]:
    """Experts whose latest position differs from the modal one, in their own words (shortened)."""
    stances = latest_stances(panel)
    positions = [s.position for s in stances.values() if s is not None]
    if not positions:
        return []
    modal = max(set(positions), key=positions.count)
    views = []
    for agent_id, stance in stances.items():
        if stance is not None and stance.position != modal:
            views.append(
                f"{panel.member(agent_id).agent_name} prefers '{stance.position}' (confidence {stance.confidence:.2f})"
            )
    return views


async def synthesize(
    discussion: Discussion, *, speaker: Speaker = MODERATOR, instruction: str = "", key: StepKey = SYNTHESIS
) -> Recommendation:
    """The moderator's final synthesis: recommendation, rationale, agreement and dissent."""
    panel = discussion.panel
    degraded = check_quorum(panel)
    consensus = panel.consensus
    summary = (
        f"Consensus level {consensus.level:.2f}, confidence {consensus.confidence:.2f}, "
        f"modal position: {consensus.components.get('modal_position')}"
        if consensus
        else "No consensus measured."
    )
    decision = await discussion.decide(
        key,
        speaker=speaker,
        prompt=[
            system(speaker.system_prompt),
            user(
                f"Question: {panel.query}\n\nDiscussion:\n{transcript(panel)}\n\n{summary}\n\n"
                f"{instruction or 'Synthesize the final recommendation of the panel.'} Give the "
                "recommendation, the key rationale, the points of agreement and the dissenting or "
                "minority views. Answer as JSON."
            ),
        ],
        schema=synthesis_schema(),
        parse=parse_synthesis,
        fallback=tallied_synthesis(panel, latest_stances(panel)),
    )
    dissent = list(decision["dissent"])
    for view in minority_views(panel):
        if view not in dissent:
            dissent.append(view)
    return Recommendation(
        recommendation=decision["recommendation"],
        rationale=decision["rationale"],
        agreement_points=tuple(decision["agreement_points"]),
        dissent=tuple(dissent),
        degraded=degraded,
        decided_by=speaker.agent_id,
    )
