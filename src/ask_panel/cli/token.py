"""`ask-panel token`: mint a development token with the configured secret."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.options import configure, server_settings

log = logging.getLogger("ask_panel.cli")


def token_command(
    ctx: typer.Context,
    tenant: Annotated[list[str], typer.Option(help="tenant UUID (repeatable)")],
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
) -> None:
    """Mint a development token with the configured secret (ASK_PANEL_JWT_SECRET)."""
    configure(ctx, "INFO")
    settings = server_settings("ask-panel token")
    from ask_panel.infrastructure.auth import mint_jwt

    if not settings.jwt_secret:
        log.error("ASK_PANEL_JWT_SECRET is not set")
        raise typer.Exit(ExitCode.USAGE)
    secret, audience, issuer = settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer
    print(mint_jwt(secret, tenant, ttl_s=ttl, audience=audience, issuer=issuer))
