"""OpenTelemetry traces: request → use case → panel run → each model call, carried into workers.

Spans are made with the OpenTelemetry API only (installed with FastAPI); exporting them needs the
SDK, the optional extra `ask-panel[otel]`. With `ASK_PANEL_TRACING=none` (the default) nothing is
traced and every helper here is a no-op costing one flag test. `enable(provider)` is how tests (or
an embedding program) install their own tracer provider, e.g. with an in-memory exporter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

__all__ = ["Status", "StatusCode"]  # for callers that set a span's status

_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def enable(provider: TracerProvider | None = None) -> None:
    """Trace from now on, with `provider` (or the global one)."""
    global _tracer
    _tracer = trace.get_tracer("ask_panel", tracer_provider=provider)


def disable() -> None:
    global _tracer
    _tracer = None


def configure_tracing(mode: str, *, service_name: str = "ask-panel", sample_ratio: float = 1.0) -> None:
    """`otlp`: export over OTLP/HTTP (endpoint and headers from the standard `OTEL_EXPORTER_OTLP_*`
    variables); `console`: print spans to stdout; `none`: no traces."""
    if mode == "none":
        disable()
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError as exc:  # pragma: no cover - the extra is installed in development and CI
        raise RuntimeError("ASK_PANEL_TRACING needs the OpenTelemetry SDK: pip install 'ask-panel[otel]'") from exc
    exporter: SpanExporter
    if mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    provider = SdkTracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    enable(provider)


class RequestSpan:
    """The span of one request, named and given its status once the route and response are known."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def name(self, name: str) -> None:
        if self._span is not None:
            self._span.update_name(name)

    def status(self, status: int) -> None:
        if self._span is not None:
            self._span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self._span.set_status(Status(StatusCode.ERROR))


_NO_REQUEST_SPAN = RequestSpan(None)


@contextlib.contextmanager
def request_span(scope: Mapping[str, Any], method: str) -> Iterator[RequestSpan]:
    """A server span around one request (continuing the caller's trace from `traceparent`)."""
    if _tracer is None:
        yield _NO_REQUEST_SPAN
        return
    headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in scope.get("headers", ())
        if k in (b"traceparent", b"tracestate")
    }
    parent = propagate.extract(headers) if headers else None
    with _tracer.start_as_current_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": scope.get("path", "")},
    ) as span:
        yield RequestSpan(span)


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[Span | None]:
    """A span that is current while the block runs (use cases, panel runs); None when not tracing."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def start_span(name: str, **attributes: str | int | float | bool) -> Span | None:
    """A span that is not made current (a model call, consumed across an async iterator); end it yourself."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers, to store with a job (empty when not tracing)."""
    if _tracer is None:
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextlib.contextmanager
def continued(headers: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block in the trace context stored in `headers` (a job's carrier), if any."""
    if _tracer is None or not headers:
        yield
        return
    token = otel_context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)
