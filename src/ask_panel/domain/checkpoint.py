"""A run's checkpoint: the steps of a panel's strategy already done, named by StepKey.

Every step a strategy takes (an expert's turn, a moderator's decision, a round's start or end) has a
StepKey. Its text form (`frame`, `r2:fda_expert`, `r2:q:fda_expert`, `t5:next`, `round:2:end`, ...)
is what is stored; `StepKey` is the only place that builds and parses it. The Checkpoint holds what
each step left: the messages spoken, the decisions taken, the round markers passed, the turns
that failed, and how each structured answer was obtained. On resume every step found here is returned, not done again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.values import Fallback, Message

Decision = Mapping[str, Any]
"""A moderator's structured decision, as validated by the strategy's parser (JSON-ready values)."""

CHECKPOINT_VERSION = 1


class StepKind(StrEnum):
    TURN = "turn"  # an expert speaks: r{round}:{agent} (open panels count turns: t{turn}:{agent})
    QUESTION = "question"  # the moderator questions an expert: r{round}:q:{agent}
    ANSWER = "answer"  # the expert answers it: r{round}:a:{agent}
    FEEDBACK = "feedback"  # the service's own message closing a round: r{round}:feedback
    DECISION = "decision"  # frame, proposition, verdict, synthesis; r{round}:targets; t{turn}:next
    ROUND_START = "round_start"  # round:{n}:start
    ROUND_END = "round_end"  # round:{n}:end


# Names a step may take after a round or turn prefix; agent ids may not take them (see experts.py).
RESERVED_NAMES = frozenset({"feedback", "targets", "next"})
_DECISION_NAME = re.compile(r"^[a-z][a-z_]*$")
_PREFIXED = re.compile(r"^(?P<unit>[rt])(?P<number>\d+):(?P<rest>.+)$")
_MARKER = re.compile(r"^round:(?P<number>\d+):(?P<edge>start|end)$")


@dataclass(frozen=True, slots=True)
class StepKey:
    """The name of one step. Build it with the class methods; `str(key)` is its stored form."""

    kind: StepKind
    round: int | None = None
    turn: int | None = None
    agent_id: str | None = None
    name: str | None = None

    # ---- building ------------------------------------------------------------------------------
    @classmethod
    def speaking(cls, round_number: int, agent_id: str) -> StepKey:
        """An expert's turn in a round."""
        return cls(StepKind.TURN, round=round_number, agent_id=agent_id)

    @classmethod
    def open_turn(cls, turn: int, agent_id: str) -> StepKey:
        """Turn number `turn` (from 0) of an open panel, taken by `agent_id`."""
        return cls(StepKind.TURN, turn=turn, agent_id=agent_id)

    @classmethod
    def question(cls, round_number: int, agent_id: str) -> StepKey:
        return cls(StepKind.QUESTION, round=round_number, agent_id=agent_id)

    @classmethod
    def answer(cls, round_number: int, agent_id: str) -> StepKey:
        return cls(StepKind.ANSWER, round=round_number, agent_id=agent_id)

    @classmethod
    def feedback(cls, round_number: int) -> StepKey:
        return cls(StepKind.FEEDBACK, round=round_number, name="feedback")

    @classmethod
    def decision(cls, name: str, *, round_number: int | None = None, turn: int | None = None) -> StepKey:
        """A moderator's decision: once per panel (`frame`), per round (`r2:targets`) or per turn (`t3:next`)."""
        if not _DECISION_NAME.match(name) or (round_number is not None and turn is not None):
            raise ValueError(f"not a decision step: {name!r}")
        return cls(StepKind.DECISION, round=round_number, turn=turn, name=name)

    @classmethod
    def round_start(cls, round_number: int) -> StepKey:
        return cls(StepKind.ROUND_START, round=round_number)

    @classmethod
    def round_end(cls, round_number: int) -> StepKey:
        return cls(StepKind.ROUND_END, round=round_number)

    # ---- the stored form -------------------------------------------------------------------------
    def __str__(self) -> str:
        match self.kind:
            case StepKind.ROUND_START:
                return f"round:{self.round}:start"
            case StepKind.ROUND_END:
                return f"round:{self.round}:end"
            case StepKind.QUESTION:
                return f"r{self.round}:q:{self.agent_id}"
            case StepKind.ANSWER:
                return f"r{self.round}:a:{self.agent_id}"
            case StepKind.TURN:
                return f"{self._prefix()}:{self.agent_id}"
            case StepKind.FEEDBACK:
                return f"r{self.round}:feedback"
        if self.round is None and self.turn is None:
            return str(self.name)
        return f"{self._prefix()}:{self.name}"

    def _prefix(self) -> str:
        return f"t{self.turn}" if self.turn is not None else f"r{self.round}"

    @classmethod
    def parse(cls, text: str) -> StepKey:
        """The key whose stored form is `text`; InvalidInput for anything else."""
        marker = _MARKER.match(text)
        if marker:
            number = int(marker["number"])
            return cls.round_start(number) if marker["edge"] == "start" else cls.round_end(number)
        prefixed = _PREFIXED.match(text)
        if prefixed is None:
            if _DECISION_NAME.match(text):
                return cls.decision(text)
            raise InvalidInput(f"not a step key: {text!r}")
        number, rest = int(prefixed["number"]), prefixed["rest"]
        by_turn = prefixed["unit"] == "t"
        round_number, turn = (None, number) if by_turn else (number, None)
        head, _, tail = rest.partition(":")
        if tail and head in ("q", "a") and not by_turn:
            return cls.question(number, tail) if head == "q" else cls.answer(number, tail)
        if tail:
            raise InvalidInput(f"not a step key: {text!r}")
        if rest == "feedback" and not by_turn:
            return cls.feedback(number)
        if rest in RESERVED_NAMES:
            return cls(StepKind.DECISION, round=round_number, turn=turn, name=rest)
        return cls(StepKind.TURN, round=round_number, turn=turn, agent_id=rest)


