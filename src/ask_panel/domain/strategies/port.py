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


class DecisionFallback(Protocol):
    """A decision's fallback, given the model's own words (its first answer, reasoning removed).

    `skipped`: no model was asked (the discussion wrapped up at a budget), so there are no words and
    nothing was unreadable.
    """

    def __call__(self, words: str, /, *, skipped: bool = False) -> FallenBack: ...


class Discussion(Protocol):
    """The port a strategy drives. Every step has a StepKey; a step already in the checkpoint is not redone."""

    @property
    def panel(self) -> Panel: ...

    def speaker(self, agent_id: str) -> Speaker: ...

    @property
    def wrapping_up(self) -> bool:
        """True once a budget was reached after round 1: the strategy begins no further round or turn and
        goes to its last decision, which then takes its fallback without a model call."""
        ...

    async def begin_round(self, number: int, *, calls: int = 0) -> bool:
        """Begin round `number`, expected to make `calls` model calls. False (the round is not begun) when
        the discussion wraps up instead (a later round begins only if the budget pays for all of it; a
        first round that does not fit fails the panel, BudgetExceeded)."""
        ...

    async def speak(
        self,
        key: StepKey,
        *,
        speaker: Speaker,
        round_number: int,
        prompt: Sequence[ChatMessage],
        stance: StanceRequest | None = None,
        then: int = 0,
    ) -> Message | None:
        """One turn: prose (streamed), then the stance as JSON. None when the speaker failed, or when the
        discussion wraps up at a budget. `then`: the calls of the step this one leads to (a question's
        answer), which the budget must pay for too, or neither is taken."""
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
        then: int = 0,
    ) -> Decision:
        """A structured decision of the moderator (not a message).

        An answer still unreadable after the repair call is replaced by `fallback`'s decision, and the
        step is listed among the panel's fallbacks: a decision never fails a panel for its format.
        `then`: as for `speak` (the turn a choice of speaker leads to); when the budget does not pay
        for both, the decision takes its fallback without a model call and the discussion wraps up.
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
