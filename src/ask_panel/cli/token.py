"""`ask-panel token`: mint a development token with the configured secret."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.options import configure, server_settings

log = logging.getLogger("ask_panel.cli")

MAX_TTL_S = 366 * 24 * 3600  # a development token lives a year at most


def _tenant(value: str) -> str:
    """A tenant option: a UUID, in its canonical lower-case form (as the service compares it)."""
    import uuid

    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a tenant id (a UUID)") from None


def _ttl(value: int) -> int:
    if not 1 <= value <= MAX_TTL_S:
        raise typer.BadParameter(f"{value} s is not a lifetime: use 1 to {MAX_TTL_S} seconds (a year)")
    return value


def token_command(
    ctx: typer.Context,
    tenant: Annotated[list[str], typer.Option(help="tenant UUID (repeatable)", parser=_tenant)],
    ttl: Annotated[int, typer.Option(help="lifetime in seconds (1 s to a year)", callback=_ttl)] = 3600,
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
