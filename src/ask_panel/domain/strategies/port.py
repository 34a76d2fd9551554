"""The port a strategy drives (Discussion), the Strategy interface, the stance a turn asks for, and fallbacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ask_panel.domain.checkpoint import Decision, StepKey
from ask_panel.domain.llm import ChatMessage, JsonSchema
from ask_panel.domain.panel import Panel
from ask_panel.domain.strategies.speakers import Speaker
from ask_panel.domain.values import Consensus, Message, Recommendation, Stance


@dataclass(frozen=True, slots=True)
class StanceRequest:
    """The JSON a turn's stance must follow, the function that validates it, and what a turn without one means."""

    schema: JsonSchema
    parse: Callable[[Mapping[str, Any]], Stance]
    without: str = "the turn is kept without a stance and not counted in the consensus"
    """The fallback of a stance that stays unreadable, as the panel reports it."""
    partial: Callable[[Mapping[str, Any]], Stance] | None = None
    """A lenient reading tried before giving up (Delphi: the position without its estimate)."""
    partly: str = ""
    """The fallback of a stance that only `partial` could read, as the panel reports it."""


@dataclass(frozen=True, slots=True)
class FallenBack:
    """What stands in for a decision whose answer stayed unreadable: the decision, and how it was made."""

    decision: Decision
    instead: str
    """Said in the panel's list of fallbacks: "a neutral option set was used", ..."""


DecisionFallback = Callable[[str], FallenBack]
"""A decision's fallback, given the model's own words (its first answer, reasoning removed)."""


class Discussion(Protocol):
    """The port a strategy drives. Every step has a StepKey; a step already in the checkpoint is not redone."""

    @property
    def panel(self) -> Panel: ...

    def speaker(self, agent_id: str) -> Speaker: ...

    async def begin_round(self, number: int) -> None: ...

    async def speak(
        self,
        key: StepKey,
        *,
        speaker: Speaker,
        round_number: int,
        prompt: Sequence[ChatMessage],
        stance: StanceRequest | None = None,
    ) -> Message | None:
        """One turn: prose (streamed), then the stance as JSON. None when the speaker failed."""
        ...

    async def decide(
        self,
        key: StepKey,
        *,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        schema: JsonSchema,
        parse: Callable[[Mapping[str, Any]], Decision],
        fallback: DecisionFallback,
    ) -> Decision:
        """A structured decision of the moderator (not a message).

        An answer still unreadable after the repair call is replaced by `fallback`'s decision, and the
        step is listed among the panel's fallbacks: a decision never fails a panel for its format.
        """
        ...

    async def announce(self, key: StepKey, *, speaker: Speaker, round_number: int, content: str) -> Message:
        """A message the service writes itself (no model call), such as Delphi feedback."""
        ...

    async def end_round(
        self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None
    ) -> None: ...


class Strategy(Protocol):
    name: str

    async def run(self, discussion: Discussion) -> Recommendation: ...
