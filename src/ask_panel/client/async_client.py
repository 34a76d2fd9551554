"""`AsyncAskPanel`: the asyncio client, `AskPanel`'s calls awaited (it does the I/O; `protocol.py` decides)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

from ask_panel.client import protocol
from ask_panel.client.connection import Connection
from ask_panel.client.events import Event
from ask_panel.client.models import ExecuteResponse, Expert, PanelListResponse, PanelResponse, PanelSummary
from ask_panel.client.protocol import Call, ReportFormat
from ask_panel.client.retry import DEFAULT_TIMEOUT, ReconnectPolicy, RetryPolicy

Result = TypeVar("Result")


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
        return await self._send(protocol.create_panel(query, panel_type, agent_ids, configuration, idempotency_key))

    async def get(self, panel_id: str) -> PanelResponse:
        return await self._send(protocol.get_panel(panel_id))

    async def pages(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> AsyncIterator[PanelListResponse]:
        """The tenant's panels, newest first, one page at a time until the last."""
        paging = protocol.Paging(status, panel_type, page_size)
        while not paging.done:
            page = await self._send(paging.next_call())
            paging.received(page)
            yield page

    async def list(
        self, *, status: str | None = None, panel_type: str | None = None, page_size: int = 50
    ) -> AsyncIterator[PanelSummary]:
        """Every panel of the tenant, newest first, page by page (a panel shifted by a new one is not repeated)."""
        paging = protocol.Paging(status, panel_type, page_size)
        while not paging.done:
            for panel in paging.received(await self._send(paging.next_call())):
                yield panel

    async def execute(self, panel_id: str) -> ExecuteResponse:
        """Start a draft panel in the background (409 `Conflict` unless it is a draft)."""
        return await self._send(protocol.execute_panel(panel_id))

    async def cancel(self, panel_id: str) -> None:
        """Cancel a panel that has not ended (409 `Conflict` if it has)."""
        await self._send(protocol.cancel_panel(panel_id))

    async def report(self, panel_id: str, format: ReportFormat = "md") -> str:
        """The panel as a decision record: Markdown, HTML (prints well) or JSON text."""
        return await self._send(protocol.panel_report(panel_id, format))

    async def stream(
        self, panel_id: str, *, start: bool = False, tokens: bool = False, last_event_id: int = 0
    ) -> AsyncIterator[Event]:
        """The panel's events until its terminal one, resuming after a dropped connection (see `AskPanel.stream`)."""
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
                async with self._http.sse(
                    call.path, method=call.method, params=call.params, headers=call.headers
                ) as source:
                    if not session.streams(source.response):
                        await source.response.aread()
                        wait = session.refused(source.response)
                    else:
                        async for sse in source:
                            event = session.accept(sse)
                            if event is not None:
                                yield event
                            if session.finished:
                                return
                        wait = session.ended_early()
            except httpx2.TransportError as exc:
                wait = session.dropped(exc)
            if wait:
                await asyncio.sleep(wait)

    # Transport

    async def _send(self, call: Call[Result]) -> Result:
        sending = protocol.Sending(call, self.retry)
        while True:
            sending.sent()
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx2.TransportError as exc:
                await asyncio.sleep(sending.dropped(exc))
                continue
            wait = sending.wait_before_resending(response)
            if wait is None:
                return sending.result(response)
            await asyncio.sleep(wait)


class AsyncAgents:
    """The expert registry, awaited: `await client.agents.list()`, `.get()`, `.create()`, ..."""

    def __init__(self, client: AsyncAskPanel) -> None:
        self._client = client

    async def list(self) -> list[Expert]:
        return await self._client._send(protocol.list_agents())

    async def get(self, agent_id: str) -> Expert:
        return await self._client._send(protocol.get_agent(agent_id))

    async def create(self, **fields: Any) -> Expert:
        """A tenant expert: `agent_id`, `name`, `role`, `instructions`, and optionally `expertise`, `model`, ..."""
        return await self._client._send(protocol.create_agent(fields))

    async def replace(self, agent_id: str, **fields: Any) -> Expert:
        """PUT: the whole definition (fields left out take their defaults)."""
        return await self._client._send(protocol.replace_agent(agent_id, fields))

    async def update(self, agent_id: str, **fields: Any) -> Expert:
        """PATCH: only the fields given change."""
        return await self._client._send(protocol.update_agent(agent_id, fields))

    async def delete(self, agent_id: str) -> None:
        await self._client._send(protocol.delete_agent(agent_id))


__all__ = ["AsyncAgents", "AsyncAskPanel"]
