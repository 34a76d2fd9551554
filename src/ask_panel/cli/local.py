"""`--local`: the service in this process, on the embedded SQLite store, reached without any socket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ask_panel.cli.inprocess import InProcessTransport
from ask_panel.cli.server_extra import require_server
from ask_panel.client import AsyncAskPanel

LOCAL_TENANT = "11111111-1111-1111-1111-111111111111"
LOCAL_URL = "http://ask-panel.local"


@asynccontextmanager
async def local_client(tenant: str | None) -> AsyncIterator[AsyncAskPanel]:
    """A client of the service running in this process (ASK_PANEL_* settings, without auth).

    The store is ASK_PANEL_DATABASE_URL (by default `data/ask_panel.db`, the one `ask-panel serve`
    uses), migrated first; panels run in this process and stop with it (a later `serve` resumes one
    left unfinished). A server may be running on the same store: this process runs only the panels
    it is asked to run (the embedded executor, no job-queue worker) and beats for them, and never
    resumes or takes over anyone else's (`bootstrap(takes_over=False)`).
    """
    require_server("--local")
    from ask_panel.api.app import create_app
    from ask_panel.bootstrap import bootstrap
    from ask_panel.cli.migrate import migrate
    from ask_panel.config import Settings

    # In process: no listener, so no Host to guard (the client's URL is a made-up name).
    settings = Settings(auth_mode="none", executor="local", run_worker=True, allowed_hosts=("*",))
    if settings.database_url.startswith("sqlite"):
        await asyncio.to_thread(migrate, settings)
    logging.getLogger("ask_panel.bootstrap").setLevel(logging.ERROR)  # no auth is the point of --local
    container = bootstrap(settings, takes_over=False)
    await container.start()
    try:
        app = create_app(container=container)
        async with AsyncAskPanel(LOCAL_URL, tenant=tenant or LOCAL_TENANT, transport=InProcessTransport(app)) as client:
            yield client
    finally:
        await container.stop()
