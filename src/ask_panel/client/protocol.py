"""The API without I/O, shared by the sync and async clients: every request and how to read its answer,
when to send again, the pages of the panel list, and the stream's reconnects (they only do the I/O and wait)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import httpx2
from httpx2 import ServerSentEvent
from pydantic import TypeAdapter

from ask_panel.client.errors import ApiError, ConnectionFailed, StreamInterrupted, error_class
from ask_panel.client.events import Event, StreamCursor
from ask_panel.client.models import (
    AgentListResponse,
    ExecuteResponse,
    Expert,
    PanelListResponse,
    PanelResponse,
    PanelSummary,
)
from ask_panel.client.retry import RETRIED_STATUSES, ReconnectPolicy, RetryPolicy

API = "/api/v1"
ReportFormat = Literal["md", "html", "json"]
Model = TypeVar("Model")
Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class Call(Generic[Result]):
    """One API request and how to read its answer; `safe` says whether resending it after a dropped
    connection cannot do harm twice."""

    method: str
    path: str
    read: Callable[[httpx2.Response], Result]
    params: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    safe: bool = False


def _as(model: type[Model]) -> Callable[[httpx2.Response], Model]:
    return lambda response: parse(response, model)


def _text(response: httpx2.Response) -> str:
    return response.text


def _nothing(response: httpx2.Response) -> None:
    return None


def create_panel(
    query: str,
    panel_type: str,
    agent_ids: list[str] | None,
    configuration: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call[PanelResponse]:
    """A create is made safe to resend by its `Idempotency-Key` (a fresh one unless given)."""
    body: dict[str, Any] = {"query": query, "panel_type": panel_type}
    if agent_ids is not None:
        body["agent_ids"] = list(agent_ids)
    if configuration is not None:
        body["configuration"] = dict(configuration)
    return Call(
        "POST",
        f"{API}/panels",
        _as(PanelResponse),
        json=body,
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        safe=True,
    )


def get_panel(panel_id: str) -> Call[PanelResponse]:
    return Call("GET", f"{API}/panels/{panel_id}", _as(PanelResponse), safe=True)


def list_panels(limit: int, offset: int, status: str | None, panel_type: str | None) -> Call[PanelListResponse]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        params["status"] = status
    if panel_type is not None:
        params["panel_type"] = panel_type
    return Call("GET", f"{API}/panels", _as(PanelListResponse), params=params, safe=True)


def execute_panel(panel_id: str) -> Call[ExecuteResponse]:
    return Call("POST", f"{API}/panels/{panel_id}/execute", _as(ExecuteResponse))


def cancel_panel(panel_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/panels/{panel_id}", _nothing)


def panel_report(panel_id: str, report_format: ReportFormat) -> Call[str]:
    return Call("GET", f"{API}/panels/{panel_id}/report", _text, params={"format": report_format}, safe=True)


def list_agents() -> Call[list[Expert]]:
    return Call("GET", f"{API}/agents", lambda response: parse(response, AgentListResponse).agents, safe=True)


def get_agent(agent_id: str) -> Call[Expert]:
    return Call("GET", f"{API}/agents/{agent_id}", _as(Expert), safe=True)


def create_agent(fields: Mapping[str, Any]) -> Call[Expert]:
    return Call("POST", f"{API}/agents", _as(Expert), json=dict(fields))


def replace_agent(agent_id: str, fields: Mapping[str, Any]) -> Call[Expert]:
    return Call("PUT", f"{API}/agents/{agent_id}", _as(Expert), json=dict(fields), safe=True)


def update_agent(agent_id: str, fields: Mapping[str, Any]) -> Call[Expert]:
    return Call("PATCH", f"{API}/agents/{agent_id}", _as(Expert), json=dict(fields), safe=True)


def delete_agent(agent_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/agents/{agent_id}", _nothing)


def stream_panel(panel_id: str, *, start: bool, tokens: bool, resume: Mapping[str, str]) -> Call[None]:
    """POST starts a draft panel and streams it (a started one is only streamed), so it is safe to resend too."""
    return Call(
        "POST" if start else "GET",
        f"{API}/panels/{panel_id}/stream",
        _nothing,
        params={"tokens": "true"} if tokens else None,
        headers=dict(resume),
        safe=True,
    )


@dataclass(slots=True)
class Sending(Generic[Result]):
    """One call's attempts: what each answer or dropped connection means, and how long to wait before the next.

    The sync and async clients do the I/O and the waiting; every decision is here.
    """

    call: Call[Result]
    policy: RetryPolicy
    attempt: int = 0

    def sent(self) -> None:
        self.attempt += 1

    def dropped(self, exc: httpx2.TransportError) -> float:
        """The wait before sending again; `ConnectionFailed` when the call is not safe to resend or out of attempts."""
        if not self.call.safe or self.attempt >= self.policy.attempts:
            raise ConnectionFailed(f"{self.call.method} {self.call.path}: {exc}") from exc
        return self.policy.delay(self.attempt)

    def wait_before_resending(self, response: httpx2.Response) -> float | None:
        """For a 429/503 with attempts left, the wait before sending again; else None (`result()` reads it)."""
        if response.status_code in RETRIED_STATUSES and self.attempt < self.policy.attempts:
            return self.policy.delay(self.attempt, response.headers.get("Retry-After"))
        return None

    def result(self, response: httpx2.Response) -> Result:
        """The answer read as the call's result; a problem response raises its typed exception."""
        if response.is_error:
            raise problem(response)
        return self.call.read(response)


