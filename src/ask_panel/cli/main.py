"""`ask-panel`: serve the API, apply migrations, mint development tokens."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import logging
import socket
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from ask_panel.config import MEMORY_DATABASE_URL, Settings

log = logging.getLogger("ask_panel.cli")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def migrate(settings: Settings) -> None:
    """The service's schema (Alembic) and, on PostgreSQL, the job queue's schema."""
    from ask_panel.infrastructure.db.migrate import upgrade

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    if url.get_backend_name() == "postgresql":
        import asyncio

        from ask_panel.infrastructure.jobs.procrastinate_queue import apply_schema, build_app

        asyncio.run(apply_schema(build_app(settings.database_url)))


def worker(settings: Settings) -> int:
    """Run panels from the job queue until SIGTERM or SIGINT."""
    import asyncio
    import signal

    from ask_panel.bootstrap import bootstrap

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        log.error("workers need PostgreSQL (ASK_PANEL_DATABASE_URL=postgresql+asyncpg://...)")
        return 2
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

    import uvicorn

    loop_factory = uvicorn.Config(app="ask_panel.api.app:create_app").get_loop_factory()  # uvloop if installed
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    return 0


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


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from ask_panel.api.app import create_app
    from ask_panel.bootstrap import Container

    if settings.auth_mode == "none" and not is_loopback(args.host) and not args.insecure_allow_remote:
        log.error(
            "ASK_PANEL_AUTH_MODE=none serves without authentication: refusing to listen on %s. "
            "Use 127.0.0.1, or pass --insecure-allow-remote.",
            args.host,
        )
        return 2
    if args.no_worker:
        settings = settings.model_copy(update={"run_worker": False, "executor": "procrastinate"})
    memory = settings.database_url == MEMORY_DATABASE_URL
    if (
        not args.no_migrate
        and not memory
        and (make_url(settings.database_url).get_backend_name() == "sqlite" or args.migrate)
    ):
        migrate(settings)
    # The app's lifespan starts and stops the container: uvicorn re-raises SIGTERM/SIGINT once serve()
    # returns, so cleanup placed after serve() would never run on a signal.
    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            tune_gc()

        def handle_exit(self, sig: int, frame: object) -> None:
            container: Container | None = getattr(app.state, "container", None)
            if container is not None:
                container.hub.close_all()  # open streams end now instead of holding the shutdown up
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        ws_ping_interval=20,
        ws_ping_timeout=20,
        timeout_graceful_shutdown=10,
        access_log=args.access_log,
        lifespan="on",
    )
    server = Server(config)

    import asyncio

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:  # uvloop when it is installed
        runner.run(server.serve())
    return 0


def token(args: argparse.Namespace, settings: Settings) -> int:
    from ask_panel.infrastructure.auth import mint_jwt

    if not settings.jwt_secret:
        log.error("ASK_PANEL_JWT_SECRET is not set")
        return 2
    print(
        mint_jwt(
            settings.jwt_secret, args.tenant, ttl_s=args.ttl, audience=settings.jwt_audience, issuer=settings.jwt_issuer
        )
    )
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ask-panel", description="Ask Panel: AI expert panels.")
    root.add_argument("--log-level", default="INFO")
    commands = root.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve", help="serve the HTTP API (and run panels in this process)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--no-worker",
        action="store_true",
        help="API only: panels are queued for `ask-panel worker` processes (PostgreSQL)",
    )
    s.add_argument(
        "--insecure-allow-remote", action="store_true", help="allow ASK_PANEL_AUTH_MODE=none on a non-loopback address"
    )
    s.add_argument("--migrate", action="store_true", help="apply migrations first (always done for SQLite)")
    s.add_argument("--no-migrate", action="store_true", help="never apply migrations on start")
    s.add_argument("--access-log", action="store_true")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("worker", help="run panels from the job queue (PostgreSQL)")
    t = commands.add_parser("token", help="mint a development token with the configured secret")
    t.add_argument("--tenant", action="append", required=True, help="tenant UUID (repeatable)")
    t.add_argument("--ttl", type=int, default=3600)
    return root


def main(argv: list[str] | None = None) -> int:
    from ask_panel.observability import configure_logging

    args = parser().parse_args(argv)
    configure_logging(args.log_level.upper())
    settings = Settings()
    if args.command == "serve":
        return serve(args, settings)
    if args.command == "migrate":
        migrate(settings)
        log.info("database is at the latest revision")
        return 0
    if args.command == "worker":
        return worker(settings)
    return token(args, settings)


if __name__ == "__main__":
    sys.exit(main())