@dataclass(frozen=True, slots=True)
class AnswerNote:
    """How a structured step's JSON was obtained: `parsed` at once, `repaired` by a second call, `partial`
    (only a lenient reading accepted it, such as a Delphi position without its estimate), or `failed`.

    A partial or failed step fell back: `fallback` says what stood in (the reason a panel reports).
    A `skipped` step was not asked at all (the discussion wrapped up at a budget): it fell back too.
    """

    outcome: str
    calls: int
    error: str | None = None
    fallback: str | None = None


@dataclass(slots=True)
class Checkpoint:
    """The steps of a run already done, and what each one left."""

    spoken: dict[StepKey, Message] = field(default_factory=dict)
    decisions: dict[StepKey, Decision] = field(default_factory=dict)
    markers: list[StepKey] = field(default_factory=list)
    failures: dict[str, list[StepKey]] = field(default_factory=dict)
    answers: dict[StepKey, AnswerNote] = field(default_factory=dict)

    def message(self, key: StepKey) -> Message | None:
        """The message a turn (or question, answer, feedback) left, if it was taken."""
        return self.spoken.get(key)

    def speaker_of_turn(self, turn: int) -> str | None:
        """Who took turn `turn` of an open panel, if it was taken."""
        return next((k.agent_id for k in self.spoken if k.kind is StepKind.TURN and k.turn == turn), None)

    def decision(self, key: StepKey) -> Decision | None:
        return self.decisions.get(key)

    def record_decision(self, key: StepKey, decision: Decision) -> None:
        self.decisions[key] = decision

    def passed(self, key: StepKey) -> bool:
        return key in self.markers

    def mark(self, key: StepKey) -> None:
        if key not in self.markers:
            self.markers.append(key)

    def failed(self, agent_id: str, key: StepKey) -> bool:
        return key in self.failures.get(agent_id, ())

    def record_failure(self, agent_id: str, key: StepKey) -> None:
        self.failures.setdefault(agent_id, []).append(key)

    def record_answer(self, key: StepKey, note: AnswerNote) -> None:
        self.answers[key] = note

    @property
    def has_failures(self) -> bool:
        return any(self.failures.values())

    def fallbacks(self) -> tuple[Fallback, ...]:
        """The steps that fell back, in the order they were taken, each with its reason."""
        return tuple(
            Fallback(str(key), note.fallback or f"unreadable answer ({note.error or 'no detail'})")
            for key, note in self.answers.items()
            if note.outcome in ("partial", "failed", "skipped")
        )
