"""`ask-panel serve`: serve the HTTP API (and run panels in this process)."""

from __future__ import annotations

import functools
import gc
import ipaddress
import logging
import socket
from typing import Annotated

import typer

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.migrate import migrate
from ask_panel.cli.options import configure, root_options, server_settings

log = logging.getLogger("ask_panel.cli")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tune_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the streams' latency.

    A full collection walks every tracked object and stops the process for as long (70 ms with
    nothing open, 700 ms with 10,000 open streams, measured in bench/streaming.py). Objects alive
    after start-up (modules, the app, the container) are frozen out of collections, and young
    collections run after 50,000 allocations instead of 700, so full passes come far less often.
    Reference counting still frees nearly everything at once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="API only: panels are queued for `ask-panel worker` processes (PostgreSQL)"),
    ] = False,
    insecure_allow_remote: Annotated[
        bool, typer.Option("--insecure-allow-remote", help="allow ASK_PANEL_AUTH_MODE=none on a non-loopback address")
    ] = False,
    apply_migrations: Annotated[
        bool, typer.Option("--migrate", help="apply migrations first (always done for SQLite)")
    ] = False,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="never apply migrations on start")] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="log every request")] = False,
) -> None:
    """Serve the HTTP API (and run panels in this process)."""
    configure(ctx, "INFO")
    settings = server_settings("ask-panel serve", ctx)

    import asyncio

    import uvicorn
    from sqlalchemy.engine import make_url

    from ask_panel.api.app import create_app
    from ask_panel.api.drain import drain_then
    from ask_panel.api.server import server_config
    from ask_panel.bootstrap import Container

    if settings.auth_mode == "none" and not is_loopback(host) and not insecure_allow_remote:
        log.error(
            "ASK_PANEL_AUTH_MODE=none serves without authentication: refusing to listen on %s. "
            "Use 127.0.0.1, or pass --insecure-allow-remote.",
            host,
        )
        raise typer.Exit(ExitCode.USAGE)
    if no_worker:
        settings = settings.model_copy(update={"run_worker": False, "executor": "procrastinate"})
    from ask_panel.config import MEMORY_DATABASE_URL

    memory = settings.database_url == MEMORY_DATABASE_URL
    if (
        not no_migrate
        and not memory
        and (make_url(settings.database_url).get_backend_name() == "sqlite" or apply_migrations)
    ):
        migrate(settings)
    # The app's lifespan starts and stops the container: uvicorn re-raises SIGTERM/SIGINT once serve()
    # returns, so cleanup placed after serve() would never run on a signal.
    app = create_app(settings)

    class Server(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            self.loop = asyncio.get_running_loop()
            tune_gc()

        def handle_exit(self, sig: int, frame: object) -> None:
            container: Container | None = getattr(app.state, "container", None)
            if container is not None and self.loop is not None and not container.drain.active:
                # The first signal drains (docs/deployment.md), then stops; a second one stops at once.
                exit_now = functools.partial(super().handle_exit, sig, frame)  # type: ignore[arg-type]
                self.loop.call_soon_threadsafe(drain_then, container.drain, exit_now)
                return
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = server_config(
        app,
        settings,
        host=host,
        port=port,
        log_level=(root_options(ctx).log_level or "INFO").lower(),
        access_log=access_log,
    )
    server = Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:  # uvloop when it is installed
        runner.run(server.serve())
