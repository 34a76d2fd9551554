"""What the domain knows of language models: chat messages, token usage, output modes and the stream parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from ask_panel.domain.errors import InvalidInput

Role = Literal["system", "user", "assistant"]
JsonSchema = dict[str, Any]

OutputMode = Literal["json_schema", "json_object", "prompt"]
"""How a model is asked for JSON: `json_schema` sends the schema as the server's structured-output
format (constrained decoding where the server has it); `json_object` asks the server for any JSON
object; `prompt` sends no format at all. The schema is always in the prompt too."""
OUTPUT_MODES: tuple[str, ...] = get_args(OutputMode)


def parse_output_mode(value: str | None) -> OutputMode | None:
    """An output mode named by a person (None stays None), or InvalidInput."""
    if value is None:
        return None
    if value in OUTPUT_MODES:
        return cast(OutputMode, value)
    raise InvalidInput(f"output_mode must be one of: {', '.join(OUTPUT_MODES)}")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer as the model produces it."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last part of every stream: the model that answered and what it used."""

    model: str
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class StreamRestart:
    """The stream broke after some text and is being retried: forget the text received so far."""

    reason: str


StreamPart = TextDelta | StreamEnd | StreamRestart
