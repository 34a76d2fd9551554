"""Live panel streams: SSE (start-and-stream, watch) and WebSocket, plus browser stream tickets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket
from fastapi.responses import Response
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ask_panel.api.deps import Panels, Streams, Tenant, Tickets, authenticate, container_of
from ask_panel.api.errors import BadRequest, problem_for, status_of
from ask_panel.api.schemas import Problem, TicketResponse
from ask_panel.api.sse import SSEResponse, supervisor_of
from ask_panel.application.streams import PanelStream
from ask_panel.domain.errors import DomainError, PanelConflict
from ask_panel.domain.ids import TenantId
from ask_panel.domain.panel import utcnow
from ask_panel.domain.status import PanelStatus
from ask_panel.infrastructure.auth import InvalidToken

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/panels", tags=["streaming"])

EVENT_TYPES_DOC = """Server-Sent Events, one frame per event: `id: <seq>`, `event: <type>`, `data: <json>`.

| event | data |
|---|---|
| `panel_started` | `panel_id`, `panel_type`, `query`, `members`, `timestamp` |
| `round_started` | `round`, `timestamp` |
| `expert_speaking` | `agent_id`, `agent_name`, `content`, `timestamp`, `round`, `role`, `stance`, `metadata` |
| `expert_token` | (only with `?tokens=true`; no id, not persisted) `agent_id`, `agent_name`, `round`, `delta` |
| `round_complete` | `round`, `messages`, `feedback` |
| `consensus_update` | `round`, `level`, `confidence`, `method`, `components` |
| `panel_complete` | `panel_id`, `recommendation`, `consensus`, `confidence`, `duration`, `usage` |
| `panel_cancelled` | `panel_id`, `timestamp` |
| `error` | `message`, `terminal` (true ends the panel), `agent_id` and `round` for an expert's failure |

The stream starts with a `retry:` hint, sends a `: heartbeat` comment every 15 s, and closes after
`panel_complete`, `panel_cancelled` or a terminal `error`. Resume with `Last-Event-ID` (or
`?last_event_id=`): exactly the events with a greater id follow."""

SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": EVENT_TYPES_DOC,
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "example": 'id: 3\nevent: expert_speaking\ndata: {"agent_id":"fda_expert","agent_name":"Dr. Maya Chen",'
                '"content":"...","timestamp":"2026-11-25T10:00:00+00:00","round":1}\n\n',
            }
        },
    },
    400: {"model": Problem},
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
    429: {"model": Problem, "description": "Too many concurrent streams for this server or tenant"},
}


MAX_EVENT_ID = 2**31 - 1
EVENT_ID = re.compile(r"^[0-9]{1,10}$")


def resume_from(header: str | None, query: int | None) -> int:
    if query is not None:
        return query
    if header is None or header.strip() == "":
        return 0
    value = header.strip()
    if not EVENT_ID.match(value) or int(value) > MAX_EVENT_ID:
        raise BadRequest("Last-Event-ID must be a non-negative integer")
    return int(value)


def _sse(request: Request, stream: PanelStream) -> SSEResponse:
    settings = container_of(request).settings
    return SSEResponse(stream, supervisor=supervisor_of(request), retry_ms=settings.sse_retry_ms)


ResumeHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
ResumeQuery = Annotated[int | None, Query(alias="last_event_id", ge=0, le=MAX_EVENT_ID)]
TokensFlag = Annotated[bool, Query(description="Add expert_token events (text deltas, batched)")]


@router.post(
    "/{panel_id}/stream",
    operation_id="streamPanel",
    response_class=SSEResponse,
    status_code=200,
    responses=SSE_RESPONSES,
)
async def start_and_stream(
    panel_id: str,
    request: Request,
    tenant: Tenant,
    panels: Panels,
    streams: Streams,
    last_event_header: ResumeHeader = None,
    last_event_id: ResumeQuery = None,
    tokens: TokensFlag = False,
) -> SSEResponse:
    """Start a draft panel (as execute does) and stream its events; a started panel is only streamed."""
    stream = await streams.open(
        tenant, panel_id, last_event_id=resume_from(last_event_header, last_event_id), tokens=tokens
    )
    if stream.panel.status is PanelStatus.DRAFT:
        try:
            await panels.execute(tenant, panel_id)
        except PanelConflict:
            pass  # started meanwhile by someone else: just stream it
        except BaseException:
            stream.close()
            raise
    return _sse(request, stream)


async def _stream_tenant(
    connection: Request | WebSocket,
    panel_id: str,
    ticket: str | None,
    tenant_header: str | None,
    authorization: str | None,
) -> TenantId:
    if ticket is not None:
        return await container_of(connection).tickets.redeem(ticket, panel_id)
    return await authenticate(connection, tenant_header, authorization)


@router.get(
    "/{panel_id}/stream",
    operation_id="watchPanel",
    response_class=SSEResponse,
    status_code=200,
    responses=SSE_RESPONSES,
)
async def watch(
    panel_id: str,
    request: Request,
    streams: Streams,
    ticket: Annotated[str | None, Query(description="A stream ticket, in place of token and X-Tenant-ID")] = None,
    x_tenant_id: Annotated[str | None, Header(alias="X-Tenant-ID")] = None,
    authorization: Annotated[str | None, Header()] = None,
    last_event_header: ResumeHeader = None,
    last_event_id: ResumeQuery = None,
    tokens: TokensFlag = False,
) -> SSEResponse:
    """Watch a panel (EventSource-compatible). A draft panel's watchers wait until it starts.

    At run time `api/fastpath.py` serves this path with the same `open_watch`, outside the
    framework's per-request layers (a watch stream lives for minutes; those layers cost memory).
    """
    return await open_watch(
        request,
        panel_id,
        ticket=ticket,
        tenant_header=x_tenant_id,
        authorization=authorization,
        last_event_id=resume_from(last_event_header, last_event_id),
        tokens=tokens,
    )


async def open_watch(
    request: Request,
    panel_id: str,
    *,
    ticket: str | None,
    tenant_header: str | None,
    authorization: str | None,
    last_event_id: int,
    tokens: bool,
) -> SSEResponse:
    tenant = await _stream_tenant(request, panel_id, ticket, tenant_header, authorization)
    stream = await container_of(request).streams.open(tenant, panel_id, last_event_id=last_event_id, tokens=tokens)
    return _sse(request, stream)


@router.post(
    "/{panel_id}/stream-ticket",
    operation_id="createStreamTicket",
    response_model=TicketResponse,
    status_code=201,
    responses={k: v for k, v in SSE_RESPONSES.items() if k != 200},
)
async def create_ticket(panel_id: str, tenant: Tenant, tickets: Tickets) -> TicketResponse:
    """A single-use ticket (valid at most 60 s) for this panel's GET stream or WebSocket (`?ticket=`)."""
    ticket, expires_at = await tickets.issue(tenant, panel_id)
    remaining = round((expires_at - utcnow()).total_seconds())
    return TicketResponse(ticket=ticket, expires_at=expires_at, expires_in=max(0, remaining))


