"""Liveness and readiness probes (no tenant, no auth)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ask_panel.api.deps import container_of
from ask_panel.api.errors import problem
from ask_panel.api.schemas import HealthResponse
from ask_panel.bootstrap import NotReady

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=HealthResponse,
    responses={
        503: {
            "description": "Not ready (`not-ready`, or `draining` while shutting down): the database does not "
            "answer, a configured bus (Redis) is down, or this process's job worker is not running"
        }
    },
)
async def readyz(request: Request) -> object:
    """The database answers and, when one is configured, the bus between processes works."""
    try:
        await container_of(request).ready()
    except NotReady as exc:
        return problem(503, "not-ready", "Not ready", str(exc))
    except Exception as exc:
        return problem(503, "not-ready", "Not ready", f"unavailable: {type(exc).__name__}")
    return HealthResponse(status="ok")
