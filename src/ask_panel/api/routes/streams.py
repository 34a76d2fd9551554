"""Live panel streams: SSE (start-and-stream, watch) and WebSocket, plus browser stream tickets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, WebSocket
from fastapi.responses import Response
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ask_panel.api.cors import cors_policy_of
from ask_panel.api.deps import Panels, Streams, Tenant, Tickets, authenticate, container_of, count
from ask_panel.api.errors import problem_for, status_of
from ask_panel.api.params import (
    AUTH_PARAMETERS,
    RESUME_PARAMETERS,
    TICKET_PARAMETER,
    PanelIdPath,
    StreamParams,
    parse_panel_id,
)
from ask_panel.api.routes.responses import WHEN, Responses, problems
from ask_panel.api.schemas import Problem, TicketResponse
from ask_panel.api.sse import SSEResponse, supervisor_of
from ask_panel.api.wire import ws_control, ws_text
from ask_panel.application.streams import PanelStream
from ask_panel.application.tickets import StreamKind
from ask_panel.domain.errors import DomainError, InvalidInput, InvalidTicket, PanelConflict, PanelNotFound
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import utcnow
from ask_panel.domain.status import PanelStatus
from ask_panel.infrastructure.auth import InvalidJwt
from ask_panel.observability import metrics
from ask_panel.observability.context import bind_tenant

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
| `expert_error` | `message`, `agent_id`, `round`, `terminal` (false): one expert could not answer; the panel goes on |
| `error` | `message`, `terminal` (true), `panel_id`: the panel failed (once per panel, its last event) |

The stream starts with a `retry:` hint, sends a `: heartbeat` comment every 15 s, and closes after
`panel_complete`, `panel_cancelled` or `error`. Resume with `Last-Event-ID` (or `?last_event_id=`):
exactly the events with a greater id follow, in increasing order. A panel that has ended and whose
last event the client already has answers 204 (no body): nothing more will ever be sent."""

SSE_RESPONSES: Responses = {
    200: {
        "description": EVENT_TYPES_DOC,
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "string",
                    "description": "A sequence of SSE frames; each event's `id`, `event` and `data` are one "
                    "`StreamEvent` (schema in `x-itemSchema`).",
                },
                "x-itemSchema": {"$ref": "#/components/schemas/StreamEvent"},
                "example": 'retry: 2000\n\nid: 3\nevent: expert_speaking\ndata: {"agent_id":"fda_expert",'
                '"agent_name":"Dr. Maya Chen","content":"...","timestamp":"2026-11-25T10:00:00+00:00","round":1,'
                '"role":"expert","stance":null,"metadata":{}}\n\n',
            }
        },
    },
    204: {"description": "The panel has ended and the client already has its last event: nothing more to send"},
    **problems(400, 401, 403, 404),
    429: {"model": Problem, "description": WHEN[429]},
}
TICKET_OPENS_STREAM: dict[str, Any] = {"security": [{"bearerAuth": []}, {"streamTicket": []}]}


def _sse(connection: Request, stream: PanelStream, transport: str = "sse_watch") -> Response:
    """The SSE response, or 204 when the panel has ended and the client has its last event (the SSE
    standard's way to tell a client such as EventSource to stop reconnecting)."""
    if stream.finished:
        stream.close()
        return Response(status_code=204)
    settings = container_of(connection).settings
    supervisor = supervisor_of(connection)
    return SSEResponse(stream, supervisor=supervisor, retry_ms=settings.sse_retry_ms, transport=transport)


@router.post(
    "/{panel_id}/stream",
    operation_id="streamPanel",
    summary="Start and stream a panel",
    response_class=SSEResponse,
    status_code=200,
    responses={**SSE_RESPONSES, **problems(402)},
    openapi_extra={"parameters": RESUME_PARAMETERS},
)
async def start_and_stream(
    panel_id: PanelIdPath, request: Request, tenant: Tenant, panels: Panels, streams: Streams
) -> Response:
    """Start a draft panel (as execute does) and stream its events; a started panel is only streamed."""
    params = StreamParams.parse(request.query_params, request.headers, tickets=False)
    await count(request, "stream_open", tenant)
    stream = await streams.open(tenant, panel_id, last_event_id=params.last_event_id, deltas=params.deltas)
    if stream.panel.status is PanelStatus.DRAFT:
        try:
            await panels.execute(tenant, panel_id)
        except PanelConflict:
            pass  # started meanwhile by someone else: just stream it
        except BaseException:
            stream.close()
            raise
    return _sse(request, stream, "sse_post")


