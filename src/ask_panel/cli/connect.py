"""Which service people's commands talk to (`--url`/`--token`/`--tenant` or ASK_PANEL_*, or `--local`), and the
client for it; the options themselves are declared once, in `options.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ask_panel.client import AsyncAskPanel


@dataclass(frozen=True, slots=True)
class Target:
    """Where the command's requests go."""

    url: str | None = None
    token: str | None = None
    tenant: str | None = None
    local: bool = False


@asynccontextmanager
async def open_client(target: Target) -> AsyncIterator[AsyncAskPanel]:
    if target.local:
        from ask_panel.cli.local import local_client

        async with local_client(target.tenant) as client:
            yield client
        return
    async with AsyncAskPanel(target.url, token=target.token, tenant=target.tenant) as client:
        yield client
