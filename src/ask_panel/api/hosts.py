"""Which `Host` names the service answers: a guard against DNS rebinding of a server without authentication.

With `ASK_PANEL_AUTH_MODE=none` anyone who reaches the port may act as any tenant. A listener on
loopback is not reached from other machines, but a web page can be: a name the attacker controls
is made to resolve to 127.0.0.1 (DNS rebinding), and the browser then calls the local server as
that page's own origin, so CORS and the WebSocket's same-origin check both pass. The `Host` header
still names the attacker's domain. So when authentication is off, only loopback names are answered
(`localhost`, `127.0.0.1`, `[::1]`, any port) unless `ASK_PANEL_ALLOWED_HOSTS` lists others (or `*`);
anything else is a 400 problem (HTTP) or a refused handshake (WebSocket). With JWT the token is the
guard, and every host is answered unless `ASK_PANEL_ALLOWED_HOSTS` is set.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from ask_panel.api.errors import BadRequest, problem_for
from ask_panel.api.request_ids import request_id_from
from ask_panel.config import Settings
from ask_panel.observability import set_request_id

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_HOST = "*"


def host_name(host: str) -> str:
    """The name of a `Host` header without its port, lower case (`[::1]:8000` → `::1`)."""
    return (urlsplit(f"//{host}").hostname or "").lower() if host else ""


class HostPolicy:
    """The host names answered (None: any)."""

    def __init__(self, names: frozenset[str] | None) -> None:
        self.names = names

    @classmethod
    def from_settings(cls, settings: Settings) -> HostPolicy:
        if settings.allowed_hosts:
            listed = frozenset(h.strip().lower() for h in settings.allowed_hosts)
            return cls(None if ANY_HOST in listed else listed | LOOPBACK_NAMES)
        return cls(LOOPBACK_NAMES if settings.auth_mode == "none" else None)

    def allows(self, host: str) -> bool:
        return self.names is None or host_name(host) in self.names

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return app if self.names is None else HostGuard(app, self)


class HostGuard:
    """Refuses HTTP requests and WebSockets whose `Host` the policy does not answer."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if self.policy.allows(host):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        set_request_id(request_id)
        refusal = problem_for(
            BadRequest(
                f"This server does not answer for the host {host_name(host) or '(none)'!r} (ASK_PANEL_ALLOWED_HOSTS)"
            )
        )
        refusal.headers["X-Request-ID"] = request_id
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.http.response.start", "status": refusal.status_code, "headers": refusal.raw_headers}
            )
            await send({"type": "websocket.http.response.body", "body": refusal.body})
            return
        await refusal(scope, receive, send)
