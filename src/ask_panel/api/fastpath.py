"""The watch stream's fast path: GET /api/v1/panels/{id}/stream served outside the framework's layers.

A watch stream lives for minutes; every layer of FastAPI's request handling (routing, dependency
resolution, two exit stacks, exception wrappers) stays alive for as long as it does, about half
of an idle stream's memory. This outermost middleware calls the documented route's own
`open_watch` (the same parameter parser, the same checks); errors are the same problem+json responses.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ask_panel.api.errors import problem, problem_for
from ask_panel.api.middleware import request_id_of
from ask_panel.api.routes.streams import open_watch
from ask_panel.api.telemetry import record_request
from ask_panel.domain.errors import DomainError
from ask_panel.infrastructure.auth import InvalidJwt
from ask_panel.observability import set_request_id

log = logging.getLogger(__name__)

WATCH_PATH = re.compile(r"^/api/v1/panels/([^/]+)/stream$")
ROUTE = "/api/v1/panels/{panel_id}/stream"  # the route template, as the metrics label it


class WatchStreamFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = WATCH_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope, receive)
        request_id = request_id_of(scope)
        set_request_id(request_id)
        try:
            response = await open_watch(request, match.group(1))
        except (DomainError, InvalidJwt) as exc:
            error = problem_for(exc)
            error.headers["x-request-id"] = request_id
            record_request("GET", ROUTE, error.status_code, started)
            await error(scope, receive, send)
            return
        except Exception:
            log.exception("unhandled error opening a watch stream [request_id=%s]", request_id)
            error = problem(500, "internal-error", "Internal server error", "An unexpected error occurred.")
            error.headers["x-request-id"] = request_id
            record_request("GET", ROUTE, 500, started)
            await error(scope, receive, send)
            return
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        record_request("GET", ROUTE, 200, started)
        await response(scope, receive, send)
