"""SimulatedProvider: an offline, deterministic, persona-aware language model that streams.

The same seed and inputs give the same answer. Text streams at `token_delay_ms` per token (a word,
or up to 12 characters of JSON), a few tokens per delta, as hosted models send them. JSON requests
are answered with an instance of the requested schema; positions drift towards those the
transcript already holds, so consensus moves as in a real discussion. Faults (rate limit,
server error, timeout) are injected at `fault_rate`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.infrastructure.llm.simulated_text import Persona, names_in, options_for, persona_of, prose

MODEL = "simulated"
_MEDIAN = re.compile(r"median (\d+(?:\.\d+)?)")
_QUESTION_TARGET = re.compile(r"question to ([^(\n]+?) \(")


def approx_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class SimulatedProvider:
    name = "simulated"

    def __init__(
        self,
        *,
        token_delay_ms: float = 8.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        timeout_delay_ms: float = 50.0,
        tokens_per_delta: int = 3,
    ) -> None:
        self._delay = token_delay_ms / 1000
        self._per_delta = max(1, tokens_per_delta)
        self._fault_rate = fault_rate
        self._seed = seed
        self._faults = random.Random(f"faults:{seed}")
        self._timeout_delay = timeout_delay_ms / 1000
        self.calls = 0

    def _rng(self, messages: Sequence[ChatMessage], model: str | None, schema: JsonSchema | None) -> random.Random:
        digest = hashlib.sha256()
        digest.update(f"{self._seed}|{model}|{json.dumps(schema, sort_keys=True) if schema else ''}".encode())
        for m in messages:
            digest.update(m.role.encode() + b"\0" + m.content.encode() + b"\0")
        return random.Random(digest.digest())

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        self.calls += 1
        await self._maybe_fail()
        rng = self._rng(messages, model, json_schema)
        system = next((m.content for m in messages if m.role == "system"), "")
        prompt = "\n".join(m.content for m in messages if m.role != "system")
        persona = persona_of(system)
        if json_schema is not None:
            text = json.dumps(_Instance(persona, prompt, rng).of(json_schema))
            chunks = re.findall(r".{1,12}", text, flags=re.S)
        else:
            target = _QUESTION_TARGET.search(prompt) if "probing" in prompt else None
            text = prose(
                persona, _query_of(prompt), prompt, rng, question_for=target.group(1).strip() if target else None
            )
            chunks = re.findall(r"\S+\s*", text)
        step = self._per_delta
        for start in range(0, len(chunks), step):
            group = chunks[start : start + step]
            if self._delay:
                await asyncio.sleep(self._delay * len(group))
            yield TextDelta("".join(group))
        yield StreamEnd(model or MODEL, TokenUsage(approx_tokens(system + prompt), approx_tokens(text)))

    async def _maybe_fail(self) -> None:
        if self._fault_rate <= 0 or self._faults.random() >= self._fault_rate:
            return
        kind = self._faults.choice(("rate_limit", "server_error", "timeout"))
        if kind == "rate_limit":
            raise ProviderError("simulated rate limit (429)", retryable=True, retry_after=0.01)
        if kind == "server_error":
            raise ProviderError("simulated server error (503)", retryable=True)
        await asyncio.sleep(self._timeout_delay)
        raise ProviderError("simulated timeout", retryable=True)


def _query_of(prompt: str) -> str:
    match = re.search(r"Question(?: for the panel| for a Delphi panel)?: ([^\n]+)", prompt)
    return match.group(1) if match else prompt[:200]


class _Instance:
    """Builds a value of a JSON schema, leaning towards positions the transcript already holds."""

    def __init__(self, persona: Persona, prompt: str, rng: random.Random) -> None:
        self.persona = persona
        self.prompt = prompt
        self.rng = rng

    def weight(self, value: str) -> float:
        held = self.prompt.count(f"position: {value}")
        taste = random.Random(f"{self.persona.name}|{value}").uniform(0.5, 2.0)
        return taste + 1.5 * held + self.rng.uniform(0, 0.5)

    def ranked(self, values: Sequence[str]) -> list[str]:
        return sorted(values, key=self.weight, reverse=True)

    def of(self, schema: JsonSchema, name: str = "") -> Any:
        kind = schema.get("type")
        if "enum" in schema:
            return self.choice(list(schema["enum"]), name)
        if kind == "object":
            return self.obj(schema)
        if kind == "array":
            return self.array(schema, name)
        if kind in ("number", "integer"):
            return self.number(schema, name)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return self.text(schema, name)

    def obj(self, schema: JsonSchema) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        out: dict[str, Any] = {}
        for key in sorted(props, key=lambda k: props[k].get("type") != "array"):
            out[key] = self.of(props[key], key)
        if "ranking" in out and "position" in out and self.rng.random() < 0.85:
            out["position"] = out["ranking"][0]
        return {k: out[k] for k in props}

    def choice(self, values: list[str], name: str) -> str:
        if name == "verdict":  # a side wins twice as often as the debate is left undecided
            return self.rng.choices(values, weights=[1 if v == "undecided" else 2 for v in values])[0]
        if name == "position":
            return self.ranked(values)[0]
        return self.rng.choice(values)

    def array(self, schema: JsonSchema, name: str) -> list[Any]:
        items: JsonSchema = schema.get("items", {})
        low, high = schema.get("minItems", 1), schema.get("maxItems", 3)
        if items.get("type") == "object":
            return [self.obj(items) for _ in range(self.rng.randint(low, max(low, min(high, 3))))]
        if "enum" in items:
            values = list(items["enum"])
            if name == "ranking":
                return self.ranked(values)[: max(low, min(high, len(values)))]
            count = self.rng.randint(low, min(high, len(values)))
            return self.rng.sample(values, count)
        if name == "options":
            return options_for(self.prompt)[: max(low, min(high, 3))]
        count = self.rng.randint(max(low, min(2, high)), max(low, min(3, high)))
        texts = list(dict.fromkeys(self.text(items, name) for _ in range(count * 3)))
        return texts[: max(low, min(count, len(texts)))]

    def number(self, schema: JsonSchema, name: str) -> float:
        low, high = float(schema.get("minimum", 0)), float(schema.get("maximum", 1))
        if name == "confidence":
            value = self.rng.uniform(0.55, 0.95)
        else:
            value = random.Random(f"{self.persona.name}|{name}").uniform(
                low + 0.2 * (high - low), high - 0.1 * (high - low)
            )
            medians = _MEDIAN.findall(self.prompt)
            if medians:
                value = 0.4 * value + 0.6 * float(medians[-1]) + self.rng.uniform(-2, 2)
        value = min(high, max(low, value))
        return round(value) if schema.get("type") == "integer" else round(value, 2)

    def text(self, schema: JsonSchema, name: str) -> str:
        modal = re.search(r"modal position: ([^\n]+)", self.prompt)
        lead = modal.group(1).strip() if modal and modal.group(1).strip() != "None" else None
        names = names_in(self.prompt)
        match name:
            case "recommendation" | "decision":
                text = (
                    f"Adopt '{lead}' as the plan, with the conditions the experts raised."
                    if lead
                    else "Adopt a staged plan that tests the riskiest assumption first."
                )
            case "rationale":
                text = "It carries the broadest support on the panel and the risks raised have workable mitigations" + (
                    f", as {names[0]} argued." if names else "."
                )
            case "why":
                text = "It answered the other side's strongest point with evidence rather than assertion."
            case "settle":
                text = "Data from a comparable launch on the figure both sides disputed would settle it."
            case "proposition":
                text = "The company should pursue the fastest defensible regulatory pathway now."
            case "estimate_question":
                text = "Probability (0-100) that the preferred option succeeds at the first attempt"
            case "agreement_points" | "strongest_arguments":
                text = self.rng.choice(
                    (
                        "The evidence plan must be settled before the submission strategy.",
                        "An early conversation with the regulator reduces the largest risk.",
                        "Timelines depend more on testing than on paperwork.",
                        "Reimbursement planning has to start in parallel, not after clearance.",
                    )
                )
            case "dissent":
                text = self.rng.choice(
                    (
                        "One expert considers the timeline too optimistic.",
                        "A minority would gather more clinical data first.",
                    )
                )
            case _:
                text = f"{self.persona.name} considers this the most useful next step."
        limit = schema.get("maxLength")
        return text[:limit] if isinstance(limit, int) else text
