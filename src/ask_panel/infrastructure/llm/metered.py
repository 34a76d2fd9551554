"""MeteredProvider: a ResilientProvider that also counts, times, prices and traces each call (one call, one answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ask_panel.application.ports import LLMProvider
from ask_panel.application.pricing import Prices
from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart
from ask_panel.infrastructure.llm.resilient import ResilientProvider
from ask_panel.observability import metrics, tracing


def model_label(model: str | None) -> str:
    """The `model` label: the model asked for, or `default` for the provider's own (bounded in number)."""
    return metrics.bounded("model", model or "default")


class MeteredProvider(ResilientProvider):
    """The one wrapper around a provider: retries and timeouts (its base), `ask_panel_llm_*` metrics and an
    `llm.call` span per call, measured outside the retries (a call's duration includes its retries)."""

    def __init__(self, inner: LLMProvider, *, prices: Prices, **resilience: Any) -> None:
        super().__init__(inner, **resilience)
        self._prices = prices

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        label = model_label(model)
        attributes: dict[str, str | int | float | bool] = {
            "gen_ai.system": self.name,
            "gen_ai.request.model": model or "default",
            "ask_panel.structured": json_schema is not None,
        }
        span = tracing.start_span("llm.call", **attributes)
        started = time.perf_counter()
        end: StreamEnd | None = None
        outcome = "cancelled"
        try:
            async for part in super().stream(
                messages, model=model, temperature=temperature, json_schema=json_schema, output_mode=output_mode
            ):
                if isinstance(part, StreamEnd):
                    end = part
                yield part
            outcome = "ok"
        except ProviderError as exc:
            outcome = "error"
            if span is not None:
                span.record_exception(exc)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            self._record(label, outcome, time.perf_counter() - started, end)
            if span is not None:
                if end is not None:
                    span.set_attribute("gen_ai.response.model", end.model)
                    span.set_attribute("gen_ai.usage.input_tokens", end.usage.input_tokens)
                    span.set_attribute("gen_ai.usage.output_tokens", end.usage.output_tokens)
                span.set_attribute("ask_panel.outcome", outcome)
                if outcome == "error":
                    span.set_status(tracing.Status(tracing.StatusCode.ERROR))
                span.end()

    def _record(self, label: str, outcome: str, duration: float, end: StreamEnd | None) -> None:
        metrics.LLM_CALLS.labels(self.name, label, outcome).inc()
        metrics.LLM_DURATION.labels(self.name, label).observe(duration)
        if end is None:
            return
        tokens_in, tokens_out = end.usage.input_tokens, end.usage.output_tokens
        metrics.LLM_TOKENS.labels(self.name, label, "input").inc(tokens_in)
        metrics.LLM_TOKENS.labels(self.name, label, "output").inc(tokens_out)
        metrics.LLM_COST.labels(self.name, label).inc(
            self._prices.cost(end.model, tokens_in, tokens_out, provider=self.name)
        )
