"""The small HTTP app of an `ask-panel worker`: its Prometheus metrics and its probes, on their own port."""

from __future__ import annotations

import hmac

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ask_panel.api.errors import problem
from ask_panel.api.security_headers import SecurityHeadersMiddleware
from ask_panel.bootstrap import Container, NotReady
from ask_panel.observability import metrics


def create_worker_app(container: Container) -> Starlette:
    """GET /metrics (behind ASK_PANEL_METRICS_TOKEN when set), /healthz, /readyz (503 while draining or not ready)."""

    async def scrape(request: Request) -> Response:
        expected = container.settings.metrics_token
        if expected:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
                return problem(401, "unauthorized", "Unauthorized", "GET /metrics needs the metrics bearer token")
        return Response(await metrics.render(), media_type=metrics.CONTENT_TYPE)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        if container.drain.active:
            return problem(503, "draining", "Draining", "This worker is shutting down.")
        try:
            await container.ready()
        except NotReady as exc:
            return problem(503, "not-ready", "Not ready", str(exc))
        except Exception as exc:
            return problem(503, "not-ready", "Not ready", f"database unavailable: {type(exc).__name__}")
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/metrics", scrape), Route("/healthz", healthz), Route("/readyz", readyz)],
        middleware=[Middleware(SecurityHeadersMiddleware)],
    )