@router.websocket("/{panel_id}/ws")
async def websocket_stream(
    websocket: WebSocket,
    panel_id: str,
    ticket: str | None = None,
    last_event_id: int = 0,
    tokens: bool = False,
) -> None:
    """The same events as JSON messages `{id, event, data}`; send `{"type": "cancel"}` to cancel."""
    container = container_of(websocket)
    try:
        tenant = await _stream_tenant(
            websocket, panel_id, ticket, websocket.headers.get("x-tenant-id"), websocket.headers.get("authorization")
        )
        stream = await container.streams.open(
            tenant, panel_id, last_event_id=min(max(0, last_event_id), MAX_EVENT_ID), tokens=tokens
        )
    except (DomainError, InvalidToken) as exc:
        await _deny(websocket, exc)
        return
    try:
        await websocket.accept()
    except BaseException:
        stream.close()  # the client left before the handshake completed: give its stream slot back
        raise
    sender = asyncio.create_task(_send_events(websocket, stream, container.settings.stream_send_timeout_s))
    receiver = asyncio.create_task(_receive_commands(websocket, tenant, panel_id))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        stream.close()
        if websocket.application_state is WebSocketState.CONNECTED:
            # Bounded like every send: a client that stopped reading would block the close frame forever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(container.settings.stream_send_timeout_s):
                    await websocket.close(code=1000)


async def _deny(websocket: WebSocket, exc: Exception) -> None:
    status, _ = status_of(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problem_for(exc))
    else:
        await websocket.close(code=4000 + status)


async def _send_events(websocket: WebSocket, stream: PanelStream, timeout_s: float) -> None:
    async with contextlib.aclosing(stream.batches()) as batches:
        async for batch in batches:
            for event in batch:
                async with asyncio.timeout(timeout_s):
                    await websocket.send_text(event.ws)


async def _receive_commands(websocket: WebSocket, tenant: TenantId, panel_id: str) -> None:
    panels = container_of(websocket).panels
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            raw = await websocket.receive_text()
            try:
                command = orjson.loads(raw)
            except orjson.JSONDecodeError:
                command = None
            kind = command.get("type") if isinstance(command, dict) else None
            if kind == "cancel":
                try:
                    await panels.cancel(tenant, panel_id)
                    await websocket.send_text('{"id":null,"event":"control","data":{"type":"cancel","ok":true}}')
                except DomainError as exc:
                    await websocket.send_text(
                        orjson.dumps(
                            {
                                "id": None,
                                "event": "control",
                                "data": {
                                    "type": "cancel",
                                    "ok": False,
                                    "status": status_of(exc)[0],
                                    "detail": exc.detail,
                                },
                            }
                        ).decode()
                    )
            elif kind == "ping":
                await websocket.send_text('{"id":null,"event":"control","data":{"type":"pong"}}')
            else:
                await websocket.send_text(
                    '{"id":null,"event":"control","data":{"type":"error",'
                    '"detail":"unknown command; send {\\"type\\": \\"cancel\\"}"}}'
                )


__all__ = ["Response", "router"]