async def _authorize_stream(
    connection: HTTPConnection, panel_id: str, ticket: str | None, stream: StreamKind
) -> tuple[TenantId, PanelId]:
    """The tenant and panel of a stream: by its ticket (for browsers), else by X-Tenant-ID and the bearer token.

    A ticket is refused (401) for another panel, a malformed panel id, another kind of stream, or a
    request whose X-Tenant-ID names another tenant. Without a ticket, a malformed panel id is the
    same 404 as an unknown panel.
    """
    try:
        pid: PanelId | None = parse_panel_id(panel_id)
    except PanelNotFound:
        pid = None
    if ticket is not None:
        named = connection.headers.get("x-tenant-id")
        try:
            tenant_named = TenantId.from_string(named) if named else None
        except InvalidInput:
            raise InvalidTicket("Invalid or expired stream ticket") from None
        tenant = await container_of(connection).tickets.redeem(ticket, pid, stream, tenant=tenant_named)
        bind_tenant(tenant)
    else:
        tenant = await authenticate(
            connection, connection.headers.get("x-tenant-id"), connection.headers.get("authorization")
        )
    if pid is None:
        raise PanelNotFound(panel_id)
    return tenant, pid


async def open_watch(request: Request, panel_id: str) -> Response:
    """GET /stream, whoever serves it (the documented route, or `api/fastpath.py` at run time)."""
    params = StreamParams.parse(request.query_params, request.headers)
    tenant, pid = await _authorize_stream(request, panel_id, params.ticket, StreamKind.SSE)
    await count(request, "stream_open", tenant)
    stream = await container_of(request).streams.open(
        tenant, pid, last_event_id=params.last_event_id, deltas=params.deltas
    )
    return _sse(request, stream)


@router.get(
    "/{panel_id}/stream",
    operation_id="watchPanel",
    summary="Watch a panel",
    response_class=SSEResponse,
    status_code=200,
    responses=SSE_RESPONSES,
    openapi_extra={"parameters": [TICKET_PARAMETER, *RESUME_PARAMETERS, *AUTH_PARAMETERS], **TICKET_OPENS_STREAM},
)
async def watch(panel_id: Annotated[str, Path(description="The panel's id (a UUID)")], request: Request) -> Response:
    """Watch a panel (EventSource-compatible). A draft panel's watchers wait until it starts.

    At run time `api/fastpath.py` serves this path by calling this same function outside the
    framework's per-request layers (a watch stream lives for minutes; those layers cost memory).
    """
    return await open_watch(request, panel_id)


@router.post(
    "/{panel_id}/stream-ticket",
    operation_id="createStreamTicket",
    summary="Get a stream ticket",
    response_model=TicketResponse,
    status_code=201,
    responses=problems(400, 401, 403, 404),
)
async def create_ticket(panel_id: PanelIdPath, tenant: Tenant, tickets: Tickets) -> TicketResponse:
    """A ticket (valid at most 60 s) for this panel's GET stream or WebSocket (`?ticket=`), for browsers.

    Its first use binds it to that stream (SSE or WebSocket); until it expires it serves that stream's
    reconnects (EventSource repeats the URL with `Last-Event-ID`), never another panel, tenant or kind
    of stream. It is never logged (access logs show `ticket=[redacted]`).
    """
    ticket, expires_at = await tickets.issue(tenant, panel_id)
    remaining = round((expires_at - utcnow()).total_seconds())
    return TicketResponse(ticket=ticket, expires_at=expires_at, expires_in=max(0, remaining))


