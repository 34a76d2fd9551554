"""What every command shares: the root options (log level), the connection and `--json` options of people's
commands (declared here once), and the service's settings."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ask_panel.cli.connect import Target
from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.server_extra import require_server
from ask_panel.observability import configure_logging

if TYPE_CHECKING:
    from ask_panel.config import Settings


Returned = TypeVar("Returned")
CONNECTION = "Connection"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="the service's URL (default: ASK_PANEL_URL, else http://127.0.0.1:8000)",
        rich_help_panel=CONNECTION,
    ),
]
TokenOption = Annotated[
    str | None, typer.Option("--token", help="bearer token (default: ASK_PANEL_TOKEN)", rich_help_panel=CONNECTION)
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="tenant UUID (default: ASK_PANEL_TENANT)", rich_help_panel=CONNECTION)
]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        help="run in this process on the embedded SQLite store, with no server (needs ask-panel[server])",
        rich_help_panel=CONNECTION,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON for scripts (one object per line for many)")]
_CONNECTION_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("url", UrlOption, None),
    ("token", TokenOption, None),
    ("tenant", TenantOption, None),
    ("local", LocalOption, False),
)


def connected(command: Callable[..., Returned]) -> Callable[..., Returned]:
    """Give a people's command `--url`, `--token`, `--tenant` and `--local`; it receives them as `target: Target`.

    The options are declared once (above) and appended to the command's own parameters, so every
    command spells, documents and resolves them the same way.
    """
    own = inspect.signature(command, eval_str=True)
    parameters = [p for name, p in own.parameters.items() if name != "target"]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in _CONNECTION_OPTIONS
    ]

    @functools.wraps(command)
    def with_target(*args: Any, **kwargs: Any) -> Returned:
        target = Target(**{name: kwargs.pop(name) for name, _, _ in _CONNECTION_OPTIONS})
        return command(*args, target=target, **kwargs)

    with_target.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]  # read by typer
    with_target.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": own.return_annotation}
    return with_target


@dataclass(slots=True)
class RootOptions:
    """The options given before the command (`ask-panel --log-level DEBUG serve`)."""

    log_level: str | None = None


def root_options(ctx: typer.Context) -> RootOptions:
    options = ctx.find_root().obj
    return options if isinstance(options, RootOptions) else RootOptions()


def configure(ctx: typer.Context, default: str) -> None:
    """Log at the root `--log-level`, else at `default` (INFO for the service, WARNING for people's commands)."""
    configure_logging((root_options(ctx).log_level or default).upper())


def server_settings(what: str, ctx: typer.Context | None = None) -> Settings:
    """The service's settings (ASK_PANEL_* variables); exits with a hint when the `server` extra is missing.

    With `ctx`, the logs are configured for the service: JSON in production (ASK_PANEL_LOG_FORMAT),
    the configured secrets redacted, traces as ASK_PANEL_TRACING says.
    """
    require_server(what)
    from pydantic import ValidationError

    from ask_panel.config import Settings, describe_refusal

    try:
        settings = Settings()
    except ValidationError as error:
        # One line for a person: what is wrong and which variable to change (never the values: secrets).
        typer.echo(f"{what}: refused to start: {describe_refusal(error)}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    if ctx is not None:
        from ask_panel.observability.logs import log_format_for
        from ask_panel.observability.tracing import configure_tracing

        configure_logging(
            (root_options(ctx).log_level or "INFO").upper(),
            log_format_for(settings.log_format, settings.environment),
            secrets=settings.secret_values(),
        )
        configure_tracing(settings.tracing, sample_ratio=settings.trace_sample_ratio)
    return settings
