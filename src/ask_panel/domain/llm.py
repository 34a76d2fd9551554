"""What the domain knows of language models: chat messages, token usage, and the stream parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
JsonSchema = dict[str, Any]


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


StreamPart = TextDelta | StreamEnd
