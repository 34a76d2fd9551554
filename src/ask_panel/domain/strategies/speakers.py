"""Who speaks a turn: the panel's experts, and the moderator, judge and facilitator the service provides."""

from __future__ import annotations

from dataclasses import dataclass

from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import OutputMode


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who speaks a turn: an expert of the panel, or the moderator (judge, facilitator)."""

    agent_id: str
    name: str
    role: str
    system_prompt: str
    model: str | None = None
    provider: str | None = None
    kind: str = "expert"
    output_mode: OutputMode | None = None

    @classmethod
    def of(cls, expert: Expert) -> Speaker:
        return cls(
            expert.agent_id,
            expert.name,
            expert.role,
            expert.system_prompt(),
            expert.model,
            expert.provider,
            output_mode=expert.output_mode,
        )


MODERATOR = Speaker(
    "moderator",
    "Panel Moderator",
    "neutral moderator",
    "You are the neutral moderator of a panel of experts. You keep the discussion focused, never take "
    "sides, and summarise faithfully, including minority views.",
    kind="moderator",
)
JUDGE = Speaker(
    "judge",
    "Panel Judge",
    "impartial judge",
    "You are an impartial judge. You weigh the arguments of both sides on their merits and decide.",
    kind="judge",
)
FACILITATOR = Speaker(
    "facilitator",
    "Delphi Facilitator",
    "Delphi facilitator",
    "You run a Delphi process: you keep panelists anonymous and feed back the group's distribution.",
    kind="facilitator",
)
