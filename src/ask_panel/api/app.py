"""The application factory: builds the FastAPI app around a Container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from ask_panel import __version__
from ask_panel.api import errors, openapi
from ask_panel.api.cors import CorsPolicy
from ask_panel.api.drain import DrainMiddleware
from ask_panel.api.fastpath import WatchStreamFastPath
from ask_panel.api.hosts import HostPolicy
from ask_panel.api.middleware import AnsweredErrors, BodyLimitMiddleware, RequestIdMiddleware
from ask_panel.api.routes import agents, docs, health, meta, metrics, panels, reports, streams, usage, webapp
from ask_panel.api.security_headers import SecurityHeadersMiddleware
from ask_panel.api.telemetry import RequestTelemetryMiddleware
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import Settings

DESCRIPTION = """AI expert panels: a panel of expert personas discusses a question in rounds under a
panel type (structured, open, socratic, adversarial, delphi); the service measures consensus,
synthesizes a recommendation and streams the discussion live (SSE and WebSocket).

Every `/api/v1` call names its tenant in `X-Tenant-ID` and carries `Authorization: Bearer <JWT>`.
Errors are `application/problem+json` (RFC 9457). The web app is served at `/`."""


class AskPanelAPI(FastAPI):
    """FastAPI with the watch-stream fast path outside every framework middleware, CORS outside both,
    and the security headers outermost (`api/security_headers.py`).

    A watch stream's every frame passes through the middleware around it; outermost, it reaches
    uvicorn's `send` through the CORS layer alone (and the stream holds none of the framework's
    layers while it lives). CORS is outermost so that every answer, the fast path's and the
    server-error handler's included, carries the same headers (`api/cors.py`).
    """

    watch_fast_path = True

    def build_middleware_stack(self) -> ASGIApp:
        stack: ASGIApp = AnsweredErrors(super().build_middleware_stack())
        if self.watch_fast_path:
            stack = WatchStreamFastPath(stack)
        hosts: HostPolicy = self.state.host_policy
        policy: CorsPolicy = self.state.cors_policy
        return SecurityHeadersMiddleware(policy.wrap(hosts.wrap(stack)))


def create_app(
    settings: Settings | None = None, *, container: Container | None = None, watch_fast_path: bool = True
) -> FastAPI:
    """The service's ASGI app. `watch_fast_path=False` serves GET /stream by its route alone (for tests)."""
    settings = settings or (container.settings if container else Settings())
    owned = container is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = container or bootstrap(settings)
        app.state.container = current
        await current.start()
        try:
            yield
        finally:
            if owned:
                await current.stop()

    app = AskPanelAPI(
        title="Ask Panel",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py, from local assets
        redoc_url=None,
        openapi_tags=[
            {"name": "panels", "description": "Create, read, list, execute and cancel panels"},
            {"name": "streaming", "description": "Live events over SSE and WebSocket"},
            {"name": "agents", "description": "The expert registry"},
            {"name": "usage", "description": "The tenant's model usage and budgets"},
            {"name": "meta", "description": "What a client needs before it signs in"},
            {"name": "health", "description": "Probes"},
        ],
    )
    app.watch_fast_path = watch_fast_path
    app.state.cors_policy = CorsPolicy.from_settings(settings)
    app.state.host_policy = HostPolicy.from_settings(settings)
    if container is not None:
        app.state.container = container
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.http_body_timeout_s)
    app.add_middleware(DrainMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(RequestTelemetryMiddleware)
    for module in (health, meta, metrics, panels, reports, streams, agents, usage):
        app.include_router(module.router)
    docs.install(app)
    webapp.install(app)
    openapi.install(app, max_query_chars=settings.max_query_chars)
    return app
