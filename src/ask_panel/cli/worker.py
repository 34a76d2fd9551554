"""`ask-panel worker`: run panels from the PostgreSQL job queue until SIGTERM or SIGINT."""

from __future__ import annotations

import logging

import typer

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.options import configure, server_settings

log = logging.getLogger("ask_panel.cli")


def worker_command(ctx: typer.Context) -> None:
    """Run panels from the job queue (PostgreSQL)."""
    configure(ctx, "INFO")
    settings = server_settings("ask-panel worker", ctx)

    import asyncio
    import signal

    import uvicorn
    from sqlalchemy.engine import make_url

    from ask_panel.bootstrap import bootstrap

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        log.error("workers need PostgreSQL (ASK_PANEL_DATABASE_URL=postgresql+asyncpg://...)")
        raise typer.Exit(ExitCode.USAGE)
    settings = settings.model_copy(update={"executor": "procrastinate", "run_worker": True})

    async def main() -> None:
        container = bootstrap(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await container.start()
        log.info("worker %s is taking panels", container.origin)
        try:
            await stop.wait()
        finally:
            await container.stop()

    loop_factory = uvicorn.Config(app="ask_panel.api.app:create_app").get_loop_factory()  # uvloop if installed
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
