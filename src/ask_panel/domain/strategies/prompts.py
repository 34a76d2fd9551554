"""Building prompts: chat messages, the transcript so far, and the seeded speaking order."""

from __future__ import annotations

import random

from ask_panel.domain.llm import ChatMessage
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.port import Discussion
from ask_panel.domain.values import Member

MAX_TRANSCRIPT_CHARS = 1200


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)


def system(text: str) -> ChatMessage:
    return ChatMessage("system", text)


def clip(text: str, limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def order_for_round(panel: Panel, round_number: int) -> list[Member]:
    """The speaking order of a round: shuffled with the panel's seed (bias control), reproducibly."""
    members = list(panel.members)
    if panel.configuration.shuffle_order:
        random.Random(f"{panel.configuration.seed}:{round_number}").shuffle(members)
    return members


def transcript(panel: Panel, *, upto_round: int | None = None, anonymous: bool = False) -> str:
    """The discussion so far, as text for the next speaker."""
    lines: list[str] = []
    labels: dict[str, str] = {}
    for rnd in panel.rounds:
        if upto_round is not None and rnd.round_number > upto_round:
            break
        for m in rnd.messages:
            name = m.agent_name
            if anonymous and m.role == "expert":
                name = labels.setdefault(m.agent_id, f"Panelist {chr(ord('A') + len(labels))}")
            stance = ""
            if m.stance is not None:
                stance = f" [position: {m.stance.position}; confidence {m.stance.confidence:.2f}]"
            lines.append(f"Round {m.round} - {name} ({m.role}){stance}: {clip(m.content)}")
    return "\n".join(lines) if lines else "(no discussion yet)"


def expert_prompt(discussion: Discussion, member: Member, task: str) -> list[ChatMessage]:
    speaker = discussion.speaker(member.agent_id)
    return [system(speaker.system_prompt), user(task)]
