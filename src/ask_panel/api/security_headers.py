"""Security headers on every HTTP response: the one owner of no-sniff, no-framing and the referrer policy.

Outermost in the stack (outside CORS and the watch stream's fast path), so every answer carries them:
routes, problems, preflights, static files, streams, and a refused WebSocket handshake's HTTP answer.
A response that sets a header itself keeps its own value: the web app's page sends its full
Content-Security-Policy (`routes/webapp.py`); everything else gets `frame-ancestors 'none'`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),  # a browser takes the declared type, never a guessed one
    (b"x-frame-options", b"DENY"),  # no page may frame ours (older browsers; CSP's frame-ancestors for the rest)
    (b"referrer-policy", b"no-referrer"),  # a URL (which may hold a stream ticket) never leaks to other sites
    (b"content-security-policy", b"frame-ancestors 'none'"),
)
_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)
_STARTS = frozenset({"http.response.start", "websocket.http.response.start"})


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` plus each security header that it does not set itself."""
    present = {name.lower() for name, _ in headers} & _NAMES
    if len(present) == len(_NAMES):
        return headers
    return [*headers, *((name, value) for name, value in SECURITY_HEADERS if name not in present)]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in _STARTS:
                message["headers"] = with_security_headers(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)
