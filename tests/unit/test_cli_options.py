"""People's commands share `--url`, `--token`, `--tenant` and `--local`, declared once (`cli/options.py`)."""

from __future__ import annotations

import inspect
from typing import Any

import typer.main

from ask_panel.cli.main import app

CONNECTION = ("url", "token", "tenant", "local")
SERVICE_COMMANDS = {"serve", "migrate", "worker", "token"}


def people_s_commands() -> dict[str, Any]:
    """Typer's commands by name (`panels list`): typer vendors click, so they are read by their attributes."""
    root: Any = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, command in root.commands.items():
        if hasattr(command, "commands"):
            found |= {f"{name} {sub}": c for sub, c in command.commands.items()}
        elif name not in SERVICE_COMMANDS:
            found[name] = command
    return found


def test_every_people_s_command_takes_the_connection_options_with_one_wording() -> None:
    commands = people_s_commands()
    assert {"ask", "panels list", "panels report", "agents delete"} <= set(commands)
    helps: dict[str, set[str | None]] = {name: set() for name in CONNECTION}
    for command in commands.values():
        options = {p.name: p for p in command.params if p.param_type_name == "option"}
        for name in CONNECTION:
            assert name in options, f"{command.name} lacks --{name}"
            helps[name].add(options[name].help)
    assert all(len(wordings) == 1 for wordings in helps.values()), helps


def test_no_command_declares_the_connection_options_itself() -> None:
    for name, command in people_s_commands().items():
        own = inspect.signature(inspect.unwrap(command.callback))
        assert not set(CONNECTION) & set(own.parameters), f"{name} re-declares {set(CONNECTION) & set(own.parameters)}"
        assert "target" in own.parameters, name
