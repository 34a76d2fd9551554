"""The client's exceptions: one base class, problem responses by status, and connection failures."""

from __future__ import annotations

from typing import Any


class AskPanelError(Exception):
    """Every error the client raises."""


class ConfigurationError(AskPanelError):
    """The client lacks a setting it needs (a tenant), or was given a bad one."""


class ConnectionFailed(AskPanelError):
    """The service could not be reached, or the connection broke and could not be retried."""


class StreamInterrupted(ConnectionFailed):
    """A stream broke and could not be resumed within the reconnect budget; `last_event_id` says where it stopped."""

    def __init__(self, message: str, *, last_event_id: int) -> None:
        super().__init__(message)
        self.last_event_id = last_event_id


class ApiError(AskPanelError):
    """The service answered with a problem (RFC 9457): its status, title and detail."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail and detail != title else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.request_id = request_id
        self.body = body or {}


class BadRequest(ApiError):
    """400: the request's envelope (parameters, headers) is wrong."""


class Unauthorized(ApiError):
    """401: no token, or a token the service does not accept."""


class BudgetExhausted(ApiError):
    """402: the tenant has spent its daily or monthly budget; `Retry-After` says when the period turns (not retried)."""


class Forbidden(ApiError):
    """403: the token does not grant this tenant, or the resource is read-only."""


class NotFound(ApiError):
    """404: no such panel or expert for this tenant."""


class Conflict(ApiError):
    """409: the resource's state forbids this (a panel already started or ended, an id taken)."""


class PayloadTooLarge(ApiError):
    """413: the body is larger than the service accepts."""


class InvalidInput(ApiError):
    """422: the body is well-formed but its values are not acceptable."""


class RateLimited(ApiError):
    """429: too many requests or streams; retried with `Retry-After` before it is raised."""


class ServerError(ApiError):
    """5xx: the service failed."""


class ServiceUnavailable(ServerError):
    """503: the service is busy or starting; retried with `Retry-After` before it is raised."""


ERROR_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: BudgetExhausted,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class(status: int) -> type[ApiError]:
    if status in ERROR_BY_STATUS:
        return ERROR_BY_STATUS[status]
    return ServerError if status >= 500 else ApiError
