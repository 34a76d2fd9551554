"""OpenTelemetry traces: request → use case → panel run → each model call, and into workers (in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from procrastinate.testing import InMemoryConnector

from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.jobs.procrastinate_queue import QUEUE, build_app, defer
from ask_panel.observability import tracing
from tests.conftest import TENANT_A, TERMINAL, create_panel, headers_for, make_settings, serving, wait_for_status

A_PANEL = PanelId.from_string("5b0f3c52-7f44-4c1e-9f1e-0c7d5b7f2a10")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_of(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    (parent,) = [s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id]
    return parent


async def test_a_panel_is_one_trace_from_the_execute_request_to_each_model_call(spans: InMemorySpanExporter) -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (_container, client):
        panel = await create_panel(client, configuration={"max_rounds": 1})
        pid = panel["panel_id"]
        response = await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())
        assert response.status_code == 202
        done = await wait_for_status(client, pid, TERMINAL)
    assert done["status"] == "completed"
    finished = spans.get_finished_spans()

    (request,) = named(finished, "POST /api/v1/panels/{panel_id}/execute")
    assert request.kind is trace.SpanKind.SERVER
    assert request.attributes is not None and request.attributes["http.response.status_code"] == 202
    (use_case,) = named(finished, "panels.execute")
    assert parent_of(use_case, finished) is request
    (run,) = named(finished, "panel.run")
    assert parent_of(run, finished) is use_case
    assert run.attributes is not None and run.attributes["ask_panel.panel_id"] == pid
    calls = named(finished, "llm.call")
    assert len(calls) == done["usage"]["llm_calls"]
    assert all(parent_of(call, finished) is run for call in calls)
    assert all(call.attributes is not None and call.attributes["ask_panel.outcome"] == "ok" for call in calls)
    assert all(call.attributes is not None and call.attributes["gen_ai.usage.output_tokens"] for call in calls)
    trace_ids = {s.context.trace_id for s in (request, use_case, run, *calls) if s.context is not None}
    assert len(trace_ids) == 1
    (create,) = named(finished, "POST /api/v1/panels")
    assert create.context is not None and create.context.trace_id not in trace_ids  # each request its own trace


async def test_a_caller_s_traceparent_is_continued(spans: InMemorySpanExporter) -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (_container, client):
        response = await client.get(
            "/api/v1/panels", headers={**headers_for(), "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"}
        )
    assert response.status_code == 200
    (request,) = named(spans.get_finished_spans(), "GET /api/v1/panels")
    assert request.context is not None and format(request.context.trace_id, "032x") == caller_trace


async def test_the_trace_context_is_carried_into_the_worker_with_the_job(spans: InMemorySpanExporter) -> None:
    seen: list[int] = []

    async def run_panel(_tenant: TenantId, _panel: PanelId) -> None:
        with tracing.span("panel.run"):
            seen.append(trace.get_current_span().get_span_context().trace_id)

    connector = InMemoryConnector()
    app = build_app("postgresql://unused/askpanel", run_panel=run_panel, connector=connector)
    async with app.open_async():
        with tracing.span("panels.execute") as queued:
            assert queued is not None
            await defer(app, TenantId.from_string(TENANT_A), A_PANEL)
        (job,) = connector.jobs.values()
        assert set(job["args"]["trace"]) == {"traceparent"}  # W3C trace context, nothing else
        await app.run_worker_async(queues=[QUEUE], wait=False, install_signal_handlers=False)
    assert seen == [queued.get_span_context().trace_id]
    (run,) = named(spans.get_finished_spans(), "panel.run")
    assert run.parent is not None and run.parent.span_id == queued.get_span_context().span_id


async def test_without_tracing_jobs_carry_no_trace_argument() -> None:
    connector = InMemoryConnector()
    app = build_app("postgresql://unused/askpanel", connector=connector)
    async with app.open_async():
        await defer(app, TenantId.from_string(TENANT_A), A_PANEL)
    (job,) = connector.jobs.values()
    assert set(job["args"]) == {"tenant_id", "panel_id"}
