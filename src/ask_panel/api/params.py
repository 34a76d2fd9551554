"""Parsing at the edge: path ids, the tenant header and the stream parameters, each parsed in one place.

The rule for input that cannot be parsed (documented in docs/architecture.md): the request's
envelope (path, query string, headers) is a 400 `bad-request`, except a panel id, which is a 404
exactly like a panel that does not exist; a body that is not valid is a 422.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path

from ask_panel.api.errors import BadRequest
from ask_panel.domain.errors import InvalidInput, PanelNotFound
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.observability.context import bind_panel

MAX_EVENT_ID = 2**31 - 1
# A tenant id in a header, as OpenAPI says it: a string of UUID form (`format: uuid` would make generated
# clients pass a UUID object as a header value, which their HTTP library refuses).
TENANT_HEADER_SCHEMA = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
_EVENT_ID = re.compile(r"^[0-9]{1,10}$")
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def parse_panel_id(value: str) -> PanelId:
    """A panel id from a path; a malformed one is the same 404 as an unknown panel."""
    try:
        panel_id = PanelId.from_string(value)
    except InvalidInput:
        raise PanelNotFound(value) from None
    bind_panel(panel_id)  # the request's log lines name their panel
    return panel_id


def parse_tenant(value: str | None) -> TenantId:
    """The tenant named by the X-Tenant-ID header."""
    if not value:
        raise BadRequest("The X-Tenant-ID header is required")
    try:
        return TenantId.from_string(value)
    except InvalidInput:
        raise BadRequest("X-Tenant-ID must be a UUID") from None


async def panel_id_in_path(
    panel_id: Annotated[
        str, Path(description="The panel's id (a UUID)", examples=["5b0f3c52-7f44-4c1e-9f1e-0c7d5b7f2a10"])
    ],
) -> PanelId:
    return parse_panel_id(panel_id)


PanelIdPath = Annotated[PanelId, Depends(panel_id_in_path)]


def _event_id(value: str, name: str) -> int:
    value = value.strip()
    if not _EVENT_ID.match(value) or int(value) > MAX_EVENT_ID:
        raise BadRequest(f"{name} must be a non-negative integer")
    return int(value)


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a stream request asks for: where to resume, whether to add text deltas, and a ticket."""

    last_event_id: int = 0
    deltas: bool = False
    ticket: str | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str], headers: Mapping[str, str], *, tickets: bool = True) -> StreamParams:
        """The one parser of the stream endpoints' parameters (SSE fast path and routes, WebSocket).

        The `Last-Event-ID` header wins over `?last_event_id=`: an EventSource reconnects by itself
        with the URL it was opened with (its query included) and the header set to the last id it
        received, the more recent of the two. `?tokens=` takes true/false (and 1/0, yes/no, on/off,
        t/f, y/n); `?ticket=` only where `tickets` is allowed.
        """
        header = headers.get("last-event-id")
        resume = query.get("last_event_id")
        if header is not None and header.strip():
            last_event_id = _event_id(header, "Last-Event-ID")
        elif resume is not None:
            last_event_id = _event_id(resume, "last_event_id")
        else:
            last_event_id = 0
        flag = query.get("tokens")
        if flag is None:
            deltas = False
        elif flag.lower() in _TRUE | _FALSE:
            deltas = flag.lower() in _TRUE
        else:
            raise BadRequest("tokens must be true or false")
        ticket = query.get("ticket") if tickets else None
        return cls(last_event_id, deltas, ticket)


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": where, "required": False, "description": description, "schema": schema}


# The OpenAPI description of what StreamParams.parse reads (the routes declare no parameters of
# their own for these, so the documentation and the parser cannot drift apart).
RESUME_PARAMETERS = [
    _parameter(
        "last_event_id",
        "query",
        "Resume after this event id, for a first connection that cannot send headers (EventSource); "
        "the Last-Event-ID header wins when both are sent",
        {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
    ),
    _parameter(
        "Last-Event-ID",
        "header",
        "Resume after this event id (sent by EventSource when it reconnects; wins over ?last_event_id=)",
        {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
    ),
    _parameter(
        "tokens", "query", "Add expert_token events (text deltas, batched)", {"type": "boolean", "default": False}
    ),
]
TICKET_PARAMETER = _parameter(
    "ticket", "query", "A stream ticket, in place of a bearer token and X-Tenant-ID", {"type": "string"}
)
# The bearer token is the `bearerAuth` security scheme (an `Authorization` parameter is ignored by OpenAPI).
AUTH_PARAMETERS = [
    _parameter("X-Tenant-ID", "header", "The tenant, a UUID (not needed with a ticket)", TENANT_HEADER_SCHEMA),
]
