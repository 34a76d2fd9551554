"""`AsyncAskPanel`: the asyncio Python client of the Ask Panel API (the same calls as `AskPanel`, awaited)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx2

from ask_panel.client import protocol
from ask_panel.client.connection import Connection
from ask_panel.client.errors import ConnectionFailed, StreamInterrupted
from ask_panel.client.events import Event, StreamCursor
from ask_panel.client.models import (
    AgentListResponse,
    ExecuteResponse,
    Expert,
    PanelListResponse,
    PanelResponse,
    PanelSummary,
)
from ask_panel.client.protocol import Call, ReportFormat
from ask_panel.client.retry import RETRIED_STATUSES, ReconnectPolicy, RetryPolicy

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, read=60.0)


class AsyncAskPanel:
    """A connection to one service as one tenant. Use it as an async context manager, or await `close()`.

    ```
    async with AsyncAskPanel("http://127.0.0.1:8000", tenant="1111...", token="...") as client:
        panel = await client.create("Should we expand to Canada?", panel_type="structured")
        async for event in client.stream(panel.panel_id, start=True):
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
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.connection = Connection.resolve(url, token=token, tenant=tenant)
        self.retry = retry or RetryPolicy()
        self.reconnect = reconnect or ReconnectPolicy()
        self._http = httpx2.AsyncClient(
            base_url=self.connection.url, headers=self.connection.headers(), timeout=timeout, transport=transport
        )
        self.agents = AsyncAgents(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # Panels

    async def create(
        self,
        query: str,
        *,
        panel_type: str = "structured",
        agent_ids: list[str] | None = None,
        configuration: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> PanelResponse:
        """Create a draft panel. Resent after a dropped connection with the same `Idempotency-Key`: one panel."""
        call = protocol.create_panel(query, panel_type, agent_ids, configuration, idempotency_key)
        return protocol.parse(await self._send(call), PanelResponse)

    async def get(self, panel_id: str) -> PanelResponse:
        return protocol.parse(await self._send(protocol.get_panel(panel_id)), PanelResponse)

    async def pages(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> AsyncIterator[PanelListResponse]:
        """The tenant's panels, newest first, one page at a time until the last."""
        offset = 0
        while True:
            page = protocol.parse(
                await self._send(protocol.list_panels(page_size, offset, status, panel_type)), PanelListResponse
            )
            yield page
            offset += len(page.panels)
            if not page.panels or offset >= page.total:
                return

    async def list(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> AsyncIterator[PanelSummary]:
        """Every panel of the tenant, newest first, page by page (a panel shifted by a new one is not repeated)."""
        seen: set[str] = set()
        async for page in self.pages(status=status, panel_type=panel_type, page_size=page_size):
            for panel in page.panels:
                if panel.panel_id not in seen:
                    seen.add(panel.panel_id)
                    yield panel

    async def execute(self, panel_id: str) -> ExecuteResponse:
        """Start a draft panel in the background (409 `Conflict` unless it is a draft)."""
        return protocol.parse(await self._send(protocol.execute_panel(panel_id)), ExecuteResponse)

    async def cancel(self, panel_id: str) -> None:
        """Cancel a panel that has not ended (409 `Conflict` if it has)."""
        await self._send(protocol.cancel_panel(panel_id))

    async def report(self, panel_id: str, format: ReportFormat = "md") -> str:
        """The panel as a decision record: Markdown, HTML (prints well) or JSON text."""
        return (await self._send(protocol.panel_report(panel_id, format))).text

    async def stream(
        self, panel_id: str, *, start: bool = False, tokens: bool = False, last_event_id: int = 0
    ) -> AsyncIterator[Event]:
        """The panel's events until its terminal one, resuming by itself after a dropped connection.

        `start=True` starts a draft panel (a started one is only streamed); `tokens=True` adds the
        `expert_token` text deltas (not stored, so not replayed on resume). Each stored event is
        yielded once, in order, whatever the reconnects; after `reconnect.attempts` failures in a row
        `StreamInterrupted` says where it stopped.
        """
        cursor = StreamCursor(last_event_id=last_event_id)
        failures = 0
        while not cursor.finished:
            call = protocol.stream_panel(panel_id, start=start, tokens=tokens, resume=cursor.resume_headers())
            progressed = False
            try:
                async with self._http.sse(
                    call.path, method=call.method, params=call.params, headers=call.headers
                ) as source:
                    if source.response.status_code in RETRIED_STATUSES:
                        await source.response.aread()
                        raise _Retry(source.response)
                    if source.response.is_error:
                        await source.response.aread()
                        raise protocol.problem(source.response)
                    async for sse in source:
                        event = cursor.accept(sse)
                        if event is None:
                            continue
                        progressed = progressed or event.id is not None
                        yield event
                        if cursor.finished:
                            return
            except _Retry as retry:
                failures = 0 if progressed else failures + 1
                if failures >= self.reconnect.attempts:
                    raise protocol.problem(retry.response) from None
                await asyncio.sleep(self.retry.delay(failures, retry.response.headers.get("Retry-After")))
                continue
            except httpx2.TransportError as exc:
                failures = 0 if progressed else failures + 1
                if failures >= self.reconnect.attempts:
                    raise StreamInterrupted(
                        f"the stream of panel {panel_id} broke and could not be resumed: {exc}",
                        last_event_id=cursor.last_event_id,
                    ) from exc
            else:
                failures = 0 if progressed else failures + 1  # ended without a terminal event: resume
                if failures >= self.reconnect.attempts:
                    raise StreamInterrupted(
                        f"the stream of panel {panel_id} keeps ending early", last_event_id=cursor.last_event_id
                    )
            if failures:
                await asyncio.sleep(self.reconnect.delay(failures, cursor.retry_ms))

    # Transport

    async def _send(self, call: Call) -> httpx2.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx2.TransportError as exc:
                if not call.safe or attempt >= self.retry.attempts:
                    raise ConnectionFailed(f"{call.method} {call.path}: {exc}") from exc
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if response.status_code in RETRIED_STATUSES and attempt < self.retry.attempts:
                await asyncio.sleep(self.retry.delay(attempt, response.headers.get("Retry-After")))
                continue
            if response.is_error:
                raise protocol.problem(response)
            return response


class _Retry(Exception):
    def __init__(self, response: httpx2.Response) -> None:
        self.response = response


class AsyncAgents:
    """The expert registry: `client.agents.list()`, `.get()`, `.create()`, `.replace()`, `.update()`, `.delete()`."""

    def __init__(self, client: AsyncAskPanel) -> None:
        self._client = client

    async def list(self) -> list[Expert]:
        return protocol.parse(await self._client._send(protocol.list_agents()), AgentListResponse).agents

    async def get(self, agent_id: str) -> Expert:
        return protocol.parse(await self._client._send(protocol.get_agent(agent_id)), Expert)

    async def create(self, **fields: Any) -> Expert:
        """A tenant expert: `agent_id`, `name`, `role`, `instructions`, and optionally `expertise`, `model`, ..."""
        return protocol.parse(await self._client._send(protocol.create_agent(fields)), Expert)

    async def replace(self, agent_id: str, **fields: Any) -> Expert:
        """PUT: the whole definition (fields left out take their defaults)."""
        return protocol.parse(await self._client._send(protocol.replace_agent(agent_id, fields)), Expert)

    async def update(self, agent_id: str, **fields: Any) -> Expert:
        """PATCH: only the fields given change."""
        return protocol.parse(await self._client._send(protocol.update_agent(agent_id, fields)), Expert)

    async def delete(self, agent_id: str) -> None:
        await self._client._send(protocol.delete_agent(agent_id))


__all__ = ["AsyncAgents", "AsyncAskPanel"]
