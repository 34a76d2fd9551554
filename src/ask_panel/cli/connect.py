"""Which service people's commands talk to: `--url`/`--token`/`--tenant` (or ASK_PANEL_*), or `--local`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import typer

from ask_panel.client import AsyncAskPanel

URL_HELP = "the service's URL (default: ASK_PANEL_URL, else http://127.0.0.1:8000)"

UrlOption = Annotated[str | None, typer.Option("--url", help=URL_HELP, rich_help_panel="Connection")]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="bearer token (default: ASK_PANEL_TOKEN)", rich_help_panel="Connection")
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="tenant UUID (default: ASK_PANEL_TENANT)", rich_help_panel="Connection")
]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        help="run in this process on the embedded SQLite store, with no server (needs ask-panel[server])",
        rich_help_panel="Connection",
    ),
]


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
