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

    from ask_panel.bootstrap import Container, bootstrap
    from ask_panel.config import Settings

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
        probes = await serve_worker_probes(container, settings)
        log.info("worker %s is taking panels", container.origin)
        try:
            await stop.wait()
            # Running turns get up to ASK_PANEL_DRAIN_TIMEOUT_S to reach their next checkpoint; a second signal
            # stops at once.
            stop.clear()
            second_signal = asyncio.ensure_future(stop.wait())
            await asyncio.wait([container.drain.begin(), second_signal], return_when=asyncio.FIRST_COMPLETED)
            second_signal.cancel()
        finally:
            await container.stop()
            if probes is not None:
                await probes.shutdown()

    async def serve_worker_probes(container: Container, settings: Settings) -> uvicorn.Server | None:
        """/metrics, /healthz and /readyz on ASK_PANEL_WORKER_METRICS_PORT, when it is set."""
        if settings.worker_metrics_port is None:
            return None
        from ask_panel.api.worker_app import create_worker_app

        config = uvicorn.Config(
            create_worker_app(container),
            host=settings.worker_metrics_host,
            port=settings.worker_metrics_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)  # started without serve(): the worker keeps its own signal handlers
        config.load()
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        return server

    loop_factory = uvicorn.Config(app="ask_panel.api.app:create_app").get_loop_factory()  # uvloop if installed
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
