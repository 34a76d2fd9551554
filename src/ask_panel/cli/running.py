"""Run a people's command: its coroutine on an event loop, and client errors turned into exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import typer
from rich.console import Console

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.client import ApiError, ConfigurationError, ConnectionFailed

errors = Console(stderr=True, highlight=False)


def run(command: Coroutine[Any, Any, ExitCode | None]) -> None:
    """Run `command` and exit with its code; a problem, a bad setting or an unreachable service has its own code."""
    try:
        code = asyncio.run(command)
    except ConfigurationError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(ExitCode.USAGE) from None
    except ApiError as exc:
        detail = f": {exc.detail}" if exc.detail and exc.detail != exc.title else ""
        errors.print(f"[red]error:[/] {exc.status} {exc.title}{detail}", markup=True, soft_wrap=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except ConnectionFailed as exc:
        errors.print(f"[red]error:[/] cannot reach the service: {exc}")
        raise typer.Exit(ExitCode.UNREACHABLE) from None
    except KeyboardInterrupt:  # before a panel was followed (while starting, say): nothing to cancel yet
        errors.print("\ninterrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    raise typer.Exit(code or ExitCode.OK)
