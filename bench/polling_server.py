"""The seed's streaming design, for comparison: every subscriber polls the event log once a second.

    ASK_PANEL_DATABASE_URL=... .venv/bin/python -m uvicorn bench.polling_server:app --port 8001

Started by `bench.streaming` as its own process next to the real server (which runs the panels and
writes the events). It reads the same database through the product's repository
(`Container(settings).uow`, `uow.events.read(panel_id, after=last)`) and sends the same SSE frames
through the same sse-starlette response, so the only difference measured is push versus polling.
Each subscriber runs one query at once (the replay) and then one query per second; nothing else.
`GET /stats` counts the queries run and the streams open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from ask_panel.application.wire import WireEvent, sse_retry
from ask_panel.bootstrap import Container
from ask_panel.config import Settings
from ask_panel.domain.ids import PanelId, TenantId

POLL_INTERVAL_S = 1.0


class Stats:
    queries = 0
    streams = 0


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Only the container's unit of work is used: no worker, no recovery, no hub.
    container = Container(Settings(run_worker=False))
    app.state.container = container
    try:
        yield
    finally:
        await container.database.dispose()


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
) -> EventSourceResponse | JSONResponse:
    try:
        tenant = TenantId.from_string(x_tenant_id)
        pid = PanelId.from_string(panel_id)
    except Exception:
        return JSONResponse({"detail": "bad tenant or panel id"}, status_code=400)
    container: Container = request.app.state.container
    settings = container.settings

    async def frames() -> AsyncIterator[bytes]:
        Stats.streams += 1
        try:
            yield sse_retry(settings.sse_retry_ms)
            last = last_event_id
            while True:
                async with container.uow(tenant) as uow:
                    events = await uow.events.read(pid, after=last)
                Stats.queries += 1
                if events:
                    wire = [WireEvent.of(e) for e in events]
                    yield b"".join(e.sse for e in wire)
                    last = events[-1].seq
                    if any(e.terminal for e in wire):
                        return
                await asyncio.sleep(POLL_INTERVAL_S)
        finally:
            Stats.streams -= 1

    return EventSourceResponse(
        frames(),
        ping=settings.sse_heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        send_timeout=settings.stream_send_timeout_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
