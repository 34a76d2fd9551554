"""ASGI middleware: request ids (X-Request-ID), and request bodies read whole within size and pace limits (413, 408)."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ask_panel.api.errors import PayloadTooLarge, RequestTimeout, problem_for
from ask_panel.api.request_ids import request_id_from
from ask_panel.observability import set_request_id


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    return request_id_from(dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1"))


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        set_request_id(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Reads a request's body whole before the app sees it, bounded in size and in pace.

    A body over `max_bytes` is a problem+json 413, whether its Content-Length says so or a chunked
    body grows past it while it is read; a body that pauses for longer than `timeout_s` is a 408.
    Both close the connection. Before a 413 the rest of the body is read and dropped, up to
    `DRAIN_FACTOR * max_bytes` in all: a client still sending would otherwise get a connection reset
    instead of the answer. The app receives the body in one message. (FastAPI's own `max_body_size`
    answers 413 in plain text, and an error raised while FastAPI reads a body becomes a 400: neither
    keeps the promise of one problem+json per error.)
    """

    DRAIN_FACTOR = 4

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if not chunked and (length is None or length == b"0"):
            await self.app(scope, receive, send)  # no body to read
            return
        too_large = PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes")
        body = bytearray()
        size = 0
        declared_too_large = length is not None and length.isdigit() and int(length) > self.max_bytes
        while not declared_too_large or size <= self.DRAIN_FACTOR * self.max_bytes:
            try:
                async with asyncio.timeout(self.timeout_s):
                    message = await receive()
            except TimeoutError:
                slow = RequestTimeout(f"The request body paused for more than {self.timeout_s:g} s")
                await problem_for(too_large if size > self.max_bytes else slow)(scope, receive, send)
                return
            if message["type"] == "http.disconnect":
                return  # the client left before its body arrived: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                declared_too_large = True  # from here on, only drained
            else:
                body += chunk
            if not message.get("more_body", False):
                break
        if declared_too_large:
            await problem_for(too_large)(scope, receive, send)
            return
        whole: Message | None = {"type": "http.request", "body": bytes(body), "more_body": False}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                message, whole = whole, None
                return message
            return await receive()

        await self.app(scope, replay, send)


class AnsweredErrors:
    """Outermost: an unexpected error already answered (a 500 problem, logged with its request id) ends here.

    Starlette answers it and then re-raises it for the server, which would log the same traceback a
    second time. An error raised before a response was completed still reaches the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if not answered:
                raise
