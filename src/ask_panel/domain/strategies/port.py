"""The port a strategy drives (Discussion), the Strategy interface, and the stance a turn asks for."""

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
    """The JSON a turn's stance must follow, and the function that validates it."""

    schema: JsonSchema
    parse: Callable[[Mapping[str, Any]], Stance]


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
    ) -> Decision:
        """A structured decision of the moderator (not a message); it fails the panel if impossible."""
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
