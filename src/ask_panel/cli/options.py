"""What every command shares: the root options (log level) and the service's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.server_extra import require_server
from ask_panel.observability import configure_logging

if TYPE_CHECKING:
    from ask_panel.config import Settings


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
