"""Request telemetry: the HTTP metrics (by route template and status), a trace span per request, refused handshakes.

`RequestTelemetryMiddleware` is the outermost of the app's own middleware; the watch stream's
fast path, which runs outside all of them, records its requests with `record_request` itself.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ask_panel.observability import metrics, tracing

UNMATCHED = "unmatched"  # a path no route serves (never the raw path: it would be unbounded)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WEBSOCKET"})


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def record_request(method: str, route: str, status: int, started: float) -> None:
    method = method if method in METHODS else "other"  # any token is a valid HTTP method: keep the label bounded
    metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
    metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)


class RequestTelemetryMiddleware:
    """Counts every request and WebSocket handshake once its response starts (streams included), and traces it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if kind == "http" else "WEBSOCKET"
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                route = route_of(scope)
                record_request(method, route, status, started)
                span.name(f"{method} {route}")
                span.status(status)

        async def observed_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                record(message["status"])
            elif kind == "websocket.accept":
                record(101)
            elif kind == "websocket.http.response.start":
                record(message["status"])
            elif kind == "websocket.close" and not recorded:
                record(403)
            await send(message)

        with tracing.request_span(scope, method) as span:
            try:
                await self.app(scope, receive, observed_send)
            except BaseException:
                record(500)
                raise
