"""The one mapping from exceptions to RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ask_panel.domain import errors as domain
from ask_panel.infrastructure.auth import InvalidJwt
from ask_panel.observability import current_request_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://ask-panel.dev/problems/"


class BadRequest(domain.DomainError):
    title = "Bad request"


class Forbidden(domain.DomainError):
    title = "Forbidden"


class OriginNotAllowed(Forbidden):
    """A browser page of an origin that ASK_PANEL_CORS_ORIGINS does not list (a preflight or a WebSocket)."""

    title = "Origin not allowed"


class Unauthorized(domain.DomainError):
    title = "Unauthorized"


class PayloadTooLarge(domain.DomainError):
    title = "Payload too large"


class RequestTimeout(domain.DomainError):
    title = "Request timeout"


RETRY_AFTER_S = "5"
# FastAPI's HTTPException detail when decoding a JSON body raised something other than a JSONDecodeError.
UNPARSABLE_BODY = "There was an error parsing the body"

# Where a parameter that cannot be parsed is a 400 (the request's envelope); a body's problems are 422.
ENVELOPE = frozenset({"path", "query", "header", "cookie"})

# exception class -> (HTTP status, problem type slug); the most specific class wins. Each domain
# error has one status everywhere (InvalidInput is always 422: it is about the content).
STATUS: dict[type[Exception], tuple[int, str]] = {
    BadRequest: (400, "bad-request"),
    Unauthorized: (401, "unauthorized"),
    InvalidJwt: (401, "unauthorized"),
    domain.InvalidTicket: (401, "invalid-ticket"),
    Forbidden: (403, "forbidden"),
    OriginNotAllowed: (403, "origin-not-allowed"),
    domain.PanelNotFound: (404, "panel-not-found"),
    domain.AgentNotFound: (404, "agent-not-found"),
    domain.AgentAlreadyExists: (409, "agent-exists"),
    domain.BuiltinAgentReadOnly: (403, "builtin-agent-read-only"),
    domain.AgentLimitReached: (409, "agent-limit"),
    domain.IllegalTransition: (409, "illegal-transition"),
    domain.PanelConflict: (409, "panel-conflict"),
    domain.IdempotencyConflict: (409, "idempotency-conflict"),
    domain.StaleAttempt: (409, "stale-attempt"),
    RequestTimeout: (408, "request-timeout"),
    PayloadTooLarge: (413, "payload-too-large"),
    domain.UnknownAgents: (422, "unknown-agents"),
    domain.InvalidInput: (422, "invalid-input"),
    domain.TooManyStreams: (429, "too-many-streams"),
    domain.RateLimited: (429, "rate-limited"),
    domain.BudgetExhausted: (402, "budget-exhausted"),
    domain.ProviderError: (502, "provider-error"),
    domain.ServiceBusy: (503, "service-busy"),
    domain.StorageUnavailable: (503, "storage-unavailable"),
    domain.QuorumLost: (502, "quorum-lost"),
}


def status_of(exc: Exception) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500, "internal-error"


def problem(
    status: int, slug: str, title: str, detail: str, *, retry_after_s: int | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ask-panel"'
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    elif status in (429, 503):
        headers["Retry-After"] = RETRY_AFTER_S
    if status >= 500 or status in (408, 413):
        # After a server error (or a body left unread) the connection is not reused: say so, and close it.
        headers["Connection"] = "close"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(exc: Exception) -> JSONResponse:
    status, slug = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, domain.UnknownAgents):
        extra["agent_ids"] = exc.agent_ids
    if isinstance(exc, domain.RateLimited | domain.BudgetExhausted):
        return problem(status, slug, exc.title, exc.detail, retry_after_s=exc.retry_after_s)
    if isinstance(exc, domain.DomainError):
        return problem(status, slug, exc.title, exc.detail, **extra)
    if isinstance(exc, InvalidJwt):
        return problem(status, slug, "Unauthorized", str(exc))
    return problem(500, "internal-error", "Internal server error", "An unexpected error occurred.")


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this request's path (Starlette's 405 names only the first route's).

    Each method is tried against the app's routes as they match a request (routers nest routes)."""
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def install(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        return problem_for(exc)

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        if any(e["loc"][:1] and e["loc"][0] in ENVELOPE for e in errors):
            return problem(400, "bad-request", BadRequest.title, detail, errors=errors)
        return problem(422, "validation-error", "Request validation failed", detail, errors=errors)

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # FastAPI's answer to a body its JSON parser gave up on (nested too deeply, for one): an invalid body.
            unreadable = "The body is not JSON this API can read"
            errors = [{"loc": ["body"], "msg": unreadable, "type": "json_invalid"}]
            return problem(422, "validation-error", "Request validation failed", f"body: {unreadable}", errors=errors)
        answer = problem(exc.status_code, f"http-{exc.status_code}", str(exc.detail), str(exc.detail))
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: `Allow` lists every method of the resource, not one route's
            answer.headers["Allow"] = ", ".join(allowed_methods(_request))
        return answer

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled error on %s %s [request_id=%s]",
            request.method,
            request.url.path,
            current_request_id(),
            exc_info=exc,
        )
        return problem(500, "internal-error", "Internal server error", "An unexpected error occurred.")

    app.add_exception_handler(domain.DomainError, on_domain_error)
    app.add_exception_handler(InvalidJwt, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
