"""The simulated provider: deterministic, persona-aware, schema-honouring, streaming, faulty on demand."""

from __future__ import annotations

import json

import pytest

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.experts import BUILTIN_BY_ID
from ask_panel.domain.llm import ChatMessage, StreamEnd, TextDelta
from ask_panel.domain.strategies.schemas import stance_request, synthesis_schema
from ask_panel.infrastructure.llm.resilient import ResilientProvider
from ask_panel.infrastructure.llm.simulated import SimulatedProvider

FDA = [
    ChatMessage("system", BUILTIN_BY_ID["fda_expert"].system_prompt()),
    ChatMessage("user", "Question: What is our FDA 510(k) strategy for this device?"),
]


async def collect(
    provider: SimulatedProvider | ResilientProvider,
    messages: list[ChatMessage],
    schema: dict[str, object] | None = None,
) -> tuple[list[str], StreamEnd]:
    deltas: list[str] = []
    end: StreamEnd | None = None
    async for part in provider.stream(messages, model=None, temperature=None, json_schema=schema):
        if isinstance(part, TextDelta):
            deltas.append(part.text)
        elif isinstance(part, StreamEnd):
            end = part
    assert end is not None
    return deltas, end


async def test_the_same_seed_and_inputs_give_the_same_answer() -> None:
    a, _ = await collect(SimulatedProvider(token_delay_ms=0, seed=1), FDA)
    b, _ = await collect(SimulatedProvider(token_delay_ms=0, seed=1), FDA)
    c, _ = await collect(SimulatedProvider(token_delay_ms=0, seed=2), FDA)
    assert a == b
    assert a != c


async def test_answers_are_streamed_in_many_deltas_with_usage_and_the_simulated_model() -> None:
    deltas, end = await collect(SimulatedProvider(token_delay_ms=0), FDA)
    assert len(deltas) > 10
    assert end.model == "simulated"
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0


async def test_answers_speak_in_the_personas_field() -> None:
    deltas, _ = await collect(SimulatedProvider(token_delay_ms=0), FDA)
    text = "".join(deltas)
    assert "US FDA regulatory strategist" in text
    assert "510(k)" in text or "predicate" in text


async def test_json_requests_are_answered_with_valid_instances_of_the_schema() -> None:
    request = stance_request(["A", "B", "C"], peers=["clinical_expert"])
    deltas, _ = await collect(SimulatedProvider(token_delay_ms=0), FDA, request.schema)
    stance = request.parse(json.loads("".join(deltas)))
    assert stance.position in {"A", "B", "C"} and 0 <= stance.confidence <= 1
    assert sorted(stance.ranking) == ["A", "B", "C"] and stance.endorses == "clinical_expert"
    deltas, _ = await collect(SimulatedProvider(token_delay_ms=0), FDA, synthesis_schema())
    synthesis = json.loads("".join(deltas))
    assert synthesis["recommendation"] and isinstance(synthesis["agreement_points"], list)


async def test_positions_drift_towards_those_already_held() -> None:
    request = stance_request(["A", "B", "C"])
    held = "\n".join(f"Round 1 - Expert {i} (expert) [position: B; confidence 0.90]: ..." for i in range(6))
    picks = []
    for seed in range(30):
        provider = SimulatedProvider(token_delay_ms=0, seed=seed)
        deltas, _ = await collect(provider, [*FDA, ChatMessage("user", held)], request.schema)
        picks.append(json.loads("".join(deltas))["position"])
    assert picks.count("B") > 20


async def test_faults_are_injected_at_the_configured_rate_and_retries_absorb_them() -> None:
    faulty = SimulatedProvider(token_delay_ms=0, fault_rate=1.0, timeout_delay_ms=1)
    with pytest.raises(ProviderError) as error:
        await collect(faulty, FDA)
    assert error.value.retryable
    sometimes = SimulatedProvider(token_delay_ms=0, fault_rate=0.2, seed=4, timeout_delay_ms=1)
    resilient = ResilientProvider(sometimes, attempts=6, backoff_s=0.001)
    for _ in range(30):
        deltas, _ = await collect(resilient, FDA)
        assert deltas
    assert resilient.retries > 0


async def test_retries_give_up_with_a_non_retryable_error_naming_the_attempts() -> None:
    resilient = ResilientProvider(SimulatedProvider(fault_rate=1.0, timeout_delay_ms=1), attempts=3, backoff_s=0.001)
    with pytest.raises(ProviderError) as error:
        await collect(resilient, FDA)
    assert not error.value.retryable and "3 attempts" in error.value.detail
