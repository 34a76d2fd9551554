"""What a panel adopted, who supported it and who dissents, read from the members' final stances.

The adopted option is the one with the most confidence-weighted support among the members' latest
stances (equal weights when every confidence is 0). A tie is broken by the Borda count of the tied
members' rankings, then by the order in which the options were framed, so it never depends on
dictionary order or chance. Supporters are the members whose final position is the adopted option;
dissenters are exactly the members whose final position differs from it, each with their own
position and reason (their last words, shortened). A member without a stance neither supports nor
dissents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ask_panel.domain.panel import Panel
from ask_panel.domain.values import Message, Stance

MAX_REASON_CHARS = 220
_SENTENCE_END = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bMrs\.)(?<!\bProf\.)(?<=[.!?])\s+")
"""Where a sentence ends: after . ! or ?, but not after a title ('Dr. Maya Chen' is one name)."""


def excerpt(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """The first sentences of `text` that fit in `limit` characters (at least one, shortened if needed)."""
    words = " ".join(text.split())
    out = ""
    for sentence in _SENTENCE_END.split(words):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    if not out:
        out = words if len(words) <= limit else words[: limit - 1].rstrip() + "…"
    return out


def final_statements(panel: Panel) -> dict[str, Message]:
    """Each member's last message that carries a stance."""
    last: dict[str, Message] = {}
    members = {m.agent_id for m in panel.members}
    for message in panel.messages():
        if message.agent_id in members and message.role == "expert" and message.stance is not None:
            last[message.agent_id] = message
    return last


def adopted_option(stances: Sequence[Stance], options: Sequence[str]) -> str | None:
    """The option with the most confidence-weighted support; ties by Borda count, then framing order."""
    if not stances:
        return None
    weights = [s.confidence for s in stances]
    if sum(weights) == 0:
        weights = [1.0] * len(stances)
    support: dict[str, float] = {}
    for stance, weight in zip(stances, weights, strict=True):
        support[stance.position] = support.get(stance.position, 0.0) + weight
    best = max(support.values())
    tied = [p for p, w in support.items() if abs(w - best) <= 1e-9]
    if len(tied) == 1:
        return tied[0]
    borda = dict.fromkeys(tied, 0)
    for stance in stances:
        for place, option in enumerate(stance.ranking):
            if option in borda:
                borda[option] += len(stance.ranking) - place
    order = {o: i for i, o in enumerate(options)}
    return min(tied, key=lambda p: (-borda[p], order.get(p, len(order)), p))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The adopted option with the members who support it and those who dissent (agent ids, in seat order)."""

    adopted: str | None
    supporters: tuple[str, ...]
    dissenters: tuple[str, ...]
    statements: dict[str, Message]

    @classmethod
    def of(cls, panel: Panel, options: Sequence[str]) -> Outcome:
        statements = final_statements(panel)
        seated = [m.agent_id for m in panel.members if m.agent_id in statements]
        adopted = adopted_option([s for a in seated if (s := statements[a].stance) is not None], options)
        supporters = tuple(a for a in seated if _position(statements[a]) == adopted)
        dissenters = tuple(a for a in seated if _position(statements[a]) != adopted)
        return cls(adopted, supporters, dissenters, statements)

    def names(self, panel: Panel, agent_ids: Sequence[str]) -> list[str]:
        return [panel.member(a).agent_name for a in agent_ids]

    def dissent(self, panel: Panel) -> tuple[str, ...]:
        """One line per dissenting member: their name, their own position and their reason."""
        lines = []
        for agent_id in self.dissenters:
            message = self.statements[agent_id]
            stance = message.stance
            assert stance is not None
            lines.append(
                f"{panel.member(agent_id).agent_name} prefers '{stance.position}' "
                f"(confidence {stance.confidence:.2f}): {excerpt(message.content)}"
            )
        return tuple(lines)

    def cited(self, panel: Panel, rationale: str) -> str:
        """The rationale, naming the supporters of the adopted option when it names none of them."""
        if not self.supporters:
            return rationale
        names = self.names(panel, self.supporters)
        if any(name in rationale for name in names):
            return rationale
        return f"{rationale.rstrip()} Supported by {_joined(names)}."


def _position(message: Message) -> str | None:
    return message.stance.position if message.stance is not None else None


def _joined(names: Sequence[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"
