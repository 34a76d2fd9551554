"""`ask-panel panels list|show|watch|cancel|report`: the tenant's panels from a terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from ask_panel.cli.connect import Target, open_client
from ask_panel.cli.exit_codes import ExitCode
from ask_panel.cli.follow import Follower
from ask_panel.cli.live import JsonLines, LiveView
from ask_panel.cli.options import JsonOption, configure, connected
from ask_panel.cli.running import run
from ask_panel.client.models import PanelSummary

app = typer.Typer(help="The tenant's panels: list, show, watch, cancel, report.", no_args_is_help=True)
PanelIdArgument = Annotated[str, typer.Argument(help="the panel's id")]


@app.command("list")
@connected
def list_panels(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="at most this many panels")] = 20,
    status: Annotated[str | None, typer.Option(help="only panels in this status")] = None,
    panel_type: Annotated[str | None, typer.Option("--type", help="only panels of this type")] = None,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """The newest panels first, with their status and outcome."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            panels = []
            async for panel in client.list(status=status, panel_type=panel_type, page_size=min(limit, 100)):
                panels.append(panel)
                if len(panels) >= limit:
                    break
        if as_json:
            for panel in panels:
                sys.stdout.write(panel.model_dump_json() + "\n")
            return
        console = Console(highlight=False)
        table = panels_table(panels, console.width)
        console.print(table)

    run(main())


# The list's columns and their widths (the longest value each can hold); the question takes what is left.
COLUMNS = {"id": 36, "created": 11, "type": 11, "status": 11, "level": 5}
DROPPED_FIRST = ("created", "type")  # left out, in this order, when the terminal is too narrow for the question
QUESTION_MIN = 24
GAP = 2  # rich's padding between two columns


def panels_table(panels: list[PanelSummary], width: int) -> Table:
    """The panels as a table `width` characters wide at most: whole ids, statuses and levels, the question cut
    with an ellipsis (and the creation time, then the type, left out when the question would get too little)."""
    shown = dict(COLUMNS)
    for column in DROPPED_FIRST:
        if width - sum(w + GAP for w in shown.values()) >= QUESTION_MIN:
            break
        del shown[column]
    table = Table(box=None, pad_edge=False)
    for column, column_width in shown.items():
        table.add_column(column, no_wrap=True, min_width=column_width, max_width=column_width)
    question = max(8, width - sum(w + GAP for w in shown.values()))
    table.add_column("question", no_wrap=True, overflow="ellipsis", max_width=question)
    for panel in panels:
        cells = {
            "id": panel.panel_id,
            "created": panel.created_at.strftime("%m-%d %H:%M"),
            "type": str(panel.panel_type),
            "status": str(panel.status),
            "level": f"{panel.consensus.level:.2f}" if panel.consensus else "-",
        }
        table.add_row(*(cells[column] for column in shown), panel.query)
    return table


@app.command("show")
@connected
def show(
    ctx: typer.Context,
    panel_id: PanelIdArgument,
    as_json: JsonOption = False,
    *,
    target: Target,
) -> None:
    """The whole panel: its record (question, experts, every turn, consensus, recommendation, usage)."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            if as_json:
                sys.stdout.write((await client.get(panel_id)).model_dump_json(indent=2) + "\n")
                return
            record = await client.report(panel_id, "md")
        Console(highlight=False).print(Markdown(record))

    run(main())


@app.command("watch")
@connected
def watch(
    ctx: typer.Context,
    panel_id: PanelIdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print the events as JSON lines")] = False,
    since: Annotated[int, typer.Option(min=0, help="only events after this event id")] = 0,
    *,
    target: Target,
) -> None:
    """Follow a panel to its end (a finished panel is replayed). Ctrl-C stops watching; the panel goes on."""
    configure(ctx, "WARNING")

    async def main() -> ExitCode:
        async with open_client(target) as client:
            view = JsonLines(sys.stdout) if as_json else LiveView(Console(highlight=False))
            with view:
                follower = Follower(client, view, Console(stderr=True), ask_first=False, cancels=False)
                return await follower.follow(panel_id, start=False, tokens=not as_json, since=since)

    run(main())


@app.command("cancel")
@connected
def cancel(
    ctx: typer.Context,
    panel_id: PanelIdArgument,
    *,
    target: Target,
) -> None:
    """Cancel a panel that has not ended (an ended one is a conflict: exit code 4)."""
    configure(ctx, "WARNING")

    async def main() -> None:
        async with open_client(target) as client:
            await client.cancel(panel_id)
        Console(stderr=True).print(f"cancelled panel {panel_id}")

    run(main())


@app.command("report")
@connected
def report(
    ctx: typer.Context,
    panel_id: PanelIdArgument,
    report_format: Annotated[str, typer.Option("--format", help="md, html (prints well) or json")] = "md",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="the file to write (default: panel-<id>.<format>; - for stdout)"),
    ] = None,
    *,
    target: Target,
) -> None:
    """Write the panel's decision record to a file: Markdown, HTML or JSON."""
    configure(ctx, "WARNING")
    if report_format not in ("md", "html", "json"):
        raise typer.BadParameter("must be md, html or json", param_hint="--format")
    target_file = report_file(output, f"panel-{panel_id}.{report_format}")

    async def main() -> ExitCode:
        async with open_client(target) as client:
            text = await client.report(panel_id, report_format)  # type: ignore[arg-type]
        if target_file is None:
            sys.stdout.write(text)
            return ExitCode.OK
        try:
            target_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            Console(stderr=True, highlight=False).print(f"[red]error:[/] cannot write {target_file}: {exc.strerror}")
            return ExitCode.USAGE
        Console(stderr=True, highlight=False).print(f"wrote {target_file}")
        return ExitCode.OK

    run(main())


def report_file(output: Path | None, default_name: str) -> Path | None:
    """Where `-o` says to write (None: standard output); a directory gets the default name. A directory that
    does not exist is a usage error before anything is asked of the service."""
    if output is None:
        return Path(default_name)
    if str(output) == "-":
        return None
    if output.is_dir():
        return output / default_name
    if not output.parent.is_dir():
        raise typer.BadParameter(f"the directory {output.parent} does not exist", param_hint="--output")
    return output
