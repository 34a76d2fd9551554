"""What every log line of a request, a panel run or a job carries: request id, tenant id, panel id.

The values live in context variables (structlog's), so a task started for a request or a run
inherits them, and every log line written meanwhile, through structlog or the standard library,
carries them.
"""

from __future__ import annotations

from contextvars import ContextVar

from structlog.contextvars import bind_contextvars, clear_contextvars, unbind_contextvars

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    """Start a request's context: its id, and nothing from an earlier request on the same connection."""
    clear_contextvars()
    _request_id.set(value)
    if value is not None:
        bind_contextvars(request_id=value)


def bind_tenant(tenant_id: object) -> None:
    bind_contextvars(tenant_id=str(tenant_id))


def bind_panel(panel_id: object) -> None:
    bind_contextvars(panel_id=str(panel_id))


def bind_run(tenant_id: object, panel_id: object) -> None:
    """A panel run's context (inside its own task): its tenant and panel, not the request that queued it."""
    _request_id.set(None)
    unbind_contextvars("request_id")
    bind_contextvars(tenant_id=str(tenant_id), panel_id=str(panel_id))
