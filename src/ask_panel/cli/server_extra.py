"""The service's own commands need the `server` extra: a clear message when it is not installed."""

from __future__ import annotations

import importlib.util

import typer

from ask_panel.cli.exit_codes import ExitCode

SERVER_MODULES = ("fastapi", "sqlalchemy", "uvicorn", "pydantic_settings")
INSTALL_HINT = "pip install 'ask-panel[server]'"


def server_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in SERVER_MODULES)


def require_server(what: str) -> None:
    """Exit with a usage error naming the extra when the service's dependencies are missing."""
    if not server_installed():
        typer.echo(f"{what} runs the service in this process and needs its dependencies: {INSTALL_HINT}", err=True)
        raise typer.Exit(ExitCode.USAGE)
