"""`AskPanel`: the blocking Python client of the Ask Panel API (it does the I/O; `protocol.py` decides)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

from ask_panel.client import protocol
from ask_panel.client.connection import Connection
from ask_panel.client.errors import ApiError
from ask_panel.client.events import Event
from ask_panel.client.models import ExecuteResponse, Expert, PanelListResponse, PanelResponse, PanelSummary
from ask_panel.client.protocol import Call, ReportFormat
from ask_panel.client.retry import DEFAULT_TIMEOUT, ReconnectPolicy, RetryPolicy

Result = TypeVar("Result")


class AskPanel:
    """A connection to one service as one tenant. Use it as a context manager, or call `close()`.

    ```
    with AskPanel("http://127.0.0.1:8000", tenant="1111...", token="...") as client:
        panel = client.create("Should we expand to Canada?", panel_type="structured")
        for event in client.stream(panel.panel_id, start=True):
            print(event.type, event.data)
    ```
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        timeout: httpx2.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        reconnect: ReconnectPolicy | None = None,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.connection = Connection.resolve(url, token=token, tenant=tenant)
        self.retry = retry or RetryPolicy()
        self.reconnect = reconnect or ReconnectPolicy()
        self._http = httpx2.Client(
            base_url=self.connection.url, headers=self.connection.headers(), timeout=timeout, transport=transport
        )
        self.agents = Agents(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Panels

    def create(
        self,
        query: str,
        *,
        panel_type: str = "structured",
        agent_ids: list[str] | None = None,
        configuration: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> PanelResponse:
        """Create a draft panel. Resent after a dropped connection with the same `Idempotency-Key`: one panel."""
        return self._send(protocol.create_panel(query, panel_type, agent_ids, configuration, idempotency_key))

    def get(self, panel_id: str) -> PanelResponse:
        return self._send(protocol.get_panel(panel_id))

    def pages(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> Iterator[PanelListResponse]:
        """The tenant's panels, newest first, one page at a time until the last."""
        paging = protocol.Paging(status, panel_type, page_size)
        while not paging.done:
            page = self._send(paging.next_call())
            paging.received(page)
            yield page

    def list(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> Iterator[PanelSummary]:
        """Every panel of the tenant, newest first, page by page (a panel shifted by a new one is not repeated)."""
        paging = protocol.Paging(status, panel_type, page_size)
        while not paging.done:
            yield from paging.received(self._send(paging.next_call()))

    def execute(self, panel_id: str) -> ExecuteResponse:
        """Start a draft panel in the background (409 `Conflict` unless it is a draft)."""
        return self._send(protocol.execute_panel(panel_id))

    def cancel(self, panel_id: str) -> None:
        """Cancel a panel that has not ended (409 `Conflict` if it has)."""
        self._send(protocol.cancel_panel(panel_id))

    def report(self, panel_id: str, format: ReportFormat = "md") -> str:
        """The panel as a decision record: Markdown, HTML (prints well) or JSON text."""
        return self._send(protocol.panel_report(panel_id, format))

    def stream(
        self, panel_id: str, *, start: bool = False, tokens: bool = False, last_event_id: int = 0
    ) -> Iterator[Event]:
        """The panel's events until its terminal one, resuming by itself after a dropped connection.

        `start=True` starts a draft panel (a started one is only streamed); `tokens=True` adds the
        `expert_token` text deltas (not stored, so not replayed on resume). Each stored event is
        yielded once, in order, whatever the reconnects; a panel that has ended and whose last event
        was already given (`last_event_id`) yields nothing. After `reconnect.attempts` failures in a
        row `StreamInterrupted` says where it stopped.
        """
        session = protocol.StreamSession(
            panel_id,
            start=start,
            tokens=tokens,
            last_event_id=last_event_id,
            retry=self.retry,
            reconnect=self.reconnect,
        )
        while not session.finished:
            call = session.next_call()
            try:
                with self._http.sse(call.path, method=call.method, params=call.params, headers=call.headers) as source:
                    if not session.streams(source.response):
                        source.response.read()
                        wait = session.refused(source.response)
                    else:
                        for sse in source:
                            event = session.accept(sse)
                            if event is not None:
                                yield event
                            if session.finished:
                                return
                        wait = session.ended_early()
            except httpx2.TransportError as exc:
                wait = session.dropped(exc)
            if wait:
                time.sleep(wait)

    # Transport

    def _send(self, call: Call[Result]) -> Result:
        sending = protocol.Sending(call, self.retry)
        while True:
            sending.sent()
            try:
                response = self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx2.TransportError as exc:
                time.sleep(sending.dropped(exc))
                continue
            wait = sending.wait_before_resending(response)
            if wait is None:
                return sending.result(response)
            time.sleep(wait)


class Agents:
    """The expert registry: `client.agents.list()`, `.get()`, `.create()`, `.replace()`, `.update()`, `.delete()`."""

    def __init__(self, client: AskPanel) -> None:
        self._client = client

    def list(self) -> list[Expert]:
        return self._client._send(protocol.list_agents())

    def get(self, agent_id: str) -> Expert:
        return self._client._send(protocol.get_agent(agent_id))

    def create(self, **fields: Any) -> Expert:
        """A tenant expert: `agent_id`, `name`, `role`, `instructions`, and optionally `expertise`, `model`, ..."""
        return self._client._send(protocol.create_agent(fields))

    def replace(self, agent_id: str, **fields: Any) -> Expert:
        """PUT: the whole definition (fields left out take their defaults)."""
        return self._client._send(protocol.replace_agent(agent_id, fields))

    def update(self, agent_id: str, **fields: Any) -> Expert:
        """PATCH: only the fields given change."""
        return self._client._send(protocol.update_agent(agent_id, fields))

    def delete(self, agent_id: str) -> None:
        self._client._send(protocol.delete_agent(agent_id))


__all__ = ["Agents", "ApiError", "AskPanel"]
