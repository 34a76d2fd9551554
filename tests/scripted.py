"""ScriptedProvider: a provider whose answers the test decides, recording every call it gets."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage


@dataclass
class Call:
    speaker: str
    messages: list[ChatMessage]
    schema: JsonSchema | None

    @property
    def prompt(self) -> str:
        return "\n".join(m.content for m in self.messages)

    @property
    def title(self) -> str | None:
        return self.schema.get("title") if self.schema else None


Answer = Callable[[Call], str | dict[str, Any]]


def speaker_of(messages: Sequence[ChatMessage]) -> str:
    system = next((m.content for m in messages if m.role == "system"), "")
    for marker, name in (
        ("neutral moderator", "moderator"),
        ("impartial judge", "judge"),
        ("Delphi process", "facilitator"),
    ):
        if marker in system:
            return name
    match = re.search(r"You are ([^,]+),", system)
    return match.group(1) if match else "?"


def default_answer(call: Call) -> str | dict[str, Any]:
    """Agreeable experts: everybody prefers the first option, confidently."""
    schema = call.schema
    if schema is None:
        return f"{call.speaker} speaks with care about the question."
    props = schema["properties"]
    match call.title:
        case "options":
            return {"options": ["Option A", "Option B", "Option C"]}
        case "delphi_frame":
            return {
                "options": ["Option A", "Option B"],
                "estimate_question": "Chance of success?",
                "unit": "percent",
                "min": 0,
                "max": 100,
            }
        case "stance":
            options = props["position"]["enum"]
            answer: dict[str, Any] = {"position": options[0], "confidence": 0.9}
            if "ranking" in props:
                answer["ranking"] = list(options)
            if "endorses" in props:
                answer["endorses"] = props["endorses"]["enum"][0]
            if "estimate" in props:
                answer["estimate"] = 60
            return answer
        case "next_speaker":
            return {"next_speaker": props["next_speaker"]["enum"][0], "reason": "needed"}
        case "targets":
            return {"targets": props["targets"]["items"]["enum"][:1]}
        case "proposition":
            return {"proposition": "We should file a 510(k)."}
        case "verdict":
            return {
                "verdict": "proponents",
                "confidence": 0.7,
                "reasons": [{"cites": props["reasons"]["items"]["properties"]["cites"]["enum"][0], "why": "Strong."}],
                "settle": "A predicate comparison would settle it.",
            }
        case "synthesis":
            return {
                "recommendation": "Go with Option A.",
                "rationale": "Broad support.",
                "agreement_points": ["A is safest"],
                "dissent": [],
            }
    raise AssertionError(f"unexpected schema {call.title}")


class ScriptedProvider:
    name = "scripted"

    def __init__(
        self,
        answer: Answer = default_answer,
        *,
        delay_s: float = 0.0,
        fail_for: Callable[[Call], bool] | None = None,
        hold_for: Callable[[Call], bool] | None = None,
        usage: TokenUsage | Callable[[Call], TokenUsage] = TokenUsage(10, 5),
    ) -> None:
        """`usage`: the tokens every call reports (or a function of the call); calls for which `hold_for` is
        true wait until `release()` (a run that must still be under way at some point, however slow the machine)."""
        self.usage = usage
        self.answer = answer
        self.delay_s = delay_s
        self.fail_for = fail_for
        self.hold_for = hold_for
        self._released = asyncio.Event()
        self.calls: list[Call] = []
        self.started = 0

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        call = Call(speaker_of(messages), list(messages), json_schema)
        self.calls.append(call)
        self.started += 1
        if self.fail_for is not None and self.fail_for(call):
            raise ProviderError(f"scripted failure for {call.speaker}", retryable=False)
        if self.hold_for is not None and self.hold_for(call):
            await self._released.wait()
        answer = self.answer(call)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        for piece in re.findall(r"\S+\s*", text) or [text]:
            yield TextDelta(piece)
        usage = self.usage(call) if callable(self.usage) else self.usage
        yield StreamEnd(model or "scripted-1", usage)

    def release(self) -> None:
        """The held calls go on."""
        self._released.set()

    def calls_by(self, speaker: str) -> list[Call]:
        return [c for c in self.calls if c.speaker == speaker]
