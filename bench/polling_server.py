"""The seed's streaming design, for comparison: every subscriber polls the event log once a second.

    ASK_PANEL_DATABASE_URL=... .venv/bin/python -m uvicorn bench.polling_server:app --port 8001

Started by `bench.streaming` as its own process next to the real server (which runs the panels and
writes the events). It reads the same database through the product's repository
(`bootstrap(settings).uow`, `uow.events.read(panel_id, after=last)`) and sends the same SSE frames
(`sse_frame`, one write per poll that found events) from a response of the same shape as the
product's: the request's own task sends, a second task parked on `receive()` notices a client that
leaves. So the difference measured is push versus polling, not the HTTP machinery. Each subscriber
runs one query at once (the replay) and then one query per second; nothing else. A heartbeat comment
goes out after `ASK_PANEL_SSE_HEARTBEAT_S` without a write. `GET /stats` counts the queries run and
the streams open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ask_panel.api.wire import sse_comment, sse_frame, sse_retry
from ask_panel.application.hub import LiveEvent
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import Settings
from ask_panel.domain.ids import PanelId, TenantId

POLL_INTERVAL_S = 1.0
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]
HEARTBEAT = sse_comment("heartbeat")


class Stats:
    queries = 0
    streams = 0


class PollingStream(Response):
    """One subscriber: poll the log, send what is new, sleep a second; ends after a terminal event."""

    def __init__(self, container: Container, tenant: TenantId, panel_id: PanelId, last_event_id: int) -> None:
        super().__init__(status_code=200)
        self.raw_headers = list(HEADERS)
        self._container = container
        self._tenant = tenant
        self._panel_id = panel_id
        self._last = last_event_id
        self._gone = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self._container.settings
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(self._watch_disconnect(receive))
        Stats.streams += 1
        try:
            await self._send(send, {"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._send(send, self._body(sse_retry(settings.sse_retry_ms)))
            last_write = loop.time()
            while not self._gone.is_set():
                async with self._container.uow(self._tenant) as uow:
                    events = await uow.events.read(self._panel_id, after=self._last)
                Stats.queries += 1
                if events:
                    live = [LiveEvent.of(e) for e in events]
                    await self._send(send, self._body(b"".join(sse_frame(e) for e in live)))
                    last_write = loop.time()
                    self._last = events[-1].seq
                    if any(e.terminal for e in live):
                        break
                elif loop.time() - last_write >= settings.sse_heartbeat_s:
                    await self._send(send, self._body(HEARTBEAT))
                    last_write = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._gone.wait(), POLL_INTERVAL_S)
            if not self._gone.is_set():
                await self._send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, TimeoutError):
            pass  # the client left or stopped reading
        finally:
            Stats.streams -= 1
            watcher.cancel()

    @staticmethod
    def _body(frame: bytes) -> Message:
        return {"type": "http.response.body", "body": frame, "more_body": True}

    async def _send(self, send: Send, message: Message) -> None:
        async with asyncio.timeout(self._container.settings.stream_send_timeout_s):
            await send(message)

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._gone.set()
                return


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Only the container's unit of work is used: no worker, no recovery, no hub.
    container = bootstrap(Settings(run_worker=False))
    app.state.container = container
    try:
        yield
    finally:
        await container.stop()


app = FastAPI(title="Ask Panel: polling streams (benchmark only)", lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/stats")
async def stats() -> dict[str, int]:
    return {"queries": Stats.queries, "streams": Stats.streams}


@app.get("/api/v1/panels/{panel_id}/stream", response_model=None)
async def watch(
    panel_id: str,
    request: Request,
    x_tenant_id: Annotated[str, Header(alias="X-Tenant-ID")],
    last_event_id: int = 0,
) -> Response:
    try:
        tenant = TenantId.from_string(x_tenant_id)
        pid = PanelId.from_string(panel_id)
    except Exception:
        return JSONResponse({"detail": "bad tenant or panel id"}, status_code=400)
    return PollingStream(request.app.state.container, tenant, pid, last_event_id)
