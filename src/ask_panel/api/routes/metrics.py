"""GET /metrics: the process's Prometheus metrics, optionally behind a bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ask_panel.api.deps import container_of
from ask_panel.api.errors import Unauthorized
from ask_panel.observability import metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    """Prometheus text format. With `ASK_PANEL_METRICS_TOKEN` set, only `Authorization: Bearer <that token>`."""
    expected = container_of(request).settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise Unauthorized("GET /metrics needs the metrics bearer token")
    return Response(await metrics.render(), media_type=metrics.CONTENT_TYPE)
