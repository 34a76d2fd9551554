"""The one policy for pages of other origins (CORS): every route, the watch fast path and the WebSocket.

`ASK_PANEL_CORS_ORIGINS` lists the origins whose pages may call the API (empty: same origin only).
HTTP is answered by Starlette's `CORSMiddleware`, built from this policy and placed outside every
other layer, the watch stream's fast path included, so errors and streams carry the same headers;
a refused preflight is a problem+json. A WebSocket has no CORS: browsers send `Origin` and leave
the check to the server, which accepts its own origin (the `Host` it was reached at), a listed one,
or a client that sends none (not a browser).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp

from ask_panel.api.errors import BadRequest, OriginNotAllowed, problem_for
from ask_panel.api.request_ids import request_id_from
from ask_panel.config import ANY_ORIGIN, Settings
from ask_panel.observability import set_request_id

ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# What the API reads from a request besides the CORS-safelisted headers.
ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Tenant-ID", "Idempotency-Key", "Last-Event-ID", "X-Request-ID")
# What a page may read from a response besides the CORS-safelisted ones.
EXPOSE_HEADERS = ("X-Request-ID", "Location", "Idempotent-Replayed", "Retry-After", "WWW-Authenticate")
MAX_AGE_S = 600
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Which other origins' pages may use the API; built once from the settings."""

    origins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> CorsPolicy:
        return cls(frozenset(settings.cors_origins))

    @property
    def any_origin(self) -> bool:
        return ANY_ORIGIN in self.origins

    def allows(self, origin: str) -> bool:
        """A page of `origin` (as its browser sent it) may call the API."""
        return self.any_origin or origin in self.origins

    def allows_websocket(self, headers: Headers) -> bool:
        """A WebSocket handshake's `Origin` is absent (not a browser), the server's own, or allowed."""
        origin = headers.get("origin")
        return origin is None or self.allows(origin) or same_origin(origin, headers.get("host"))

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """`app` behind the CORS middleware (preflights answered, headers on every response)."""
        return ProblemCORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            allow_private_network=True,  # a listed origin may reach a service on a private address
            max_age=MAX_AGE_S,
        )

    def check_websocket(self, connection: HTTPConnection) -> None:
        """OriginNotAllowed (403) unless the handshake's origin may open the WebSocket."""
        if not self.allows_websocket(connection.headers):
            raise OriginNotAllowed(f"Pages of {connection.headers.get('origin')} may not open this WebSocket")


def same_origin(origin: str, host: str | None) -> bool:
    """`Origin` names the host (and port) the request was sent to: the service's own page.

    The scheme is not compared: behind a proxy that terminates TLS the server sees `http`/`ws` while
    the page is `https`. A proxy that rewrites `Host` needs the public origin listed instead.
    """
    if not host:
        return False
    page = urlsplit(origin)
    if not page.hostname:
        return False
    target = urlsplit(f"//{host}")
    try:
        page_port = page.port or _DEFAULT_PORTS.get(page.scheme.lower())
        target_port = target.port or _DEFAULT_PORTS.get(page.scheme.lower())
    except ValueError:
        return False
    return (page.hostname.lower(), page_port) == ((target.hostname or "").lower(), target_port)


def cors_policy_of(connection: HTTPConnection) -> CorsPolicy:
    """The app's policy (`create_app` puts it on the app's state)."""
    policy: CorsPolicy = connection.app.state.cors_policy
    return policy


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, whose refused preflight is a problem+json like every other refusal:
    403 `origin-not-allowed` for an origin that is not listed, 400 for a method or header the API does not take."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 200:
            return answer
        # This layer is outside the request-id middleware: the refusal takes its id here, as every answer has one.
        request_id = request_id_from(request_headers.get("x-request-id", ""))
        set_request_id(request_id)
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin):
            refusal = problem_for(OriginNotAllowed(f"Pages of {origin} may not call this API"))
        else:
            refusal = problem_for(_bad_preflight(request_headers))
        refusal.headers["Vary"] = answer.headers["Vary"]
        refusal.headers["X-Request-ID"] = request_id
        return refusal


def _bad_preflight(headers: Headers) -> BadRequest:
    method = headers["access-control-request-method"]
    asked = headers.get("access-control-request-headers", "")
    return BadRequest(
        f"A cross-origin {method} with headers [{asked}] is not allowed: the API takes the methods "
        f"{', '.join(ALLOW_METHODS)} and the headers {', '.join(ALLOW_HEADERS)}"
    )
