"""`ask-panel ask "question"`: create a panel, run it and show it live (or as JSON lines with `--json`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from ask_panel.cli.connect import Target, open_client
from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.follow import Follower, interactive
from ask_panel.cli.live import JsonLines, LiveView
from ask_panel.cli.options import configure, connected
from ask_panel.cli.running import run

PANEL_TYPES = ("structured", "open", "socratic", "adversarial", "delphi")


@connected
def ask_command(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="the question for the panel")],
    panel_type: Annotated[str, typer.Option("--type", help=f"one of: {', '.join(PANEL_TYPES)}")] = "structured",
    experts: Annotated[
        str | None, typer.Option("--experts", help="comma-separated expert ids (default: picked for the question)")
    ] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", min=1, max=10, help="at most this many rounds")] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="the panel's token budget (it wraps up or stops there)")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0.0, help="the panel's cost budget in USD")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="the same seed and question run the same way")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the events as JSON lines, for scripts")] = False,
    tokens: Annotated[
        bool | None,
        typer.Option("--tokens/--no-tokens", help="stream the text as it is written (default: not with --json)"),
    ] = None,
    *,
    target: Target,
) -> None:
    """Ask a panel a question and watch it discuss, live. Ctrl-C cancels the panel (asking first in a terminal)."""
    configure(ctx, "WARNING")
    if panel_type not in PANEL_TYPES:
        raise typer.BadParameter(f"must be one of: {', '.join(PANEL_TYPES)}", param_hint="--type")
    agent_ids = [e.strip() for e in experts.split(",") if e.strip()] if experts else None
    settings = {"max_rounds": rounds, "max_tokens": max_tokens, "max_cost_usd": max_cost, "seed": seed}
    configuration = {k: v for k, v in settings.items() if v is not None} or None

    async def ask() -> ExitCode:
        prompts = Console(stderr=True, highlight=False)
        async with open_client(target) as client:
            panel = await client.create(
                question, panel_type=panel_type, agent_ids=agent_ids, configuration=configuration
            )
            view = JsonLines(sys.stdout) if as_json else LiveView(Console(highlight=False))
            with view:
                follower = Follower(client, view, prompts, ask_first=interactive(), runs_here=target.local)
                return await follower.follow(
                    panel.panel_id, start=True, tokens=not as_json if tokens is None else tokens
                )

    run(ask())