@dataclass(slots=True)
class Paging:
    """Walks the pages of the panel list: each page's call, and the panels not yet seen (a panel pushed to
    the next page by a newer one is not given twice)."""

    status: str | None
    panel_type: str | None
    page_size: int
    offset: int = 0
    done: bool = False
    seen: set[str] = field(default_factory=set)

    def next_call(self) -> Call[PanelListResponse]:
        return list_panels(self.page_size, self.offset, self.status, self.panel_type)

    def received(self, page: PanelListResponse) -> list[PanelSummary]:
        """The page's panels not given before; `done` once it was the last page."""
        self.offset += len(page.panels)
        self.done = not page.panels or self.offset >= page.total
        fresh = [panel for panel in page.panels if panel.panel_id not in self.seen]
        self.seen.update(panel.panel_id for panel in fresh)
        return fresh


class StreamSession:
    """A panel's stream across reconnects, without I/O: which request to send next, what each answer,
    frame, end or dropped connection means, and how long to wait before reconnecting.

    It ends at the panel's terminal event, or at a 204 (the panel has ended and this client already
    has its last event: nothing more will ever be sent). `reconnect.attempts` failures in a row
    (connections that brought no new event) raise `StreamInterrupted`, or the problem of a 429/503.
    """

    def __init__(
        self,
        panel_id: str,
        *,
        start: bool,
        tokens: bool,
        last_event_id: int,
        retry: RetryPolicy,
        reconnect: ReconnectPolicy,
    ) -> None:
        self.panel_id = panel_id
        self.start = start
        self.tokens = tokens
        self.cursor = StreamCursor(last_event_id=last_event_id)
        self.retry = retry
        self.reconnect = reconnect
        self.failures = 0
        self._progressed = False

    @property
    def finished(self) -> bool:
        return self.cursor.finished

    def next_call(self) -> Call[None]:
        """The request that (re)opens the stream after the last event delivered."""
        self._progressed = False
        return stream_panel(self.panel_id, start=self.start, tokens=self.tokens, resume=self.cursor.resume_headers())

    def streams(self, response: httpx2.Response) -> bool:
        """Whether the response is the event stream itself (any other is read whole, then given to `refused`)."""
        return response.status_code == 200

    def refused(self, response: httpx2.Response) -> float:
        """A response that is not a stream: 204 ends it (0.0, and `finished`); 429/503 wait (their problem
        raised after too many); any other error raises its problem."""
        if response.status_code == 204:
            self.cursor.finished = True
            return 0.0
        if response.status_code in RETRIED_STATUSES:
            self._failed()
            if self.failures >= self.reconnect.attempts:
                raise problem(response)
            return self.retry.delay(self.failures, response.headers.get("Retry-After"))
        raise (
            problem(response)
            if response.is_error
            else ConnectionFailed(
                f"the stream of panel {self.panel_id} answered {response.status_code} instead of events"
            )
        )

    def accept(self, sse: ServerSentEvent) -> Event | None:
        """The event a frame carries, or None (a duplicate from before a reconnect, a retry hint, unknown)."""
        event = self.cursor.accept(sse)
        if event is not None and event.id is not None:
            self._progressed = True
        return event

    def dropped(self, exc: httpx2.TransportError) -> float:
        """The connection broke: the wait before resuming, or `StreamInterrupted` after too many in a row."""
        self._failed()
        if self.failures >= self.reconnect.attempts:
            raise StreamInterrupted(
                f"the stream of panel {self.panel_id} broke and could not be resumed: {exc}",
                last_event_id=self.cursor.last_event_id,
            ) from exc
        return self.reconnect.delay(self.failures, self.cursor.retry_ms) if self.failures else 0.0

    def ended_early(self) -> float:
        """The stream closed before its terminal event: the wait before resuming (a 204 then ends it)."""
        self._failed()
        if self.failures >= self.reconnect.attempts:
            raise StreamInterrupted(
                f"the stream of panel {self.panel_id} keeps ending early", last_event_id=self.cursor.last_event_id
            )
        return self.reconnect.delay(self.failures, self.cursor.retry_ms) if self.failures else 0.0

    def _failed(self) -> None:
        self.failures = 0 if self._progressed else self.failures + 1


def problem(response: httpx2.Response) -> ApiError:
    """The typed exception for a non-2xx response (problem+json, or whatever the body holds)."""
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    status = response.status_code
    title = str(body.get("title") or response.reason_phrase or "HTTP error")
    detail = str(body.get("detail") or (response.text[:500] if not body else ""))
    return error_class(status)(
        status,
        title,
        detail,
        type=str(body.get("type") or "about:blank"),
        request_id=body.get("request_id") or response.headers.get("X-Request-ID"),
        body=body,
    )


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(model: object) -> TypeAdapter[Any]:
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)  # type: ignore[arg-type]  # any model or value type
    return _ADAPTERS[model]


def to_json(value: object, *, indent: int | None = None) -> str:
    """A model or domain value object as JSON text."""
    return _adapter(type(value)).dump_json(value, indent=indent).decode()


def parse(response: httpx2.Response, model: type[Model]) -> Model:
    """The response body as `model` (a schema of the API or a domain value object)."""
    parsed: Model = _adapter(model).validate_json(response.content)
    return parsed
