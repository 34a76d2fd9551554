"""The HTTP server's configuration: uvicorn with timeouts against slow and idle clients.

uvicorn closes a keep-alive connection idle between requests (`timeout_keep_alive`), but a
connection whose request headers never complete (slowloris: a few bytes now and then, or nothing at
all after connecting) is held for as long as the client likes. `GuardedHttpProtocol` gives every
request `header_timeout_s` from the moment the connection opens, or the previous response ends, to
its last header line; past it the client gets a 408 and the connection is closed. Slow request
bodies are bounded by `api/middleware.py` (`BodyLimitMiddleware`).

`DenyingWebSocketProtocol`: a WebSocket refused before its handshake gets the same problem+json
response as the SSE stream (a denial response); uvicorn's sans-I/O protocol sends it but then logs
an error ("returned without completing handshake") for every such refusal. It is told the refusal
is the handshake's end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ask_panel.api.errors import PROBLEM_BASE, PROBLEM_JSON
from ask_panel.config import Settings


def request_timeout() -> bytes:
    """The whole 408 answer to headers that took too long: a problem+json like every other refusal."""
    request_id = uuid.uuid4().hex  # there is no request (its headers never came) to take an id from
    body = json.dumps(
        {
            "type": PROBLEM_BASE + "request-timeout",
            "title": "Request timeout",
            "status": 408,
            "detail": "The request headers took too long to arrive",
            "request_id": request_id,
        }
    ).encode()
    head = (
        f"HTTP/1.1 408 Request Timeout\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()  # a keep-alive connection's next request: from its first byte

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of ours is being sent on it
            self.transport.write(request_timeout())
        self.transport.close()


class DenyingWebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True  # the refusal was the handshake's answer


def guarded_protocol(header_timeout_s: float) -> type[GuardedHttpProtocol]:
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"header_timeout_s": header_timeout_s})


def server_config(
    app: Any, settings: Settings, *, host: str, port: int, log_level: str = "info", access_log: bool = False
) -> uvicorn.Config:
    """The uvicorn configuration of `ask-panel serve` (and of the tests that serve over real sockets)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(settings.http_header_timeout_s),
        ws=DenyingWebSocketProtocol,
        timeout_keep_alive=settings.http_keepalive_timeout_s,  # type: ignore[arg-type]  # a float works
        log_level=log_level,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        timeout_graceful_shutdown=10,
        access_log=access_log,
        log_config=None,  # every logger goes through the service's structured handler
        lifespan="on",
    )