@router.websocket("/{panel_id}/ws")
async def websocket_stream(websocket: WebSocket, panel_id: str) -> None:
    """The same events as JSON messages `{id, event, data}`; send `{"type": "cancel"}` to cancel.

    Parameters as on GET /stream (`ticket`, `last_event_id`, `tokens`), parsed by the same code. A
    browser's `Origin` must be the service's own or one of ASK_PANEL_CORS_ORIGINS (`api/cors.py`).
    """
    container = container_of(websocket)
    try:
        cors_policy_of(websocket).check_websocket(websocket)  # before anything else: a page it may not trust
        params = StreamParams.parse(websocket.query_params, websocket.headers)
        tenant, pid = await _authorize_stream(websocket, panel_id, params.ticket, StreamKind.WEBSOCKET)
        await count(websocket, "stream_open", tenant)
        stream = await container.streams.open(tenant, pid, last_event_id=params.last_event_id, deltas=params.deltas)
    except (DomainError, InvalidJwt) as exc:
        await _deny(websocket, exc)
        return
    try:
        await websocket.accept()
    except BaseException:
        stream.close()  # the client left before the handshake completed: give its stream slot back
        raise
    sender = asyncio.create_task(_send_events(websocket, stream, container.settings.stream_send_timeout_s))
    receiver = asyncio.create_task(_receive_commands(websocket, tenant, pid))
    open_streams = metrics.STREAMS_OPEN.labels("websocket")
    open_streams.inc()
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        open_streams.dec()
        for task in (sender, receiver):
            task.cancel()
        results = await asyncio.gather(sender, receiver, return_exceptions=True)
        stream.close()
        if websocket.application_state is WebSocketState.CONNECTED:
            code, reason = _close_code(stream, container.hub.closing, results[0])
            # Bounded like every send: a client that stopped reading would block the close frame forever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(container.settings.stream_send_timeout_s):
                    await websocket.close(code=code, reason=reason)


# WebSocket close codes (RFC 6455 7.4.1, and the IANA registry for 1012).
FINISHED, POLICY, INTERNAL, RESTART = 1000, 1008, 1011, 1012


def _close_code(stream: PanelStream, shutting_down: bool, sent: object) -> tuple[int, str]:
    """Why a WebSocket stream ends, as its close code says it: a client can tell the end of the panel
    (1000) from a server restart (1012, reconnect with `last_event_id`) and from being let go (1008)."""
    if stream.ended_with_panel:
        return FINISHED, "the panel has ended"
    if shutting_down:
        return RESTART, "the server is restarting; reconnect with last_event_id"
    if stream.subscriber.dropped or isinstance(sent, TimeoutError):
        return POLICY, "the client did not keep up; reconnect with last_event_id"
    if isinstance(sent, Exception):
        return INTERNAL, "the stream failed; reconnect with last_event_id"
    return FINISHED, ""


async def _deny(websocket: WebSocket, exc: Exception) -> None:
    status, _ = status_of(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problem_for(exc))
    else:
        await websocket.close(code=4000 + status)


async def _send_events(websocket: WebSocket, stream: PanelStream, timeout_s: float) -> None:
    async with contextlib.aclosing(stream.batches()) as batches:
        async for batch in batches:
            try:
                for event in batch:
                    async with asyncio.timeout(timeout_s):
                        await websocket.send_text(ws_text(event))
            except TimeoutError:
                metrics.SEND_TIMEOUTS.labels("websocket").inc()
                raise
            if batch and batch[0].committed_at is not None:
                metrics.FANOUT_LAG.observe(time.time() - batch[0].committed_at)


async def _receive_commands(websocket: WebSocket, tenant: TenantId, panel_id: PanelId) -> None:
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
                    await websocket.send_text(ws_control({"type": "cancel", "ok": True}))
                except DomainError as exc:
                    await websocket.send_text(
                        ws_control({"type": "cancel", "ok": False, "status": status_of(exc)[0], "detail": exc.detail})
                    )
            elif kind == "ping":
                await websocket.send_text(ws_control({"type": "pong"}))
            else:
                await websocket.send_text(
                    ws_control({"type": "error", "detail": 'unknown command; send {"type": "cancel"}'})
                )


__all__ = ["Response", "router"]
