"""Asking a model for JSON: one call, read leniently, and one repair call that shows the model its error.

`ask_for_json` returns a `StructuredAnswer` whatever happens (only a provider failure raises), so
the caller decides what a failed step falls back to. Its `record()` is what the checkpoint keeps
per step (`parsed` the first time, `repaired` by the second call, `partial` when only the caller's
lenient reading accepted it, or `failed`), so the list of steps that needed a fallback can be told
at the end of a panel, resumed or not.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ask_panel.application.json_answers import UnreadableAnswer, read_json_answer
from ask_panel.application.reasoning import strip_reasoning
from ask_panel.domain.llm import ChatMessage, JsonSchema

T = TypeVar("T")
AnswerOutcome = Literal["parsed", "repaired", "partial", "failed"]
Ask = Callable[[Sequence[ChatMessage]], Awaitable[str]]

REPAIR_CALLS = 1
MAX_ECHOED_CHARS = 4000


def json_request(schema: JsonSchema, lead: str = "Answer as JSON.") -> str:
    """The instruction that asks for JSON following `schema` (shown in every output mode)."""
    return f"{lead} Answer with only a JSON object that follows this JSON schema exactly:\n{json.dumps(schema)}"


def repair_request(error: str, schema: JsonSchema) -> str:
    """The message that shows the model why its answer was refused."""
    return (
        f"Your answer failed: {error}. Answer again with only the JSON object, no other text, "
        f"following this JSON schema exactly:\n{json.dumps(schema)}"
    )


@dataclass(frozen=True, slots=True)
class StructuredAnswer(Generic[T]):
    """What became of one structured step: its value (None when it failed) and how it was obtained."""

    value: T | None
    outcome: AnswerOutcome
    calls: int
    error: str | None = None
    """The validation error: the one a repair fixed, or the last one of a failed step."""
    answer: str = ""
    """The model's first answer with its reasoning removed: its own words, for a fallback to use."""

    def record(self) -> dict[str, Any]:
        """The checkpoint's note of this step."""
        note: dict[str, Any] = {"outcome": self.outcome, "calls": self.calls}
        if self.error is not None:
            note["error"] = self.error
        return note


async def ask_for_json(
    ask: Ask,
    prompt: Sequence[ChatMessage],
    *,
    schema: JsonSchema,
    parse: Callable[[Mapping[str, Any]], T],
    repairs: int = REPAIR_CALLS,
    partial: Callable[[Mapping[str, Any]], T] | None = None,
) -> StructuredAnswer[T]:
    """Ask once; if the answer is unreadable, show the model its answer and the error, `repairs` times.

    When every answer fails `parse`, `partial` (a lenient reading, if given) is tried on the last
    answer, then the first: what it accepts is the value, with the outcome `partial`.
    `prompt` already asks for the JSON (see `json_request`). A ProviderError from `ask` propagates.
    """
    messages = list(prompt)
    text = first = await ask(messages)
    words = strip_reasoning(text)
    try:
        return StructuredAnswer(read_json_answer(text, parse), "parsed", 1, answer=words)
    except UnreadableAnswer as exc:
        error = exc.detail
    for repair in range(1, repairs + 1):
        echoed = strip_reasoning(text)[:MAX_ECHOED_CHARS] or "(an empty answer)"
        messages = [*messages, ChatMessage("assistant", echoed), ChatMessage("user", repair_request(error, schema))]
        text = await ask(messages)
        try:
            value = read_json_answer(text, parse)
        except UnreadableAnswer as exc:
            error = exc.detail
            continue
        return StructuredAnswer(value, "repaired", 1 + repair, error=error, answer=words)
    if partial is not None:
        for answer in (text, first):
            try:
                value = read_json_answer(answer, partial)
            except UnreadableAnswer:
                continue
            return StructuredAnswer(value, "partial", 1 + repairs, error=error, answer=words)
    return StructuredAnswer(None, "failed", 1 + repairs, error=error, answer=words)
