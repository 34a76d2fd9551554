"""`ask-panel`: the command line, for people (ask, panels, agents) and for running the service."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ask_panel.cli import agents, panels
from ask_panel.cli.ask import ask_command
from ask_panel.cli.migrate import migrate_command
from ask_panel.cli.options import RootOptions
from ask_panel.cli.serve import is_loopback, serve_command
from ask_panel.cli.token import token_command
from ask_panel.cli.worker import worker_command

__all__ = ["app", "is_loopback", "main"]

app = typer.Typer(
    name="ask-panel",
    help="Ask Panel: AI expert panels, from a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ... (default: INFO to serve, else WARNING)")
    ] = None,
) -> None:
    ctx.obj = RootOptions(log_level=log_level)


app.command("ask")(ask_command)
app.add_typer(panels.app, name="panels")
app.add_typer(agents.app, name="agents")
app.command("serve")(serve_command)
app.command("migrate")(migrate_command)
app.command("worker")(worker_command)
app.command("token")(token_command)


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code (see `ask_panel.cli.exit_codes`)."""
    try:
        app(args=argv, prog_name="ask-panel")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
